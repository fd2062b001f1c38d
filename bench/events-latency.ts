// Events end to end on the local stack: a change committed → its event delivered by the local bus.
// The stack forwards every event to EVENTS_FORWARD_URL (local/events/bus.ts); the bench listens
// there and notes when each event arrives. Each change is made one at a time through the API, as
// an application would make it (a connect flow, then a DELETE), so the numbers are the pipe's own
// delay (table stream → events function → PutEvents → bus → forward), not a queue behind a burst.
// Two clocks bound the commit: the audit entry's `at` (the event's occurred_at) is taken just
// before the transaction is sent, the API's answer arrives just after it committed; so
// "from occurred_at" slightly overstates the delay and "from the answer" slightly understates it.
// Both ends are on this machine's wall clock (Date.now()), in milliseconds.
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StackFile, http, parseConnectForm } from '../test/e2e/stack-process.js';
import { median, percentile } from './counting.js';
import { table } from './report.js';

export interface LatencyStats { count: number; p50Ms: number; p95Ms: number; maxMs: number }

export interface EventsLatencyResult {
  /** Connect flows made (each then disconnected): the changes measured. */
  connections: number;
  /** The events expected of this run's changes, and those that arrived, once or more. */
  expected: number;
  delivered: number;
  /** Deliveries of an id already delivered (at-least-once: allowed, counted). */
  duplicates: number;
  /** Expected events that had not arrived when the wait ended. */
  missing: string[];
  /**
   * Connections whose connection.company_updated arrived. Not expected of every one: the enrichment
   * consumer keeps to Finch's /employer/company budget (functions/core/finch-budget.ts), so a
   * connection a second is throttled, and its event waits for a retry or never comes (the DELETE
   * that follows ends the connection first).
   */
  enriched: number;
  /** occurred_at → delivery, by event type and for all. */
  fromOccurredAt: Record<string, LatencyStats>;
  /** The API's answer → delivery, for the events of a change made through the API. */
  fromAnswer: Record<string, LatencyStats>;
  wallMs: number;
}

export interface EventReceiver {
  url: string;
  /** Each event's detail and the Date.now() it arrived at, in arrival order. */
  arrivals: Array<{ at: number; detail: { id: string; type: string; connection_id: string; customer_id: string; occurred_at: string } }>;
  close(): Promise<void>;
}

