// The local stand-in for the stack's EventBridge bus: what the events function puts on it (through
// its real SDK client and local/events/put-events-endpoint.ts) is kept in memory (newest last, for
// GET /_local/events), appended to `<state dir>/events.jsonl`, POSTed to EVENTS_FORWARD_URL when
// set, and delivered to in-process subscribers by detail type, as EventBridge rules deliver to
// their targets (the enrichment consumer subscribes to connection.connected/reauthenticated).
// Delivery to a subscriber or the forward URL is asynchronous and retried a few times, like
// EventBridge's target retries; a PutEvents call answers once the event is accepted.
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventBridgeEvent } from 'aws-lambda';
import type { PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import type { ConnectionEventDetail, ConnectionEventType } from '#core/events.js';

/** An event as EventBridge hands it to a rule's target (a Lambda function gets exactly this). */
export type ConnectionEvent = EventBridgeEvent<ConnectionEventType, ConnectionEventDetail>;
export type Subscriber = (event: ConnectionEvent) => unknown;

/** Header of a forwarded event: its type (the body is the detail alone). */
export const FORWARD_TYPE_HEADER = 'x-finch-connections-event-type';
/** Header of a forwarded event: its detail's id, the dedupe key. */
export const FORWARD_ID_HEADER = 'x-finch-connections-event-id';

export const LOCAL_ACCOUNT = '000000000000';

export interface LocalBusOptions {
  /** The bus's name: an entry naming another bus (by name or ARN) is refused, as EventBridge would. */
  busName: string;
  region?: string;
  /** Where every accepted event is appended, one JSON line each (`.local/events.jsonl`). */
  file?: string;
  /** EVENTS_FORWARD_URL: each event's detail is POSTed there as JSON. */
  forwardUrl?: string;
  /** Attempts per subscriber and per forward (default 3). */
  attempts?: number;
  /** Wait before a retry, doubled each time (default 200 ms). */
  retryDelayMs?: number;
  /**
   * The longest wait before a retry (default 60 s). A subscriber that fails with a
   * `retryAfterSeconds` (FinchRateLimited: the shared Finch budget said when) is retried after that
   * long, up to this cap, as the stack's queue hides a throttled message until then.
   */
  maxRetryDelayMs?: number;
  /** The events kept in memory, oldest dropped first (default 1000). */
  keep?: number;
  log?: (line: string) => void;
}

/** A fault the tests make the bus answer (a consumer fault: the events function must not lose an event). */
export interface BusFault {
  /**
   * `entry`: the entry is refused inside a 200 answer (FailedEntryCount, ErrorCode InternalFailure);
   * `request`: the whole call is answered 500 and nothing is accepted; `lost-answer`: every entry
   * is accepted, then the call is answered 500 (the caller cannot know: it sends them again).
   */
  kind: 'entry' | 'request' | 'lost-answer';
  /** How many entries (entry) or PutEvents calls (request, lost-answer) it fails. */
  times: number;
  /** Let this many entries or calls through first (default 0). */
  skip?: number;
}

export class LocalBus {
  private readonly kept: ConnectionEvent[] = [];
  private readonly subscribers: Array<{ types: ReadonlySet<string>; handler: Subscriber; attempts?: number }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly faults: BusFault[] = [];
  private readonly arn: string;

  constructor(private readonly options: LocalBusOptions) {
    this.arn = `arn:aws:events:${options.region ?? 'us-east-1'}:${LOCAL_ACCOUNT}:event-bus/${options.busName}`;
    if (options.file) mkdirSync(dirname(options.file), { recursive: true });
  }

  /** Delivers each event of these types to `handler`; returns the unsubscribe. */
  subscribe(types: readonly ConnectionEventType[], handler: Subscriber, options: { attempts?: number } = {}): () => void {
    const subscriber = { types: new Set<string>(types), handler, attempts: options.attempts };
    this.subscribers.push(subscriber);
    return () => {
      const index = this.subscribers.indexOf(subscriber);
      if (index >= 0) this.subscribers.splice(index, 1);
    };
  }

  /** The details of the events kept, newest last; only one connection's with `connectionId`. */
  events(connectionId?: string): ConnectionEventDetail[] {
    return this.kept.map((event) => event.detail).filter((detail) => connectionId === undefined || detail.connection_id === connectionId);
  }

  /** The kept events as EventBridge would deliver them, newest last. */
  deliveredEvents(): ConnectionEvent[] {
    return [...this.kept];
  }

  /** Makes the next PutEvents calls (or entries) fail (tests: a consumer fault). */
  injectFault(fault: BusFault): void {
    this.faults.push({ ...fault });
  }


  /**
   * Stops retrying: a delivery waiting for its next attempt gives up at once (one under way
   * finishes), so a stack that stops is not held for minutes by a throttled subscriber's retries.
   */
  close(): void {
    this.stopping.abort();
  }

  private wait(ms: number): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.stopping.signal.removeEventListener('abort', done); resolve(); };
      const timer = setTimeout(done, ms);
      this.stopping.signal.addEventListener('abort', done);
    });
  }

  /** Settles once every delivery and forward started so far has finished (or given up). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** PutEvents: each entry accepted (EventId) or refused (ErrorCode), in the request's order. */
  put(entries: readonly PutEventsRequestEntry[]): PutEventsResultEntry[] {
    return entries.map((entry) => {
      const refused = this.refusal(entry);
      if (refused) return refused;
      if (this.takeFault('entry')) return { ErrorCode: 'InternalFailure', ErrorMessage: 'Injected fault (local bus).' };
      const event: ConnectionEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType as ConnectionEventType,
        source: entry.Source!,
        account: LOCAL_ACCOUNT,
        time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.options.region ?? 'us-east-1',
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail!) as ConnectionEventDetail,
      };
      this.accept(event);
      return { EventId: event.id };
    });
  }

  private refusal(entry: PutEventsRequestEntry): PutEventsResultEntry | null {
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' };
    }
    const bus = entry.EventBusName ?? 'default';
    if (bus !== this.options.busName && bus !== this.arn) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: `Event bus ${bus} does not exist.` };
    }
    try {
      const detail: unknown = JSON.parse(entry.Detail);
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) throw new Error('not an object');
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    return null;
  }

  /** Whether a fault of this kind applies to this entry or call (it is used up as it does). */
  takeFault(kind: BusFault['kind']): boolean {
    const fault = this.faults.find((candidate) => candidate.kind === kind && candidate.times > 0);
    if (!fault) return false;
    if (fault.skip) {
      fault.skip -= 1;
      return false;
    }
    fault.times -= 1;
    if (fault.times === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return true;
  }

  private accept(event: ConnectionEvent): void {
    this.kept.push(event);
    if (this.kept.length > (this.options.keep ?? 1000)) this.kept.shift();
    if (this.options.file) appendFileSync(this.options.file, `${JSON.stringify(event)}\n`);
    for (const subscriber of this.subscribers) {
      if (subscriber.types.has(event['detail-type'])) this.track(this.retried(`subscriber of ${event['detail-type']}`, event, () => subscriber.handler(event), subscriber.attempts));
    }
    if (this.options.forwardUrl) this.track(this.retried(`forward to ${this.options.forwardUrl}`, event, () => this.forward(event)));
  }

  private async forward(event: ConnectionEvent): Promise<void> {
    const response = await fetch(this.options.forwardUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [FORWARD_TYPE_HEADER]: event['detail-type'], [FORWARD_ID_HEADER]: event.detail.id },
      body: JSON.stringify(event.detail),
      signal: AbortSignal.timeout(5000),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw Object.assign(new Error('not 2xx'), { name: `HTTP ${response.status}` });
  }

  private async retried(what: string, event: ConnectionEvent, deliver: () => unknown, subscriberAttempts?: number): Promise<void> {
    const attempts = subscriberAttempts ?? this.options.attempts ?? 3;
    let delay = this.options.retryDelayMs ?? 200;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await deliver();
        return;
      } catch (error) {
        // Ids, types and the error's name only: a subscriber's message is its own and may say anything.
        const reason = error instanceof Error ? error.name : 'failed';
        if (attempt >= attempts) {
          this.options.log?.(`events    ${what}: ${event['detail-type']} ${event.detail.id} not delivered after ${attempts} attempts (${reason})`);
          return;
        }
        await this.wait(this.waitBefore(error, delay));
        if (this.stopping.signal.aborted) {
          this.options.log?.(`events    ${what}: ${event['detail-type']} ${event.detail.id} not delivered: the bus stopped after ${attempt} attempts (${reason})`);
          return;
        }
        delay *= 2;
      }
    }
  }

  /** Retry-After when the failure says when (a throttled Finch budget), else the backoff; capped. */
  private waitBefore(error: unknown, backoffMs: number): number {
    const retryAfter = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
    const wanted = typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0 ? Math.max(retryAfter * 1000, backoffMs) : backoffMs;
    return Math.min(wanted, this.options.maxRetryDelayMs ?? 60_000);
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }
}
