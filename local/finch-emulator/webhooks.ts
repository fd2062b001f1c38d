// Signed webhooks, with Finch's scheme (Svix-style): headers finch-event-id, finch-timestamp
// (unix seconds) and finch-signature = "v1,<base64 HMAC-SHA256>" over `${id}.${timestamp}.${body}`,
// keyed with the base64-DECODED webhook secret. The SDK's webhooks.verifySignature checks exactly this.
// Event types and payloads follow Finch's "Webhooks" page and the SDK's WebhookEvent union; a
// receiver that does not answer 2xx gets the same event again, with backoff, a bounded number of times.
import { createHmac } from 'node:crypto';
import { FinchApiError, invalidRequest, notFound } from './errors.js';
import { newEventId, newId, uuidFromSeed } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import type { EmulatedConnection, EmulatorStore, WebhookRecord } from './store.js';
import { expectBody, isObject, optionalBoolean, optionalInteger, optionalRedirectUri, optionalString, requiredString } from './validate.js';

const DELIVERY_TIMEOUT_MS = 10_000;

/** Every `event_type` of the SDK's WebhookEvent union (test/fidelity/webhooks.test.ts checks it is all of them). */
export const WEBHOOK_EVENT_TYPES = [
  'account.updated',
  'company.updated',
  'directory.created', 'directory.updated', 'directory.deleted',
  'employment.created', 'employment.updated', 'employment.deleted',
  'individual.created', 'individual.updated', 'individual.deleted',
  'job.benefit_create.completed', 'job.benefit_enroll.completed', 'job.benefit_register.completed',
  'job.benefit_unenroll.completed', 'job.benefit_update.completed', 'job.data_sync_all.completed',
  'job.w4_form_employee_sync.completed', 'job.initial_data_sync_org.succeeded', 'job.initial_data_sync_payroll.succeeded',
  'payment.created', 'payment.updated', 'payment.deleted',
  'pay_statement.created', 'pay_statement.updated', 'pay_statement.deleted',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Types Finch may add later still go through (a receiver must acknowledge what it does not know). */
const EVENT_TYPE_SHAPE = /^[a-z_]+(\.[a-z0-9_]+){1,2}$/;

/** The products whose first sync each initial-sync event reports ("Webhooks": job completion). */
const INITIAL_SYNCS: ReadonlyArray<{ type: WebhookEventType; products: readonly string[] }> = [
  { type: 'job.initial_data_sync_org.succeeded', products: ['company', 'directory', 'individual', 'employment'] },
  { type: 'job.initial_data_sync_payroll.succeeded', products: ['payment', 'pay_statement'] },
];

export interface WebhookSettings {
  url?: string;
  /** Base64, like Finch's (the SDK decodes it). */
  secret?: string;
  /** Deliveries of one event, the first included (default 5). */
  attempts?: number;
  /** The wait before the second attempt; each later one doubles it (default 1000 ms). */
  baseDelayMs?: number;
  /** Whether the emulator sends the events Finch sends by itself (default true). */
  autoEvents?: boolean;
  /** How long after the change such an event leaves (default 1000 ms; Finch's take minutes). */
  eventDelayMs?: number;
}

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  /** The receiver's status, or null when it could not be reached. */
  status: number | null;
  error?: string;
}

export interface WebhookDelivery {
  event_id: string;
  event_type: string;
  connection_id: string;
  url: string;
  /** `control`: POST /_emulator/webhooks; `finch`: sent by the emulator itself after a change. */
  origin: 'control' | 'finch';
  /** `retrying` until a 2xx, `delivered` on one, `failed` once the attempts are spent. */
  state: 'sending' | 'retrying' | 'delivered' | 'failed';
  attempts: DeliveryAttempt[];
  /** The body as sent. */
  event: Record<string, unknown>;
}

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

/** The payload of an event about a connection; `data` defaults to what Finch puts there for the type. */
export function webhookEvent(connection: EmulatedConnection, type: string, data: Record<string, unknown> | undefined, baseUrl: string) {
  return {
    account_id: connection.account_id,
    company_id: connection.company_id,
    connection_id: connection.connection_id,
    entity_id: connection.entity_id,
    event_type: type,
    data: data ?? defaultData(connection, type, baseUrl),
  };
}