/** The developer's app of EVENTS_FORWARD_URL: answers 204 to every POSTed event and notes it. */
export async function startEventReceiver(): Promise<EventReceiver> {
  const arrivals: EventReceiver['arrivals'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      try {
        arrivals.push({ at, detail: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      } catch { /* not an event: ignored */ }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    arrivals,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const stats = (values: number[]): LatencyStats =>
  ({ count: values.length, p50Ms: median(values), p95Ms: percentile(values, 95), maxMs: values.length ? Math.max(...values) : Number.NaN });

function byType(samples: Array<{ type: string; ms: number }>): Record<string, LatencyStats> {
  const groups = new Map<string, number[]>([['all', []]]);
  for (const { type, ms } of samples) {
    groups.get('all')!.push(ms);
    groups.set(type, [...(groups.get(type) ?? []), ms]);
  }
  return Object.fromEntries([...groups].map(([type, values]) => [type, stats(values)]));
}

/** One connect flow as the application and the employer's browser make it; the new connection's id and when the callback answered. */
async function connect(stack: StackFile, token: string): Promise<{ connectionId: string; answeredAt: number }> {
  const session = await http('POST', `${stack.apiUrl}/connect/sessions`, { token, body: {} });
  if (session.status !== 201) throw new Error(`POST /connect/sessions answered ${session.status}: ${session.text.slice(0, 200)}`);
  const connectUrl = (session.json as { connect_url: string }).connect_url;
  const form = parseConnectForm((await http('GET', connectUrl)).text);
  const authorize = await http('POST', new URL(form.action, connectUrl).href, { form: { ...form.fields, provider_id: 'gusto', outcome: 'success' } });
  if (!authorize.location) throw new Error(`the emulator's authorize answered ${authorize.status}`);
  const callback = await http('GET', authorize.location);
  const answeredAt = Date.now();
  const connectionId = new URL(callback.location ?? 'http://none/').searchParams.get('connection_id');
  if (!connectionId) throw new Error(`the callback answered ${callback.status} ${callback.location ?? callback.text.slice(0, 200)}`);
  return { connectionId, answeredAt };
}

export interface EventsLatencyOptions {
  connections: number;
  /** How long to wait for an expected event. */
  settleMs: number;
  /** How long to wait for a connection's company_updated before its DELETE. */
  enrichmentWaitMs: number;
}

/**
 * `connections` connect flows, one at a time, each followed by its DELETE, on a stack started with
 * EVENTS_FORWARD_URL = `receiver.url`; each change's event awaited before the next change, so no
 * event queues behind another. Expected per connection: connection.connected (the callback) and
 * connection.disconnected (the DELETE). connection.company_updated (the enrichment consumer, a
 * change of its own: only its occurred_at bound applies) is measured when it comes within
 * `enrichmentWaitMs`.
 */
export async function measureEventsLatency(stack: StackFile, receiver: EventReceiver, options: EventsLatencyOptions): Promise<EventsLatencyResult> {
  // A customer (so an employer, a Finch company) per connection: Finch's per-company rate limits,
  // which the enrichment consumer keeps to, are not what this measures.
  const run = Date.now().toString(36);
  const customers = Array.from({ length: options.connections }, (_, i) => `events-bench-${run}-${i}`);
  const tokens: string[] = [];
  for (const customer of customers) {
    const minted = await http('POST', `${stack.apiUrl}/_local/token`, { body: { customer_id: customer, customer_name: `Events Bench ${customer}`, expires_in: 3600 } });
    if (minted.status !== 200) throw new Error(`minting a dev token answered ${minted.status}: ${minted.text}`);
    tokens.push((minted.json as { token: string }).token);
  }
  const mine = new Set(customers);

  const ours = () => receiver.arrivals.filter((a) => mine.has(a.detail.customer_id));
  const arrived = () => new Set(ours().map((a) => `${a.detail.type} ${a.detail.connection_id}`));
  const t0 = performance.now();
  const answers = new Map<string, number>();
  const expected = new Set<string>();
  for (const token of tokens) {
    const { connectionId, answeredAt } = await connect(stack, token);
    answers.set(`connection.connected ${connectionId}`, answeredAt);
    expected.add(`connection.connected ${connectionId}`);
    await waitFor(() => arrived().has(`connection.connected ${connectionId}`), options.settleMs);
    await waitFor(() => arrived().has(`connection.company_updated ${connectionId}`), options.enrichmentWaitMs);
    const deleted = await http('DELETE', `${stack.apiUrl}/connections/${connectionId}`, { token });
    if (deleted.status !== 204) throw new Error(`DELETE /connections/${connectionId} answered ${deleted.status}: ${deleted.text.slice(0, 200)}`);
    answers.set(`connection.disconnected ${connectionId}`, Date.now());
    expected.add(`connection.disconnected ${connectionId}`);
    await waitFor(() => arrived().has(`connection.disconnected ${connectionId}`), options.settleMs);
  }
  await waitFor(() => [...expected].every((key) => arrived().has(key)), options.settleMs);
  const wallMs = performance.now() - t0;

  const seen = new Set<string>();
  let duplicates = 0;
  const fromOccurredAt: Array<{ type: string; ms: number }> = [];
  const fromAnswer: Array<{ type: string; ms: number }> = [];
  for (const { at, detail } of ours()) {
    if (seen.has(detail.id)) { duplicates++; continue; }
    seen.add(detail.id);
    fromOccurredAt.push({ type: detail.type, ms: at - Date.parse(detail.occurred_at) });
    const answeredAt = answers.get(`${detail.type} ${detail.connection_id}`);
    if (answeredAt !== undefined) fromAnswer.push({ type: detail.type, ms: at - answeredAt });
  }
  const got = arrived();
  return {
    connections: options.connections,
    expected: expected.size,
    delivered: [...expected].filter((key) => got.has(key)).length,
    duplicates,
    missing: [...expected].filter((key) => !got.has(key)),
    enriched: [...got].filter((key) => key.startsWith('connection.company_updated ')).length,
    fromOccurredAt: byType(fromOccurredAt),
    fromAnswer: byType(fromAnswer),
    wallMs,
  };
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

export function printEventsLatency(result: EventsLatencyResult): void {
  const ms = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(0));
  console.log(`\nEvents end to end on the local stack: ${result.connections} connections connected and disconnected one at a time; `
    + 'change committed → event POSTed to EVENTS_FORWARD_URL');
  const rows = Object.entries(result.fromOccurredAt).map(([type, s]) => {
    const a = result.fromAnswer[type];
    return [type, String(s.count), ms(s.p50Ms), ms(s.p95Ms), ms(s.maxMs), a ? ms(a.p50Ms) : '–', a ? ms(a.p95Ms) : '–'];
  });
  // "from answer": the API's own changes only (not the enrichment's, nor Finch's webhooks).
  console.log(table(['event', 'events', 'p50 ms', 'p95 ms', 'max ms', 'from answer p50', 'p95'], rows));
  console.log(`  ${result.delivered}/${result.expected} expected events delivered (goal all), ${result.duplicates} duplicate deliveries; `
    + `${(result.wallMs / 1000).toFixed(1)} s`);
  console.log(`  company_updated for ${result.enriched}/${result.connections} connections before their DELETE `
    + '(the enrichment keeps to Finch\'s /employer/company budget: a burst of connections is throttled)');
  for (const key of result.missing.slice(0, 5)) console.log(`  missing: ${key}`);
}
