// Finch webhooks: verified on the raw body before anything is parsed, deduplicated by event id
// and applied in one transaction with the dedupe record and an audit entry (a record written
// before a failed apply would swallow Finch's retry). What each event type does is the table
// below; Finch's "Webhooks" page lists the types and the SDK's WebhookEvent union holds them.
import type { CoreDeps } from './deps.js';
import { InvalidRequest, WebhookDeferred, WebhookSignatureInvalid } from './errors.js';
import type { AuditDetails, AuditEntry, AuditSubject } from './ports/audit.js';
import { subjectOf } from './audit-subject.js';
import type { ApplyOutcome, ConnectionChange, WebhookEventRecord } from './ports/webhook-inbox.js';
import { TOKEN_REFUSED, introspectStatus } from './connections.js';
import type { InitialSync } from './model.js';
import * as z from './zod.js';

const WebhookBody = z.looseObject({
  event_type: z.string().check(z.minLength(1), z.maxLength(128)),
  connection_id: z.optional(z.nullable(z.string().check(z.maxLength(128)))),
  // Only account.updated's status is read, and only to know whether Finch says "disconnected".
  data: z.optional(z.nullable(z.looseObject({ status: z.optional(z.unknown()) }))),
});

/** Finch's event ids are short opaque tokens (`msg_…`); the id becomes part of the dedupe record's key. */
const EVENT_ID = /^[\x21-\x7e]{1,256}$/;

/**
 * What an event does to the connection it names:
 * - `status`: Finch's status now, from `/introspect` (the body and the delivery order are not
 *   trusted); a "disconnected" event whose token Finch refuses finishes the connection as disconnected.
 * - `synced`: Finch read the employer's data: `last_synced_at`.
 * - `initial_sync`: Finch's first sync of that part succeeded: `initial_sync_completed_at` (and `last_synced_at`).
 * - `none`: recorded and acknowledged; the connection is unchanged. Benefit jobs are writes Finch
 *   made for us, not syncs; a type Finch adds later is acknowledged until it is given a row here.
 */
export type WebhookAction = 'status' | 'synced' | { initial_sync: InitialSync } | 'none';

const DATA_CHANGES = ['directory', 'employment', 'individual', 'payment', 'pay_statement']
  .flatMap((model) => ['created', 'updated', 'deleted'].map((change) => `${model}.${change}`));
const BENEFIT_JOBS = ['benefit_create', 'benefit_enroll', 'benefit_register', 'benefit_unenroll', 'benefit_update']
  .map((job) => `job.${job}.completed`);

/** Every event type of Finch's "Webhooks" page and the SDK's union (test/integration/webhook-events.test.ts covers each). */
export const WEBHOOK_ACTIONS: Readonly<Record<string, WebhookAction>> = {
  'account.updated': 'status',
  'company.updated': 'synced',
  ...Object.fromEntries(DATA_CHANGES.map((type) => [type, 'synced'])),
  'job.data_sync_all.completed': 'synced',
  'job.w4_form_employee_sync.completed': 'synced',
  'job.initial_data_sync_org.succeeded': { initial_sync: 'org' },
  'job.initial_data_sync_payroll.succeeded': { initial_sync: 'payroll' },
  ...Object.fromEntries(BENEFIT_JOBS.map((type) => [type, 'none'])),
};

/**
 * An event can name a connection before the callback stored it: Finch makes the connection when
 * the employer finishes Connect, and sends events by itself. Finch delivers again after a non-2xx,
 * so such an event is answered 503 (and not recorded) for this long after its first delivery; past
 * it, nobody is coming for the connection (a token lost for good), and the event is acknowledged.
 * Counted from the first delivery we saw, not Finch-Timestamp, which Finch signs anew on every attempt.
 */
export const UNOWNED_EVENT_WINDOW_SECONDS = 3600;
/** The Retry-After a deferred event is answered with (Finch keeps its own schedule). */
const DEFER_SECONDS = 60;

export type WebhookOutcome = 'applied' | 'duplicate' | 'not_applied';

/** A delivery, counted by what it came to (Webhooks: outcome and reason). */
export async function handleWebhook(deps: CoreDeps, rawBody: string, headers: Record<string, string | undefined>): Promise<WebhookOutcome> {
  let outcome: WebhookOutcome;
  try {
    outcome = await receiveWebhook(deps, rawBody, headers);
  } catch (error) {
    // A backing service's fault is counted by the HTTP stack (ServiceUnavailable), not here.
    const counted = error instanceof WebhookDeferred ? { Outcome: 'deferred', Reason: error.reason }
      : error instanceof WebhookSignatureInvalid ? { Outcome: 'rejected', Reason: 'signature' }
        : error instanceof InvalidRequest ? { Outcome: 'rejected', Reason: 'invalid_event' } : null;
    if (counted) deps.metrics.add('Webhooks', counted);
    throw error;
  }
  deps.metrics.add('Webhooks', { Outcome: outcome, Reason: 'none' });
  return outcome;
}

