// Signed webhooks, with Finch's scheme (Svix-style): headers finch-event-id, finch-timestamp
// (unix seconds) and finch-signature = "v1,<base64 HMAC-SHA256>" over `${id}.${timestamp}.${body}`,
// keyed with the base64-DECODED webhook secret. The SDK's webhooks.verifySignature checks exactly this.
import { createHmac } from 'node:crypto';
import { FinchApiError, invalidRequest, notFound } from './errors.js';
import { newEventId } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { expectBody, isObject, optionalInteger, optionalRedirectUri, optionalString, requiredString } from './validate.js';

const DELIVERY_TIMEOUT_MS = 10_000;

/** Finch's secrets are base64; like the SDK, refuse one that does not round-trip. */
export function decodeWebhookSecret(secret: string): Buffer {
  const key = Buffer.from(secret, 'base64');
  if (key.length === 0 || key.toString('base64') !== secret) throw new Error('The webhook secret must be base64, as Finch issues it.');
  return key;
}

export function signWebhook(secret: string, eventId: string, timestampSeconds: number, body: string): string {
  const digest = createHmac('sha256', decodeWebhookSecret(secret)).update(`${eventId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${digest}`;
}

/**
 * `POST /_emulator/webhooks {type, connection_id, data?, event_id?, timestamp?, url?}`: sends one
 * signed event to the configured webhook URL and answers the receiver's status. `event_id` and
 * `timestamp` let a test replay an event or send a stale one.
 */
export async function sendWebhook(input: RequestInput, deps: EmulatorDeps): Promise<Reply> {
  const fields = expectBody(input.body, ['type', 'connection_id', 'data', 'event_id', 'timestamp', 'url']);
  const type = requiredString(fields, 'type');
  if (!/^[a-z_]+\.[a-z_]+$/.test(type)) throw invalidRequest('type must be a Finch event type such as account.updated.');
  const connection_id = requiredString(fields, 'connection_id');
  const url = optionalRedirectUri(fields, 'url') ?? deps.webhookUrl;
  const eventId = optionalString(fields, 'event_id') ?? newEventId();
  const timestamp = optionalInteger(fields, 'timestamp', 0, Number.MAX_SAFE_INTEGER) ?? Math.floor(deps.now() / 1000);
  if (fields.data !== undefined && fields.data !== null && !isObject(fields.data)) throw invalidRequest('data must be an object.');
  if (!url) throw new FinchApiError(409, 'conflict_error', 'No webhook URL: start the emulator with webhookUrl or pass url.');
  if (!deps.webhookSecret) throw new FinchApiError(409, 'conflict_error', 'No webhook secret: start the emulator with webhookSecret.');

  // Disconnected connections still get events: receivers must not revive them.
  const connection = deps.store.connections.get(connection_id);
  if (!connection) throw notFound(`Connection ${connection_id} not found.`, 'connection_not_found');

  const data = (fields.data as Record<string, unknown> | undefined)
    ?? (type === 'account.updated' ? { status: connection.status, authentication_method: { type: connection.authentication_type } } : {});
  const body = JSON.stringify({
    account_id: connection.account_id,
    company_id: connection.company_id,
    connection_id: connection.connection_id,
    entity_id: connection.company_id,
    event_type: type,
    data,
  });
  const headers = {
    'content-type': 'application/json',
    'finch-event-id': eventId,
    'finch-timestamp': String(timestamp),
    'finch-signature': signWebhook(deps.webhookSecret, eventId, timestamp, body),
  };

  const record = { event_id: eventId, event_type: type, connection_id, status: null as number | null };
  deps.store.webhooks.push(record);
  try {
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
    await response.arrayBuffer();
    record.status = response.status;
    return json(200, { delivered: true, status: response.status, event_id: eventId });
  } catch (error) {
    return json(502, { delivered: false, event_id: eventId, error: error instanceof Error ? error.message : String(error) });
  }
}
