// The DynamoDB table, built from the one shared definition (functions/adapters/table.ts) so the
// deployed key schema cannot drift from what the store, the local stack and the tests use.
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LIST_INDEX, RECONCILE_INDEX, TABLE_KEYS, TABLE_STREAM, TTL_ATTRIBUTE } from '#adapters/table.js';

export interface ConnectionsTableProps {
  /** Dev stacks drop deletion protection and are deleted with the stack. */
  dev: boolean;
}

export class ConnectionsTable extends Construct {
  readonly table: Table;
  /** The list index's ARN, for grants that Query it and nothing else. */
  readonly listIndexArn: string;
  /** The reconciler's queue index's ARN (its Query and nothing else). */
  readonly checkIndexArn: string;

  constructor(scope: Construct, id: string, props: ConnectionsTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Sessions (and later webhook events) expire; TTL deletion is lazy, the code never relies on it.
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // Tokens are already KMS ciphertext (token-key.ts); at rest the table uses the AWS-managed
      // key, so no function needs a KMS grant just to read the table.
      encryption: TableEncryption.AWS_MANAGED,
      // The audit entries are the events' outbox: the events function reads them off this stream
      // (lib/constructs/audit-stream.ts), in the view the local stack's table has too.
      stream: StreamViewType[TABLE_STREAM.StreamViewType],
      deletionProtection: !props.dev,
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LIST_INDEX.name,
      partitionKey: { name: LIST_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: LIST_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.listIndexArn = `${this.table.tableArn}/index/${LIST_INDEX.name}`;
    // Sparse and KEYS_ONLY (functions/adapters/table.ts): live connections, oldest-checked first.
    this.table.addGlobalSecondaryIndex({
      indexName: RECONCILE_INDEX.name,
      partitionKey: { name: RECONCILE_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: RECONCILE_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    this.checkIndexArn = `${this.table.tableArn}/index/${RECONCILE_INDEX.name}`;
  }
}
