// One Lambda per entry in lib/routes.ts, each with the environment functions/adapters/config.ts
// reads and only the permissions its code path calls. The matrix below is the least-privilege
// contract (read from the handlers, functions/core and the DynamoDB store):
//
//   function        table (item actions)                                 Query           KMS (purpose)                            Finch secret
//   create-session  PutItem (session + audit), GetItem (owner, adopt),     -               Encrypt+Decrypt (idempotency)            yes
//                   + Get/Put/Update/DeleteItem (Idempotency-Key records),
//                   each only on the partition keys it uses (LeadingKeys)
//   reauthenticate  GetItem (connection), PutItem (session + audit),       -               -                                        yes
//                   UpdateItem (RATE#* only: the Finch budget)
//   callback        GetItem, UpdateItem, PutItem, ConditionCheckItem       -               Encrypt (access_token)                   yes
//   connections     GetItem, UpdateItem, PutItem (audit)                   index, table    Decrypt (access_token: refresh, DELETE)  yes
//   webhook         GetItem, PutItem, UpdateItem                           -               Decrypt (access_token: introspect)       yes
//   finch-proxy     GetItem, UpdateItem (marks reauth), PutItem (its       index           Decrypt (access_token: data calls)       no
//                   audit entry, AUDIT#* keys only)
//   events          - (reads the table's stream only: audit-stream.ts)    -               -                                        no
//                   + events:PutEvents on the stack's bus, sqs:SendMessage on its DLQ (the mapping's on-failure destination)
//   enrich-company  GetItem (CUSTOMER#*), UpdateItem (CUSTOMER#*, RATE#*), -              Decrypt (access_token: Finch's           no
//                   PutItem (AUDIT#*); + sqs:Receive/DeleteMessage, GetQueueAttributes,   /introspect and /employer/company)
//                   ChangeMessageVisibility on its queue (company-enrichment.ts)
//   reconcile       GetItem (CUSTOMER#*), UpdateItem (CUSTOMER#*, RATE#*), check index     Decrypt (access_token: /introspect)      no
//                   PutItem (AUDIT#*)
//
// Every function that calls Finch takes the shared Finch budget first: a conditional UpdateItem of
// a `RATE#<bucket>` item (functions/adapters/dynamo/rate-buckets.ts). Those whose UpdateItem is
// otherwise limited by key get RATE#* added; the others' UpdateItem covers it.
//
// Audit entries are Puts inside the transaction of the change they record, so every function
// that records one holds PutItem. TransactWriteItems has no IAM action of its own: it is
// authorized per item (Put, Update, ConditionCheckItem), which is why callback holds those
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
//
// `leadingKeys` limits an action to items whose partition key matches one of its patterns, with
// `ForAllValues:StringLike` on `dynamodb:LeadingKeys` (fine-grained access control:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
// Each item of a transaction is checked on its own key. ForAllValues holds when a request has no
// partition key at all (a Scan), which is why only item actions (which always name one) get it.
import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IDEMPOTENCY_PARTITION, keys } from '#adapters/table.js';
import { FUNCTION_ENTRIES, type FunctionName, LAMBDA_ENTRIES, type LambdaName } from '../routes.js';
import type { ConnectionsTable } from './connections-table.js';
import type { FinchSecret } from './finch-secret.js';
import { ServiceFunction } from './service-function.js';
import type { KeyAction, KeyPurpose, TokenKey } from './token-key.js';

type ItemAction = 'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem' | 'dynamodb:DeleteItem' | 'dynamodb:ConditionCheckItem';

interface FunctionSpec {
  /** Construct id, also the name `sam local invoke` finds the function by. */
  id: string;
  description: string;
  timeout: Duration;
  itemActions: ItemAction[];
  /** Partition keys (StringLike patterns) an item action is limited to; an action not named here may touch any item. */
  leadingKeys?: Partial<Record<ItemAction, string[]>>;
  queriesListIndex: boolean;
  /** Query on the reconciler's queue index (RECONCILE_INDEX): the reconciler alone. */
  queriesCheckIndex?: boolean;
  /** Query on the table's own key (the audit trail partition of a connection). */
  queriesTable: boolean;
  key: Array<{ actions: KeyAction[]; purpose: KeyPurpose }>;
  readsFinchSecret: boolean;
  /** events:PutEvents on the stack's event bus, and nothing else of EventBridge. */
  putsEvents?: boolean;
  /**
   * The variables it reads (functions/adapters/config.ts), picked from the stack's; absent: the
   * HTTP functions' environment. A function outside the API gets only its own.
   */
  environment?: readonly string[];
}

