// Re-encrypts every stored access token under the newest local key (LOCAL_TOKEN_KEYS lists several
// by id; new writes already use the newest). A paged scan of the table finds the connection items'
// `token_ciphertext` and the stashes on claimed sessions; each is decrypted with its own item's
// context, encrypted again, and written back on condition that the ciphertext is still the one read,
// so a concurrent reauthentication or disconnect is never overwritten (such an item is counted as
// changed; a later run finds it current). Idempotent: a second run rotates nothing.
//
// KMS needs none of this: KMS rotates the key material itself and each ciphertext names its key.
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isTransient } from './aws-errors.js';
import { isConditionFailure } from './dynamo/errors.js';
import { LocalAesCipher, accessTokenContext } from './token-cipher.js';

type Item = Record<string, any>;

export interface RotationCounts {
  /** Items read that hold a token ciphertext (connections and stashes). */
  scanned: number;
  /** Re-encrypted under the newest key. */
  rotated: number;
  /** Already under the newest key. */
  current: number;
  /** Left as they were: changed while we worked, or not readable with these keys (see `skippedBecause`). */
  skipped: number;
  skippedBecause: { changed: number; undecryptable: number };
  /**
   * Idempotency records still sealed under an older key. They cannot be re-encrypted here (their
   * context names a customer the record does not hold in clear) and expire within the hour: keep
   * the old key that long before removing it from LOCAL_TOKEN_KEYS.
   */
  idempotencyUnderOldKeys: number;
}

export interface RotationOptions {
  /** Items per scan page (default 100). */
  pageSize?: number;
  /** Count what would be rotated, write nothing. */
  dryRun?: boolean;
  /** One line per skipped item, with its key and why: never a ciphertext or a token. */
  onSkip?: (key: { pk: string; sk: string }, reason: 'changed' | 'undecryptable') => void;
}

/** A place a token ciphertext is stored: a connection's own, or the stash on a claimed session. */
interface Slot {
  key: { pk: string; sk: string };
  ciphertext: string;
  context: { customer_id: string; connection_id: string };
  /** Attribute path of the ciphertext, with its names. */
  path: string;
  names: Record<string, string>;
}

export async function rotateTokenKeys(
  doc: DynamoDBDocumentClient, tableName: string, cipher: LocalAesCipher, options: RotationOptions = {},
): Promise<RotationCounts> {
  const counts: RotationCounts = { scanned: 0, rotated: 0, current: 0, skipped: 0, skippedBecause: { changed: 0, undecryptable: 0 }, idempotencyUnderOldKeys: 0 };
  const skip = (slot: Slot, reason: 'changed' | 'undecryptable') => {
    counts.skipped++;
    counts.skippedBecause[reason]++;
    options.onSkip?.(slot.key, reason);
  };
  let start: Record<string, unknown> | undefined;
  do {
    const page = await withRetries(() => doc.send(new ScanCommand({
      TableName: tableName,
      Limit: options.pageSize ?? 100,
      ExclusiveStartKey: start,
      // Consistent: an item written just before the scan is read as it is now.
      ConsistentRead: true,
      FilterExpression: 'attribute_exists(token_ciphertext) OR attribute_exists(stash) OR pk = :idempotency',
      ProjectionExpression: 'pk, sk, customer_id, connection_id, token_ciphertext, stash, #data',
      ExpressionAttributeNames: { '#data': 'data' },
      ExpressionAttributeValues: { ':idempotency': 'IDEMPOTENCY' },
    })));
    for (const item of page.Items ?? []) {
      if (item.pk === 'IDEMPOTENCY') {
        if (sealedUnderOldKey(item.data, cipher.currentKeyId)) counts.idempotencyUnderOldKeys++;
        continue;
      }
      const slot = slotOf(item);
      if (!slot) continue;
      counts.scanned++;
      if (LocalAesCipher.keyIdOf(slot.ciphertext) === cipher.currentKeyId) {
        counts.current++;
        continue;
      }
      let token: string;
      try {
        token = await cipher.decrypt(slot.ciphertext, accessTokenContext(slot.context));
      } catch {
        // An unknown key id, a KMS ciphertext, or one moved from another item: left for a human.
        skip(slot, 'undecryptable');
        continue;
      }
      const fresh = await cipher.encrypt(token, accessTokenContext(slot.context));
      if (options.dryRun) {
        counts.rotated++;
        continue;
      }
      try {
        await withRetries(() => doc.send(new UpdateCommand({
          TableName: tableName,
          Key: slot.key,
          UpdateExpression: `SET ${slot.path} = :fresh`,
          // Only the ciphertext we read is replaced: a reauthentication written meanwhile stays.
          ConditionExpression: `${slot.path} = :read`,
          ExpressionAttributeNames: slot.names,
          ExpressionAttributeValues: { ':fresh': fresh, ':read': slot.ciphertext },
        })));
        counts.rotated++;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        skip(slot, 'changed');
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return counts;
}

function slotOf(item: Item): Slot | null {
  const key = { pk: String(item.pk), sk: String(item.sk) };
  if (key.pk.startsWith('CUSTOMER#') && key.sk.startsWith('CONNECTION#') && typeof item.token_ciphertext === 'string') {
    return {
      key, ciphertext: item.token_ciphertext, context: { customer_id: item.customer_id, connection_id: item.connection_id },
      path: '#ciphertext', names: { '#ciphertext': 'token_ciphertext' },
    };
  }
  const stashed = item.stash?.token?.ciphertext;
  if (key.pk.startsWith('SESSION#') && typeof stashed === 'string') {
    return {
      key, ciphertext: stashed, context: { customer_id: item.customer_id, connection_id: item.stash.connection_id },
      path: '#stash.#token.#ciphertext', names: { '#stash': 'stash', '#token': 'token', '#ciphertext': 'ciphertext' },
    };
  }
  return null;
}

/** Powertools keeps the response (`{sealed: "aes:<key id>:…"}`) as a map, or as a JSON string. */
function sealedUnderOldKey(data: unknown, currentKeyId: string): boolean {
  const text = typeof data === 'string' ? data : JSON.stringify(data ?? null);
  const keyIds = [...text.matchAll(/aes:([A-Za-z0-9_-]+):/g)].map((match) => match[1]);
  return keyIds.some((id) => id !== currentKeyId);
}

/** Throttling and other transient faults are retried a few times; a rotation run is not in a hurry. */
async function withRetries<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransient(error) || attempt >= 6) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}
