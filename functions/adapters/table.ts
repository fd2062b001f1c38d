// The one table definition: the CDK stack, the local stack and the tests all create the table from
// this, so their key schema cannot drift. Single-table layout:
//   connection  pk CUSTOMER#<customer_id>   sk CONNECTION#<connection_id>
//               gsi1pk CUSTOMER#<customer_id> gsi1sk <connected_at>#<connection_id>  (newest-first list)
//               check_pk LIVE  checked_at <ISO time>  (the reconciler's queue, oldest-checked first: live connections only)
//   ownership   pk CONNECTION#<connection_id> sk OWNER          (one owner per connection_id)
//   session     pk SESSION#<sha256(state)>    sk SESSION        (ttl: lazy clean-up only)
//   webhook     pk WEBHOOK#<finch-event-id>   sk EVENT          (dedupe record, ttl)
//               pk WEBHOOK#<finch-event-id>   sk FIRST_SEEN     (an event about a connection nobody owns yet: its first delivery, ttl)
//   audit       pk AUDIT#<customer_id>#<connection_id or ->  sk <at>#<random>  (append-only)
//   idempotency pk IDEMPOTENCY                sk <Powertools' hash of the caller and key>  (ttl)
//   rate bucket pk RATE#<product or ip>       sk BUCKET         (the shared Finch budget: tat, taken, blocked_until)
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
export const LIST_INDEX = { name: 'by_customer', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' } as const;
/**
 * The reconciler's queue (functions/core/reconcile.ts): a sparse index over the connections that have
 * not ended, sorted by when the reconciler last took their turn, so an ascending Query is
 * oldest-checked first and no function ever Scans. Only live connection items carry `check_pk`
 * (written with the item, removed when a disconnect begins or finishes, put back when one is
 * aborted), so ended connections are not in it. KEYS_ONLY: the reconciler reads each connection
 * itself (consistently, with its token), and a write that changes neither key (a status, a
 * webhook's news) costs the index nothing. One partition: the reconciler's own writes are bounded
 * by Finch's per-IP limit (1,000 requests in 5 minutes), far below a partition's 1,000 writes a second.
 */
export const RECONCILE_INDEX = { name: 'by_check', partitionKey: 'check_pk', sortKey: 'checked_at' } as const;
/** The one `check_pk` value of a live connection. */
export const CHECK_PARTITION = 'LIVE';
export const TTL_ATTRIBUTE = 'ttl';
/** The one partition of Idempotency-Key records (functions/adapters/idempotency.ts). */
export const IDEMPOTENCY_PARTITION = 'IDEMPOTENCY';

export const keys = {
  connection: (customerId: string, connectionId: string) => ({ pk: `CUSTOMER#${customerId}`, sk: `CONNECTION#${connectionId}` }),
  owner: (connectionId: string) => ({ pk: `CONNECTION#${connectionId}`, sk: 'OWNER' }),
  session: (stateHash: string) => ({ pk: `SESSION#${stateHash}`, sk: 'SESSION' }),
  webhookEvent: (eventId: string) => ({ pk: `WEBHOOK#${eventId}`, sk: 'EVENT' }),
  webhookFirstSeen: (eventId: string) => ({ pk: `WEBHOOK#${eventId}`, sk: 'FIRST_SEEN' }),
  rateBucket: (bucket: string) => ({ pk: `RATE#${bucket}`, sk: 'BUCKET' }),
  auditPartition: (customerId: string, connectionId: string | null) => `AUDIT#${customerId}#${connectionId ?? '-'}`,
  listPartition: (customerId: string) => `CUSTOMER#${customerId}`,
  listSort: (connectedAt: string, connectionId: string) => `${connectedAt}#${connectionId}`,
};

/**
 * The table's stream carries each new item as written (`NEW_IMAGE`): the events function needs the
 * audit entry, never what an update replaced. The CDK construct maps this too.
 */
export const TABLE_STREAM = { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } as const;

/**
 * The events function's event-source filter: new audit entries only (an audit item is never
 * updated, so INSERT is each entry once). The CDK mapping and the local runner
 * (local/events/stream-runner.ts) both use this one, in Lambda's filter-pattern syntax over the
 * stream record (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html).
 */
export const AUDIT_STREAM_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { [TABLE_KEYS.partitionKey]: { S: [{ prefix: 'AUDIT#' }] } } },
} as const;

/** CreateTable input for DynamoDB Local and tests (the CDK stack maps the same constants). */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' as const },
      { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' as const },
      { AttributeName: LIST_INDEX.partitionKey, AttributeType: 'S' as const },
      { AttributeName: LIST_INDEX.sortKey, AttributeType: 'S' as const },
      { AttributeName: RECONCILE_INDEX.partitionKey, AttributeType: 'S' as const },
      { AttributeName: RECONCILE_INDEX.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [{
      IndexName: LIST_INDEX.name,
      KeySchema: [
        { AttributeName: LIST_INDEX.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: LIST_INDEX.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    }, {
      IndexName: RECONCILE_INDEX.name,
      KeySchema: [
        { AttributeName: RECONCILE_INDEX.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: RECONCILE_INDEX.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    }],
    StreamSpecification: { ...TABLE_STREAM },
  };
}