/** What every function's logger reads (Powertools). */
const POWERTOOLS_VARIABLES = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE'] as const;
/**
 * What a function outside the API that calls Finch with a connection's token reads: the table, the
 * token key, Finch and the shared budget (config.ts parts store, cipher, finch, budget).
 */
const TOKEN_CALLER_VARIABLES = [
  'TABLE_NAME', 'KMS_KEY_ARN', 'FINCH_API_BASE_URL', 'FINCH_TIMEOUT_MS', 'FINCH_RATE_LIMITS', 'FINCH_BUDGET_RESERVE', 'FINCH_BUDGET_BURST',
] as const;

/** Every function of lib/routes.ts (routed or not) must be listed here: adding one forces a decision on its permissions. */
export const FUNCTION_SPECS: Record<LambdaName, FunctionSpec> = {
  'create-session': {
    id: 'CreateSession',
    description: 'POST /connect/sessions: starts Finch Connect for a customer',
    // The adopt path makes two Finch calls (8 s timeout each) before it writes the session.
    timeout: Duration.seconds(20),
    // The session and its audit entry are Puts of one transaction; the adopt path reads the owner.
    // Idempotency-Key records (Powertools' DynamoDB persistence) are got, put, updated with the
    // sealed response, and deleted when the operation fails so a retry can run.
    itemActions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    // Only the keys functions/create-session and core/sessions.ts use (layout in
    // functions/adapters/table.ts): a fault or a bug here cannot write a connection, an owner or a
    // webhook record, nor update or delete anything but Idempotency-Key records. The audit entry's
    // partition is AUDIT#<customer_id>#<connection_id or ->, a prefix of its own (no connection or
    // customer item), for any customer: admins start sessions for any customer. That entries are
    // only appended is the store's condition (attribute_not_exists), not IAM's.
    leadingKeys: {
      'dynamodb:PutItem': [keys.session('*').pk, keys.auditPartition('*', '*'), IDEMPOTENCY_PARTITION],
      'dynamodb:UpdateItem': [IDEMPOTENCY_PARTITION, keys.rateBucket('*').pk],
      'dynamodb:DeleteItem': [IDEMPOTENCY_PARTITION],
      'dynamodb:GetItem': [keys.owner('*').pk, IDEMPOTENCY_PARTITION],
    },
    queriesListIndex: false,
    queriesTable: false,
    // Idempotency records (Idempotency-Key) are encrypted with purpose "idempotency" only: this
    // function can never decrypt a token, nor make a ciphertext that passes for one.
    key: [{ actions: ['kms:Encrypt', 'kms:Decrypt'], purpose: 'idempotency' }],
    readsFinchSecret: true,
  },
  reauthenticate: {
    id: 'Reauthenticate',
    description: 'POST /connect/sessions/reauthenticate: a Connect session renewing a connection\'s token',
    timeout: Duration.seconds(10),
    itemActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    // It writes no connection: its only update is the Finch budget's.
    leadingKeys: { 'dynamodb:UpdateItem': [keys.rateBucket('*').pk] },
    queriesListIndex: false,
    queriesTable: false,
    key: [],
    readsFinchSecret: true,
  },
  callback: {
    id: 'Callback',
    description: 'GET|POST /connect/callback, GET /connect/result: exchanges the code and stores the connection',
    // API Gateway cuts at 30 s; the exchange, an introspect and the store retries fit in 28.
    timeout: Duration.seconds(28),
    itemActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
    queriesListIndex: false,
    queriesTable: false,
    // Encrypts the token it was just given; it never needs one back.
    key: [{ actions: ['kms:Encrypt'], purpose: 'access_token' }],
    readsFinchSecret: true,
  },
  connections: {
    id: 'Connections',
    description: 'GET|DELETE /connections[/{connection_id}]: token-free reads, refresh from Finch, disconnect',
    // A refresh calls Finch's /introspect and /employer/company (8 s timeout each).
    timeout: Duration.seconds(20),
    // Refresh counters, status, disconnect and tombstone are conditional updates of the connection
    // item; refresh and disconnect record an audit entry (Put) in the same transaction.
    itemActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
    queriesListIndex: true,
    // GET /connections/{connection_id}/audit reads the connection's audit partition.
    queriesTable: true,
    // Refresh (/introspect) and DELETE (/disconnect) call Finch with the stored token.
    key: [{ actions: ['kms:Decrypt'], purpose: 'access_token' }],
    readsFinchSecret: true,
  },
  webhook: {
    id: 'Webhook',
    description: 'POST /webhooks/finch: signed Finch webhooks, deduplicated and applied in one transaction',
    // account.updated asks Finch's /introspect (8 s timeout) before the transaction.
    timeout: Duration.seconds(15),
    // Owner and connection reads; the dedupe record (Put) and the connection update in one transaction.
    itemActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    queriesListIndex: false,
    queriesTable: false,
    key: [{ actions: ['kms:Decrypt'], purpose: 'access_token' }],
    // The webhook secret (signature) and the client credentials (introspect) are in the one secret.
    readsFinchSecret: true,
  },
  'finch-proxy': {
    id: 'FinchProxy',
    description: 'GET|POST|DELETE /finch/{path+}, GET /directory: allowlisted Finch data calls with the stored token',
    // GET /directory reads every connected connection of the customer (8 s timeout per call).
    timeout: Duration.seconds(20),
    // Reads the connection; marks it `reauth` when Finch answers 401 reauthenticate_user, with a
    // reauth_required audit entry (a Put) in the same transaction. It writes no other item.
    itemActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
    leadingKeys: { 'dynamodb:PutItem': [keys.auditPartition('*', '*')] },
    queriesListIndex: true,
    queriesTable: false,
    key: [{ actions: ['kms:Decrypt'], purpose: 'access_token' }],
    // Data calls need only the connection's token; this function never holds the client secret.
    readsFinchSecret: false,
  },
  events: {
    id: 'Events',
    description: 'The table stream\'s audit entries → connection events on the stack\'s EventBridge bus',
    // One PutEvents call per batch of at most 10 records (audit-stream.ts), with the SDK's retries.
    timeout: Duration.seconds(30),
    // The audit entry comes in the stream record (NEW_IMAGE): it reads and writes no item. Its
    // stream permissions are the mapping's (audit-stream.ts), on this table's stream only.
    itemActions: [],
    queriesListIndex: false,
    queriesTable: false,
    key: [],
    readsFinchSecret: false,
    putsEvents: true,
    environment: ['EVENT_BUS_NAME', ...POWERTOOLS_VARIABLES],
  },
  'enrich-company': {
    id: 'EnrichCompany',
    description: 'The enrichment queue (connected, reauthenticated, org data synced) → the company\'s name and id from Finch on the connection',
    // Finch's /introspect and /employer/company (8 s timeout each), then one transaction.
    timeout: Duration.seconds(20),
    // Reads the connection; writes its company fields (UpdateItem) and the company_updated audit
    // entry (PutItem) in one transaction (functions/core/enrichment.ts); takes from the shared
    // Finch budget before each Finch call (a conditional update of its RATE# bucket,
    // functions/adapters/dynamo/rate-buckets.ts). Never an owner, a session, a webhook record or an
    // idempotency record, and never a Put of a connection.
    itemActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
    leadingKeys: {
      'dynamodb:GetItem': [keys.connection('*', '*').pk],
      'dynamodb:UpdateItem': [keys.connection('*', '*').pk, keys.rateBucket('*').pk],
      'dynamodb:PutItem': [keys.auditPartition('*', '*')],
    },
    queriesListIndex: false,
    queriesTable: false,
    // Finch's /introspect and /employer/company take the connection's own token.
    key: [{ actions: ['kms:Decrypt'], purpose: 'access_token' }],
    // Both calls are bearer calls with the connection's token: no client credentials.
    readsFinchSecret: false,
    // And ENRICHMENT_QUEUE_URL, which company-enrichment.ts adds with the queue it makes.
    environment: [...TOKEN_CALLER_VARIABLES, ...POWERTOOLS_VARIABLES],
  },
  reconcile: {
    id: 'Reconcile',
    description: 'Scheduled: asks Finch\'s /introspect about the live connections, oldest-checked first, and records drift',
    // A run stops starting checks when one more (FINCH_TIMEOUT_MS and its writes) would not fit,
    // well inside the shortest schedule (1 minute), so two runs never overlap.
    timeout: Duration.seconds(55),
    // Queries its queue (the sparse check index, keys only); reads each connection; moves its turn
    // (UpdateItem) or records drift (UpdateItem + the audit entry's PutItem in one transaction,
    // functions/core/reconcile.ts); takes the Finch budget (RATE#*). No owner, session, webhook or
    // idempotency record, never a Put of a connection, never a Scan.
    itemActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
    leadingKeys: {
      'dynamodb:GetItem': [keys.connection('*', '*').pk],
      'dynamodb:UpdateItem': [keys.connection('*', '*').pk, keys.rateBucket('*').pk],
      'dynamodb:PutItem': [keys.auditPartition('*', '*')],
    },
    queriesListIndex: false,
    queriesCheckIndex: true,
    queriesTable: false,
    // /introspect takes the connection's own token.
    key: [{ actions: ['kms:Decrypt'], purpose: 'access_token' }],
    readsFinchSecret: false,
    environment: [...TOKEN_CALLER_VARIABLES, 'RECONCILE_INTERVAL_MINUTES', 'RECONCILE_MAX_CONNECTIONS', ...POWERTOOLS_VARIABLES],
  },
};

