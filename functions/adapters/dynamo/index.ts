// The DynamoDB adapter of the core's three stores, all on the one table (../table.ts) through one
// document client: sessions.ts (SessionStore), connections.ts (ConnectionStore), webhook-inbox.ts
// (WebhookInbox). Beside them: items.ts maps records to items, cursors.ts pages, conditions.ts
// holds the live-connection condition, errors.ts reads DynamoDB's faults and failed conditions.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BaseDeps } from '#core/deps.js';
import { DynamoConnectionStore } from './connections.js';
import { DynamoSessionStore } from './sessions.js';
import { DynamoWebhookInbox } from './webhook-inbox.js';

export { DynamoConnectionStore, DynamoSessionStore, DynamoWebhookInbox };

/** The three stores of BaseDeps on one table and one client. */
export function dynamoStores(doc: DynamoDBDocumentClient, tableName: string): Pick<BaseDeps, 'sessions' | 'connections' | 'inbox'> {
  return {
    sessions: new DynamoSessionStore(doc, tableName),
    connections: new DynamoConnectionStore(doc, tableName),
    inbox: new DynamoWebhookInbox(doc, tableName),
  };
}
