// The invariants of docs/ARCHITECTURE.md, checked on what a DynamoDB table actually holds: one owner per connection_id,
// one item per connection, no ownership item without its connection or the reverse, tokens only as
// ciphertext (and none left on a tombstone); and over time: versions that only grow, no status
// that comes back from `disconnected`. Each check returns its violations as sentences, so a failing
// test says what is wrong.
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TokenCipher } from '#core/ports/token-cipher.js';
import type { EmulatorState } from '#local/finch-emulator/index.js';

export type Item = Record<string, any>;

export async function scanAll(doc: DynamoDBDocumentClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export const isOwnerItem = (item: Item) => String(item.pk).startsWith('CONNECTION#') && item.sk === 'OWNER';
export const isConnectionItem = (item: Item) => String(item.pk).startsWith('CUSTOMER#') && String(item.sk).startsWith('CONNECTION#');
export const isSessionItem = (item: Item) => String(item.pk).startsWith('SESSION#');

/** Invariant 1 and 5 on a snapshot of the table. */
export function tableViolations(items: Item[]): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  for (const item of items.filter(isOwnerItem)) {
    const id = String(item.pk).slice('CONNECTION#'.length);
    if (item.connection_id !== id) problems.push(`ownership item ${item.pk} names connection ${item.connection_id}`);
    owners.set(id, item.customer_id);
  }
  const byConnection = new Map<string, Item[]>();
  for (const item of items.filter(isConnectionItem)) {
    const id = String(item.sk).slice('CONNECTION#'.length);
    if (item.connection_id !== id) problems.push(`connection item ${item.pk}/${item.sk} names connection ${item.connection_id}`);
    if (item.pk !== `CUSTOMER#${item.customer_id}`) problems.push(`connection item ${item.pk}/${item.sk} names customer ${item.customer_id}`);
    byConnection.set(id, [...(byConnection.get(id) ?? []), item]);
    if (!(Number.isInteger(item.token_version) && item.token_version >= 1)) problems.push(`connection ${id} has token_version ${item.token_version}`);
    if (item.status === 'disconnected' && item.token_ciphertext !== undefined) problems.push(`tombstone of ${id} still holds a ciphertext`);
    if (item.status !== 'disconnected' && typeof item.token_ciphertext !== 'string') problems.push(`live connection ${id} has no ciphertext`);
    if (item.access_token !== undefined || item.token !== undefined) problems.push(`connection ${id} holds a plaintext token field`);
  }
  for (const [id, connections] of byConnection) {
    if (connections.length > 1) problems.push(`connection ${id} has ${connections.length} items (${connections.map((c) => c.customer_id).join(', ')})`);
    const owner = owners.get(id);
    if (owner === undefined) problems.push(`connection ${id} has an item but no ownership item (partial write)`);
    else if (connections.some((c) => c.customer_id !== owner)) problems.push(`connection ${id} is owned by ${owner} but stored for ${connections.map((c) => c.customer_id).join(', ')}`);
  }
  for (const [id, owner] of owners) {
    if (!byConnection.has(id)) problems.push(`connection ${id} has an ownership item (${owner}) but no connection item (partial write)`);
  }
  return problems;
}

export interface Sample { status: string | null; token_version: number | null; ciphertext: string | null }

/** Over time, one connection: versions never go down and grow with every new ciphertext; `disconnected` is final. */
export function historyViolations(samples: Sample[]): string[] {
  const problems: string[] = [];
  let previous: Sample | undefined;
  let disconnectedAt = -1;
  samples.forEach((sample, index) => {
    if (sample.status === null) return;
    if (previous) {
      if ((sample.token_version ?? 0) < (previous.token_version ?? 0)) {
        problems.push(`sample ${index}: token_version went from ${previous.token_version} to ${sample.token_version}`);
      }
      if (sample.ciphertext !== null && previous.ciphertext !== null && sample.ciphertext !== previous.ciphertext
        && sample.token_version === previous.token_version) {
        problems.push(`sample ${index}: the token changed without a new token_version (${sample.token_version})`);
      }
    }
    if (disconnectedAt >= 0 && sample.status !== 'disconnected') {
      problems.push(`sample ${index}: status ${sample.status} after disconnected (sample ${disconnectedAt})`);
    }
    if (sample.status === 'disconnected' && disconnectedAt < 0) disconnectedAt = index;
    previous = sample;
  });
  return problems;
}

/**
 * How Finch's newest token of a connection is held by us: stored on its connection, stashed on a
 * claimed session (a repeated callback finishes the store), or not at all (lost, unless the adopt
 * path recovers the connection). `none-issued`: the employer authorized but no code was exchanged.
 */
export type TokenFate = 'stored' | 'stashed' | 'lost' | 'none-issued';

/**
 * For each live connection the emulator has for the given Finch customer ids: is its newest token
 * in our table, decrypting (with its item's context) to exactly that token? Returns the fate by
 * connection id.
 */
export async function tokenFates(
  state: EmulatorState, items: Item[], cipher: TokenCipher, finchCustomerIds: (id: string) => boolean,
): Promise<Map<string, TokenFate>> {
  const fates = new Map<string, TokenFate>();
  const tryDecrypt = async (ciphertext: unknown, context: { customer_id: string; connection_id: string }) => {
    if (typeof ciphertext !== 'string') return null;
    try { return await cipher.decrypt(ciphertext, context); } catch { return null; }
  };
  for (const connection of state.connections) {
    if (!finchCustomerIds(connection.customer_id) || connection.disconnected) continue;
    const latest = connection.tokens.at(-1);
    if (latest === undefined) {
      fates.set(connection.connection_id, 'none-issued');
      continue;
    }
    let fate: TokenFate = 'lost';
    for (const item of items.filter(isConnectionItem).filter((i) => i.connection_id === connection.connection_id)) {
      if (await tryDecrypt(item.token_ciphertext, { customer_id: item.customer_id, connection_id: item.connection_id }) === latest) fate = 'stored';
    }
    if (fate === 'lost') {
      for (const session of items.filter(isSessionItem).filter((s) => s.stash?.connection_id === connection.connection_id)) {
        if (await tryDecrypt(session.stash.token?.ciphertext, { customer_id: session.customer_id, connection_id: connection.connection_id }) === latest) fate = 'stashed';
      }
    }
    fates.set(connection.connection_id, fate);
  }
  return fates;
}