function defaultData(connection: EmulatedConnection, type: string, baseUrl: string): Record<string, unknown> {
  const [kind] = type.split('.');
  const seeded = (what: string) => uuidFromSeed(`${connection.connection_id}:${what}`);
  switch (kind) {
    case 'account':
      return accountData(connection);
    case 'job': {
      const job_id = newId();
      return { job_id, job_url: `${baseUrl}/jobs/automated/${job_id}` };
    }
    case 'directory':
    case 'employment':
    case 'individual':
      return { individual_id: seeded('individual:0') };
    case 'payment':
      return { payment_id: seeded('payment:0'), pay_date: new Date(connection.created_at).toISOString().slice(0, 10) };
    case 'pay_statement':
      return { payment_id: seeded('payment:0'), individual_id: seeded('individual:0') };
    default:
      return {};
  }
}

/** account.updated's data; `disconnected` is a status only this event reports ("Webhooks"). */
const accountData = (connection: EmulatedConnection) => ({
  status: connection.disconnected ? 'disconnected' : connection.status,
  authentication_method: { type: connection.authentication_type },
});

/**
 * Delivers events and keeps every delivery with its attempts. A receiver that answers non-2xx or
 * cannot be reached gets the event again after baseDelayMs, then twice that, and so on, until
 * `attempts` are spent. Each attempt is signed with its own timestamp, as Finch's are.
 */
export class WebhookSender {
  private readonly deliveries: WebhookDelivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private settings: Required<Omit<WebhookSettings, 'url' | 'secret'>> & Pick<WebhookSettings, 'url' | 'secret'>;

  constructor(settings: WebhookSettings, private readonly store: EmulatorStore, private readonly now: () => number) {
    this.settings = { attempts: 5, baseDelayMs: 1000, autoEvents: true, eventDelayMs: 1000 };
    this.configure(settings);
  }

  configure(settings: WebhookSettings): void {
    if (settings.secret) decodeWebhookSecret(settings.secret);
    if (settings.attempts !== undefined && !(Number.isInteger(settings.attempts) && settings.attempts >= 1)) {
      throw new Error('webhook attempts must be a positive integer.');
    }
    const defined = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
    this.settings = { ...this.settings, ...defined };
  }

  get url(): string | undefined {
    return this.settings.url;
  }

  get secret(): string | undefined {
    return this.settings.secret;
  }

  list(): WebhookDelivery[] {
    return this.deliveries.map((delivery) => ({ ...delivery, attempts: delivery.attempts.map((attempt) => ({ ...attempt })) }));
  }

  /**
   * An event Finch sends by itself after a change (a new connection's first sync, a status the
   * sandbox set, a disconnect): it leaves eventDelayMs later, when a receiver is configured.
   */
  emit(connection: EmulatedConnection, type: WebhookEventType, baseUrl: string): void {
    const { url, secret, autoEvents, eventDelayMs } = this.settings;
    if (!autoEvents || !url || !secret) return;
    // The payload is taken now: it reports the change, not whatever happens during the delay.
    const event = webhookEvent(connection, type, undefined, baseUrl);
    this.later(eventDelayMs, () => {
      void this.deliver({ event, url, eventId: newEventId(), origin: 'finch' });
    });
  }

  /** Sends one event; resolves after its first attempt (later ones follow in the background). */
  async deliver(request: {
    event: ReturnType<typeof webhookEvent>; url: string; eventId: string; origin: WebhookDelivery['origin'];
    timestamp?: number; retry?: boolean;
  }): Promise<{ delivery: WebhookDelivery; first: DeliveryAttempt }> {
    const secret = this.settings.secret as string;
    const body = JSON.stringify(request.event);
    const delivery: WebhookDelivery = {
      event_id: request.eventId, event_type: request.event.event_type, connection_id: request.event.connection_id,
      url: request.url, origin: request.origin, state: 'sending', attempts: [], event: request.event,
    };
    const record: WebhookRecord = { event_id: request.eventId, event_type: delivery.event_type, connection_id: delivery.connection_id, status: null };
    this.deliveries.push(delivery);
    this.store.webhooks.push(record);
    const maxAttempts = request.retry === false ? 1 : this.settings.attempts;

    const attempt = async (): Promise<DeliveryAttempt> => {
      const timestamp = request.timestamp ?? Math.floor(this.now() / 1000);
      const result = await this.post(request.url, body, {
        'content-type': 'application/json',
        'finch-event-id': request.eventId,
        'finch-timestamp': String(timestamp),
        'finch-signature': signWebhook(secret, request.eventId, timestamp, body),
      });
      const made: DeliveryAttempt = { attempt: delivery.attempts.length + 1, at: new Date(this.now()).toISOString(), ...result };
      delivery.attempts.push(made);
      if (made.status !== null) record.status = made.status;
      const ok = made.status !== null && made.status >= 200 && made.status < 300;
      if (ok) delivery.state = 'delivered';
      else if (made.attempt >= maxAttempts) delivery.state = 'failed';
      else {
        delivery.state = 'retrying';
        this.later(this.settings.baseDelayMs * 2 ** (made.attempt - 1), () => { void attempt(); });
      }
      return made;
    };
    const first = await attempt();
    return { delivery, first };
  }