/** One statement for the actions on any item, and one per set of partition-key patterns. */
function itemStatements(name: LambdaName, spec: FunctionSpec, tableArn: string): PolicyStatement[] {
  const limited = Object.keys(spec.leadingKeys ?? {}) as ItemAction[];
  const strays = limited.filter((action) => !spec.itemActions.includes(action));
  if (strays.length > 0) throw new Error(`FUNCTION_SPECS["${name}"].leadingKeys names ${strays.join(', ')}, which its itemActions do not grant.`);
  const anyItem = spec.itemActions.filter((action) => !limited.includes(action));
  const byPatterns = new Map<string, ItemAction[]>();
  for (const action of limited) {
    const patterns = JSON.stringify([...spec.leadingKeys![action]!].sort());
    byPatterns.set(patterns, [...(byPatterns.get(patterns) ?? []), action]);
  }
  return [
    ...(anyItem.length > 0 ? [new PolicyStatement({ actions: anyItem, resources: [tableArn] })] : []),
    ...[...byPatterns].map(([patterns, actions]) => new PolicyStatement({
      actions,
      resources: [tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': JSON.parse(patterns) as string[] } },
    })),
  ];
}

export interface ServiceFunctionsProps {
  table: ConnectionsTable;
  key: TokenKey;
  secret: FinchSecret;
  /** The bus the `putsEvents` functions put on. */
  eventBus: IEventBus;
  /** Environment every HTTP function reads (functions/adapters/config.ts). */
  environment: Record<string, string>;
  /** Variables only the functions outside the API may name in their `environment` (EVENT_BUS_NAME, RECONCILE_*). */
  eventEnvironment: Record<string, string>;
  /** A function's dead-letter queue for its asynchronous invocations (Lambda's DeadLetterConfig). */
  deadLetterQueues?: Partial<Record<LambdaName, IQueue>>;
  logRetention: RetentionDays;
  dev: boolean;
}

export class ServiceFunctions extends Construct {
  readonly byName: Record<LambdaName, ServiceFunction>;

  constructor(scope: Construct, id: string, props: ServiceFunctionsProps) {
    super(scope, id);
    // lib/routes.ts decides which functions exist; each must have its permissions decided here.
    const entries = Object.entries(LAMBDA_ENTRIES) as Array<[LambdaName, string]>;
    this.byName = Object.fromEntries(entries.map(([name, entry]) => {
      const spec: FunctionSpec | undefined = FUNCTION_SPECS[name];
      if (!spec) throw new Error(`lib/routes.ts names function "${name}", which FUNCTION_SPECS in lib/constructs/functions.ts does not define: add it with its permissions.`);
      const service = new ServiceFunction(this, spec.id, {
        entry,
        description: spec.description,
        timeout: spec.timeout,
        environment: spec.environment ? pick(name, { ...props.environment, ...props.eventEnvironment }, spec.environment) : props.environment,
        deadLetterQueue: props.deadLetterQueues?.[name],
        logRetention: props.logRetention,
        dev: props.dev,
      });
      for (const statement of itemStatements(name, spec, props.table.table.tableArn)) service.role.addToPrincipalPolicy(statement);
      const queried = [
        ...(spec.queriesTable ? [props.table.table.tableArn] : []),
        ...(spec.queriesListIndex ? [props.table.listIndexArn] : []),
        ...(spec.queriesCheckIndex ? [props.table.checkIndexArn] : []),
      ];
      if (queried.length > 0) service.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: queried }));
      for (const use of spec.key) props.key.grantFor(service.role, use.actions, use.purpose);
      if (spec.readsFinchSecret) props.secret.grantRead(service.role);
      if (spec.putsEvents) props.eventBus.grantPutEventsTo(service.role);
      return [name, service];
    })) as Record<LambdaName, ServiceFunction>;
  }

  /** Each route-table function name to its Lambda. */
  handlers(): Record<FunctionName, IFunction> {
    const names = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
    return Object.fromEntries(names.map((name): [FunctionName, IFunction] => [name, this.byName[name].fn])) as Record<FunctionName, IFunction>;
  }
}

function pick(name: LambdaName, environment: Record<string, string>, variables: readonly string[]): Record<string, string> {
  const missing = variables.filter((variable) => !(variable in environment));
  if (missing.length > 0) throw new Error(`FUNCTION_SPECS["${name}"].environment names ${missing.join(', ')}, which the stack does not set.`);
  return Object.fromEntries(variables.map((variable) => [variable, environment[variable]]));
}
