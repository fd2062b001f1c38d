// The live-connection condition: the connection item exists and is neither being nor already
// disconnected. Every write of news about a connection carries it (a refresh or Finch's reauth
// request, a reauthentication's new token, a webhook's change), so a disconnect wins over any of
// them and a disconnected connection is never revived.

const LIVE_CONNECTION = 'attribute_exists(pk) AND NOT (#status IN (:disconnecting, :disconnected))';

export interface ConditionParts {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * The condition with the update's own attribute names and values merged in, to spread into an
 * Update of a connection item. `also` is ANDed on.
 */
export function whileLive(own: { names?: Record<string, string>; values: Record<string, unknown> }, also?: string): ConditionParts {
  return {
    ConditionExpression: also === undefined ? LIVE_CONNECTION : `${LIVE_CONNECTION} AND ${also}`,
    ExpressionAttributeNames: { '#status': 'status', ...own.names },
    ExpressionAttributeValues: { ...own.values, ':disconnecting': 'disconnecting', ':disconnected': 'disconnected' },
  };
}