  /** Stops every pending retry and delivery; keeps nothing. */
  reset(): void {
    this.stop();
    this.deliveries.length = 0;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
    this.inFlight.clear();
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number | null; error?: string }> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timeout = setTimeout(() => controller.abort(new Error('the receiver did not answer in time')), DELIVERY_TIMEOUT_MS);
    try {
      const response = await fetch(url, { method: 'POST', headers, body, signal: controller.signal });
      await response.arrayBuffer();
      return { status: response.status };
    } catch (error) {
      return { status: null, error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(controller);
    }
  }
}

/** Finch's initial-sync events for the products granted, once, when a connection is first connected with a token. */
export function sendInitialSyncEvents(connection: EmulatedConnection, deps: EmulatorDeps): void {
  if (connection.initial_sync_sent || connection.status !== 'connected' || connection.tokens.length === 0) return;
  connection.initial_sync_sent = true;
  for (const sync of INITIAL_SYNCS) {
    if (sync.products.some((product) => connection.products.includes(product))) deps.events.emit(connection, sync.type, deps.baseUrl());
  }
}

/** account.updated after a status change (or a disconnect), and the first sync if it is now connected. */
export function sendStatusEvents(connection: EmulatedConnection, deps: EmulatorDeps): void {
  deps.events.emit(connection, 'account.updated', deps.baseUrl());
  sendInitialSyncEvents(connection, deps);
}

/**
 * `POST /_emulator/webhooks {type, connection_id, data?, event_id?, timestamp?, url?, retry?}`:
 * sends one signed event to the configured webhook URL and answers after the first attempt:
 * `{delivered (a 2xx), status, event_id}`, plus `retrying: true` while later attempts are due.
 * `event_id` and `timestamp` let a test replay an event or send a stale one; `retry: false` sends it once.
 */
export async function sendWebhook(input: RequestInput, deps: EmulatorDeps): Promise<Reply> {
  const fields = expectBody(input.body, ['type', 'connection_id', 'data', 'event_id', 'timestamp', 'url', 'retry']);
  const type = requiredString(fields, 'type');
  if (!EVENT_TYPE_SHAPE.test(type)) throw invalidRequest('type must be a Finch event type such as account.updated or job.data_sync_all.completed.');
  const connection_id = requiredString(fields, 'connection_id');
  const url = optionalRedirectUri(fields, 'url') ?? deps.events.url;
  const eventId = optionalString(fields, 'event_id') ?? newEventId();
  const timestamp = optionalInteger(fields, 'timestamp', 0, Number.MAX_SAFE_INTEGER) ?? undefined;
  const retry = optionalBoolean(fields, 'retry') ?? true;
  if (fields.data !== undefined && fields.data !== null && !isObject(fields.data)) throw invalidRequest('data must be an object.');
  if (!url) throw new FinchApiError(409, 'conflict_error', 'No webhook URL: start the emulator with webhookUrl or pass url.');
  if (!deps.events.secret) throw new FinchApiError(409, 'conflict_error', 'No webhook secret: start the emulator with webhookSecret.');

  // Disconnected connections still get events: receivers must not revive them.
  const connection = deps.store.connections.get(connection_id);
  if (!connection) throw notFound(`Connection ${connection_id} not found.`, 'connection_not_found');

  const event = webhookEvent(connection, type, (fields.data ?? undefined) as Record<string, unknown> | undefined, deps.baseUrl());
  const { delivery, first } = await deps.events.deliver({ event, url, eventId, origin: 'control', timestamp, retry });
  if (first.status === null) {
    return json(502, { delivered: false, event_id: eventId, error: first.error, ...(delivery.state === 'retrying' ? { retrying: true } : {}) });
  }
  return json(200, {
    delivered: delivery.state === 'delivered', status: first.status, event_id: eventId,
    ...(delivery.state === 'retrying' ? { retrying: true } : {}),
  });
}

/** `GET /_emulator/webhooks` → `{deliveries: [{event_id, event_type, connection_id, url, origin, state, attempts, event}]}`. */
export const listWebhooks = (_input: RequestInput, deps: EmulatorDeps): Reply => json(200, { deliveries: deps.events.list() });