async function receiveWebhook(deps: CoreDeps, rawBody: string, headers: Record<string, string | undefined>): Promise<WebhookOutcome> {
  // A bad signature: the verifier throws WebhookSignatureInvalid, answered as it is.
  await deps.webhooks.verify(rawBody, headers);
  // Signed, so from Finch: still checked, a key DynamoDB refuses must be a 400, not a 500.
  const eventId = headers['finch-event-id'] ?? '';
  if (!EVENT_ID.test(eventId)) throw new InvalidRequest('The Finch-Event-Id header is invalid.', [{ path: 'headers.finch-event-id', message: 'must be 1-256 printable ASCII characters' }]);
  let body: unknown;
  try { body = JSON.parse(rawBody); } catch { throw new InvalidRequest('The webhook body is not JSON.'); }
  const parsed = WebhookBody.safeParse(body);
  if (!parsed.success) throw new InvalidRequest('The webhook body has no event_type.');
  const event: WebhookEventRecord = {
    event_id: eventId,
    event_type: parsed.data.event_type,
    connection_id: parsed.data.connection_id ?? null,
    received_at: deps.clock.now().toISOString(),
  };
  const saysDisconnected = parsed.data.data?.status === 'disconnected';
  const owner = event.connection_id ? await deps.connections.getOwner(event.connection_id) : null;
  if (event.connection_id && !owner) await deferUnowned(deps, event);
  const found = owner ? await changeFor(deps, event, owner, saysDisconnected) : null;
  const outcome: ApplyOutcome = await deps.inbox.applyWebhookEvent(event, found?.change ?? null, found?.audit ?? null);
  if (outcome === 'token_changed') {
    deps.log.warn('webhook deferred: the connection\'s token changed while Finch was asked', { event_type: event.event_type, connection_id: event.connection_id });
    throw new WebhookDeferred(DEFER_SECONDS, 'token_changed');
  }
  deps.log.info('webhook', { event_type: event.event_type, connection_id: event.connection_id, outcome });
  return outcome;
}

/** Within the window: 503, nothing recorded, so Finch's redelivery finds the connection stored. */
async function deferUnowned(deps: CoreDeps, event: WebhookEventRecord): Promise<void> {
  const first = await deps.inbox.firstSeen(event);
  const waited = (Date.parse(event.received_at) - Date.parse(first)) / 1000;
  if (waited < UNOWNED_EVENT_WINDOW_SECONDS) {
    deps.log.warn('webhook for a connection nobody here owns yet; deferred', { event_type: event.event_type, connection_id: event.connection_id, first_seen_at: first });
    throw new WebhookDeferred(DEFER_SECONDS);
  }
  deps.log.warn('webhook for a connection nobody here owns; acknowledged', { event_type: event.event_type, connection_id: event.connection_id, first_seen_at: first });
}

/** What the event changes on the connection, and the change's audit entry (with the connection's subject). */
interface Applied { change: ConnectionChange; audit: AuditEntry }

async function changeFor(deps: CoreDeps, event: WebhookEventRecord, owner: string, saysDisconnected: boolean): Promise<Applied | null> {
  const base = { customer_id: owner, connection_id: event.connection_id! };
  const action = WEBHOOK_ACTIONS[event.event_type] ?? 'none';
  // A plain data sync touches last_synced_at only, which no subscriber hears of (no event for it):
  // its entry keeps no subject rather than read the connection for it on every sync webhook.
  if (action === 'synced') return applied({ kind: 'update', ...base, set: { last_synced_at: event.received_at } }, event);
  if (typeof action === 'object') {
    // An initial sync is an event of its own (connection.initial_sync_completed): its entry names the connection.
    const stored = await deps.connections.getConnection(owner, base.connection_id);
    const change: ConnectionChange = {
      kind: 'update', ...base, set: { last_synced_at: event.received_at }, initial_sync: { sync: action.initial_sync, at: event.received_at },
    };
    return applied(change, event, stored ? subjectOf(stored) : undefined, { initial_sync: action.initial_sync });
  }
  if (action !== 'status') return null;

  const stored = await deps.connections.getConnection(owner, base.connection_id);
  if (!stored?.token || stored.status === 'disconnected') return null;
  // Our own DELETE is under way: it finishes (or restores) the connection; only Finch's word that
  // the connection is gone may finish it first.
  if (stored.status === 'disconnecting' && !saysDisconnected) return null;
  const accessToken = await deps.cipher.decrypt(stored.token.ciphertext, base);
  const found = await introspectStatus(deps, accessToken, stored);
  if (found === null && saysDisconnected) {
    // Finch says disconnected and refuses the token: disconnected at Finch (its dashboard, the
    // employer, another client). Finished as our DELETE finishes one, while the token is still that one.
    return applied({
      kind: 'disconnect', ...base, token_issued_at: stored.token.token_issued_at,
      tombstone: { disconnected_by: 'finch', disconnected_at: event.received_at, revocation_confirmed: true },
    }, event, subjectOf(stored, { status: 'disconnected' }));
  }
  // Finch still answers for the token (its status now, not the event's), or refuses it without
  // saying the connection is gone (it needs reauthentication). Not while our DELETE is under way.
  if (stored.status === 'disconnecting') return null;
  const { status, status_message, authentication_methods, company_id, manual, last_successful_sync } = found ?? TOKEN_REFUSED;
  // What /introspect says of the connection; a token Finch refuses says nothing of it (undefined: no change).
  const set = { status, status_message, authentication_methods, company_id, manual, last_successful_sync };
  return applied({ kind: 'update', ...base, set }, event, subjectOf(stored, { status, company_id }), { previous_status: stored.status });
}

function applied(change: ConnectionChange, event: WebhookEventRecord, subject?: AuditSubject, more: AuditDetails = {}): Applied {
  const entry = { actor: 'finch-webhook', customer_id: change.customer_id, connection_id: change.connection_id, at: event.received_at, ...(subject ? { subject } : {}) };
  const details = { event_type: event.event_type, event_id: event.event_id, ...more };
  const audit: AuditEntry = change.kind === 'disconnect'
    ? { ...entry, action: 'disconnected', actor: 'finch', details: { ...details, revocation_confirmed: true } }
    : { ...entry, action: 'webhook_applied', details };
  return { change, audit };
}
