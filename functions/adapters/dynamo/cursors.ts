// Page cursors: a query's LastEvaluatedKey as base64url JSON, accepted back only with the key's
// exact attributes and only for the partition it came from, so another customer's (or another
// connection's) cursor is refused, not followed.
import { InvalidRequest } from '#core/errors.js';
import { LIST_INDEX, TABLE_KEYS } from '../table.js';

type Key = Record<string, string>;
/** Exactly these attributes, each a string its test accepts. */
type KeyShape = Record<string, (value: string) => boolean>;

export interface CursorCodec {
  encode(lastKey: Record<string, unknown>): string;
  /** The ExclusiveStartKey to resume from; InvalidRequest for anything this codec did not encode. */
  decode(cursor: string): Key;
}

const any = () => true;

/** GET /connections: a key of the by_customer index, in the customer's partition of it. */
export const connectionsCursor = (partition: string) => cursorCodec({
  [LIST_INDEX.partitionKey]: (value) => value === partition,
  [LIST_INDEX.sortKey]: any,
  [TABLE_KEYS.partitionKey]: (value) => value === partition,
  [TABLE_KEYS.sortKey]: (value) => value.startsWith('CONNECTION#'),
});

/** GET /connections/{connection_id}/audit: a key of the table in the connection's audit partition. */
export const auditCursor = (partition: string) => cursorCodec({
  [TABLE_KEYS.partitionKey]: (value) => value === partition,
  [TABLE_KEYS.sortKey]: any,
});

function cursorCodec(shape: KeyShape): CursorCodec {
  return {
    encode: (lastKey) => Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url'),
    decode(cursor) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        throw invalidCursor();
      }
      if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalidCursor();
      const entries = Object.entries(decoded);
      const valid = entries.length === Object.keys(shape).length
        && entries.every(([name, value]) => Object.hasOwn(shape, name) && typeof value === 'string' && shape[name](value));
      if (!valid) throw invalidCursor();
      return decoded as Key;
    },
  };
}

function invalidCursor(): InvalidRequest {
  return new InvalidRequest('The cursor is not valid for this list.', [{ path: 'cursor', message: 'Use the next_cursor of a previous page.' }]);
}
