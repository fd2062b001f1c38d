// Finch webhooks: verified on the raw body before anything is parsed, deduplicated by event id
// and applied in one transaction with the dedupe record (a record written before a failed apply
// would swallow Finch's retry).
import type { CoreDeps } from './deps.js';
import { InvalidRequest } from './errors.js';
import type { ConnectionChange } from './ports/webhook-inbox.js';
import { readStatus } from './connections.js';
import { isEnded } from './model.js';
import * as z from './zod.js';

const WebhookBody = z.looseObject({
  event_type: z.string().check(z.minLength(1), z.maxLength(128)),
  connection_id: z.optional(z.nullable(z.string().check(z.maxLength(128)))),
});

/** Finch's event ids are short opaque tokens (`msg_…`); the id becomes part of the dedupe record's key. */
const EVENT_ID = /^[\x21-\x7e]{1,256}$/;

/** Events that mean Finch finished reading the employer's data. */
const SYNC_EVENT = /^(job\.[a-z_]+\.completed|company\.updated|directory\.(created|updated|deleted)|individual\.(created|updated|deleted)|employment\.(created|updated|deleted)|pay_statement\.(created|updated|deleted)|payment\.(created|updated|deleted))$/;

export type WebhookOutcome = 'applied' | 'duplicate' | 'not_applied';

export async function handleWebhook(deps: CoreDeps, rawBody: string, headers: Record<string, string | undefined>): Promise<WebhookOutcome> {
  // A bad signature: the verifier throws WebhookSignatureInvalid, answered as it is.
  await deps.webhooks.verify(rawBody, headers);
  // Signed, so from Finch: still checked, a key DynamoDB refuses must be a 400, not a 500.
  const eventId = headers['finch-event-id'] ?? '';
  if (!EVENT_ID.test(eventId)) throw new InvalidRequest('The Finch-Event-Id header is invalid.', [{ path: 'headers.finch-event-id', message: 'must be 1-256 printable ASCII characters' }]);
  let body: unknown;
  try { body = JSON.parse(rawBody); } catch { throw new InvalidRequest('The webhook body is not JSON.'); }
  const parsed = WebhookBody.safeParse(body);
  if (!parsed.success) throw new InvalidRequest('The webhook body has no event_type.');
  const eventType = parsed.data.event_type;
  const connectionId = parsed.data.connection_id ?? null;
  const receivedAt = deps.clock.now().toISOString();
  const change = connectionId ? await changeFor(deps, eventType, connectionId, receivedAt) : null;
  const outcome = await deps.inbox.applyWebhookEvent(
    { event_id: eventId, event_type: eventType, connection_id: connectionId, received_at: receivedAt },
    change,
    change && {
      action: 'webhook_applied', actor: 'finch-webhook', customer_id: change.customer_id, connection_id: change.connection_id,
      at: receivedAt, details: { event_type: eventType, event_id: eventId },
    },
  );
  deps.log.info('webhook', { event_type: eventType, connection_id: connectionId, outcome });
  return outcome;
}

async function changeFor(deps: CoreDeps, eventType: string, connectionId: string, receivedAt: string): Promise<ConnectionChange | null> {
  const owner = await deps.connections.getOwner(connectionId);
  if (!owner) {
    deps.log.warn('webhook for a connection nobody here owns; acknowledged', { event_type: eventType, connection_id: connectionId });
    return null;
  }
  const base = { customer_id: owner, connection_id: connectionId };
  if (eventType === 'account.updated') {
    const stored = await deps.connections.getConnection(owner, connectionId);
    if (!stored?.token || isEnded(stored.status)) return null;
    // Deliveries can arrive out of order (Finch-Timestamp is per attempt): ask Finch for the status now.
    const accessToken = await deps.cipher.decrypt(stored.token.ciphertext, base);
    const { status, status_message, authentication_methods } = await readStatus(deps, accessToken);
    return { ...base, set: { status, status_message, authentication_methods } };
  }
  if (SYNC_EVENT.test(eventType)) return { ...base, set: { last_synced_at: receivedAt } };
  return null;
}
