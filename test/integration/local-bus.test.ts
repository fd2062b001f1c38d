// The local bus (local/events/bus.ts) behind its PutEvents endpoint, driven by the real
// @aws-sdk/client-eventbridge client as the events function drives it: PutEvents' answers as
// EventBridge gives them (per-entry results in the request's order, a refused entry inside a 200,
// 1 to 10 entries), the events kept newest last, events.jsonl, the forward to EVENTS_FORWARD_URL
// with its retries, in-process subscribers by type, and GET /_local/events (loopback only).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { ConnectionEventDetail } from '#core/events.js';
import { type ConnectionEvent, FORWARD_ID_HEADER, FORWARD_TYPE_HEADER, LocalBus } from '#local/events/bus.js';
import { type RunningEndpoint, startPutEventsEndpoint } from '#local/events/put-events-endpoint.js';
import { createLocalRoutes } from '#local/gateway/local-routes.js';

const BUS = 'finch-connections-local';
const dir = mkdtempSync(join(tmpdir(), 'local-bus-'));
const forwarded: Array<{ headers: IncomingMessage['headers']; body: unknown }> = [];
let forwardAnswers: number[] = [];
let receiver: Server;
let bus: LocalBus;
let endpoint: RunningEndpoint;
let client: EventBridgeClient;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      forwarded.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(forwardAnswers.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  bus = new LocalBus({
    busName: BUS, file: join(dir, 'events.jsonl'), forwardUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`,
    attempts: 3, retryDelayMs: 1, log: () => undefined,
  });
  endpoint = await startPutEventsEndpoint(bus);
  client = new EventBridgeClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
  await new Promise<void>((resolve) => { receiver.closeAllConnections(); receiver.close(() => resolve()); });
  rmSync(dir, { recursive: true, force: true });
});

let count = 0;
function detail(type: ConnectionEventDetail['type'], connection = 'conn-a'): ConnectionEventDetail {
  return {
    id: `entry-${++count}`, type, connection_id: connection, customer_id: 'acme', entity: null, provider_id: 'gusto',
    company_id: null, status: 'connected', occurred_at: new Date(Date.UTC(2026, 10, 30, 12, 0, count)).toISOString(),
  };
}
const entry = (event: ConnectionEventDetail, bus = BUS) => ({
  Source: 'finch-connections', DetailType: event.type, Detail: JSON.stringify(event), EventBusName: bus, Time: new Date(event.occurred_at),
});

describe('PutEvents as EventBridge answers it', () => {
  test('each entry accepted in order, the events kept newest last, one connection\'s on request, each a line of events.jsonl', async () => {
    const sent = [detail('connection.connected'), detail('connection.connected', 'conn-b'), detail('connection.disconnected')];
    const answer = await client.send(new PutEventsCommand({ Entries: sent.map((event) => entry(event)) }));
    expect(answer.FailedEntryCount).toBe(0);
    expect(answer.Entries).toEqual(sent.map(() => ({ EventId: expect.any(String) })));
    expect(bus.events()).toEqual(sent);
    expect(bus.events('conn-a')).toEqual([sent[0], sent[2]]);
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ConnectionEvent);
    expect(lines.map((line) => line.detail)).toEqual(sent);
    expect(lines[0]).toMatchObject({ version: '0', source: 'finch-connections', 'detail-type': 'connection.connected', time: '2026-11-30T12:00:01Z', region: 'us-east-1' });
  });

  test('an entry for another bus or with a malformed detail is refused inside a 200, the others accepted', async () => {
    const good = detail('connection.connected');
    const answer = await client.send(new PutEventsCommand({ Entries: [
      entry(detail('connection.connected'), 'default'), entry(good), { ...entry(detail('connection.connected')), Detail: '[1]' },
    ] }));
    expect(answer.FailedEntryCount).toBe(2);
    expect(answer.Entries).toEqual([
      { ErrorCode: 'InvalidArgument', ErrorMessage: expect.any(String) }, { EventId: expect.any(String) }, { ErrorCode: 'MalformedDetail', ErrorMessage: expect.any(String) },
    ]);
    expect(bus.events().at(-1)).toEqual(good);
  });

  test('more than 10 entries is a ValidationException; another operation is refused', async () => {
    await expect(client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry(detail('connection.connected'))) })))
      .rejects.toMatchObject({ name: 'ValidationException' });
    const res = await fetch(endpoint.url, { method: 'POST', headers: { 'x-amz-target': 'AWSEvents.ListRules', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    expect(res.status).toBe(400);
  });

  test('the faults the tests inject: a refused entry, a failed call, a lost answer', async () => {
    const before = bus.events().length;
    bus.injectFault({ kind: 'entry', times: 1, skip: 1 });
    const refused = await client.send(new PutEventsCommand({ Entries: [entry(detail('connection.connected')), entry(detail('connection.connected'))] }));
    expect(refused.Entries!.map((result) => result.ErrorCode ?? 'ok')).toEqual(['ok', 'InternalFailure']);
    bus.injectFault({ kind: 'request', times: 1 });
    await expect(client.send(new PutEventsCommand({ Entries: [entry(detail('connection.connected'))] }))).rejects.toMatchObject({ name: 'InternalException' });
    bus.injectFault({ kind: 'lost-answer', times: 1 });
    await expect(client.send(new PutEventsCommand({ Entries: [entry(detail('connection.connected'))] }))).rejects.toMatchObject({ name: 'InternalException' });
    // The first of the refused pair, and the one whose answer was lost.
    expect(bus.events().length - before).toBe(2);
  });
});

describe('delivery', () => {
  test('each detail is POSTed to EVENTS_FORWARD_URL with its type and id; a failing receiver is retried', async () => {
    await bus.settled();
    forwarded.length = 0;
    forwardAnswers = [500, 503];
    const event = detail('connection.reauth_required');
    await client.send(new PutEventsCommand({ Entries: [entry(event)] }));
    await bus.settled();
    expect(forwarded).toHaveLength(3);
    expect(forwarded.every((delivery) => JSON.stringify(delivery.body) === JSON.stringify(event))).toBe(true);
    expect(forwarded[2].headers).toMatchObject({ 'content-type': 'application/json', [FORWARD_TYPE_HEADER]: 'connection.reauth_required', [FORWARD_ID_HEADER]: event.id });
  });

  test('subscribers get the EventBridge event of their types only, retried when they throw, until they unsubscribe', async () => {
    const got: ConnectionEvent[] = [];
    let failures = 1;
    const unsubscribe = bus.subscribe(['connection.connected', 'connection.reauthenticated'], (event) => {
      if (failures-- > 0) throw new Error('busy');
      got.push(event);
    });
    const connected = detail('connection.connected');
    await client.send(new PutEventsCommand({ Entries: [entry(connected), entry(detail('connection.disconnected'))] }));
    await bus.settled();
    expect(got).toEqual([expect.objectContaining({ source: 'finch-connections', 'detail-type': 'connection.connected', detail: connected, account: expect.any(String), id: expect.any(String) })]);
    unsubscribe();
    await client.send(new PutEventsCommand({ Entries: [entry(detail('connection.connected'))] }));
    await bus.settled();
    expect(got).toHaveLength(1);
  });
});

describe('a throttled subscriber', () => {
  // The enrichment consumer fails with FinchRateLimited when the shared Finch budget is spent; its
  // retryAfterSeconds says when the budget has room. Retried at the backoff (1 ms here) it would
  // spend every attempt within milliseconds and drop the event.
  test('is retried after the Retry-After its error carries (capped), with its own number of attempts', async () => {
    const throttled = new LocalBus({ busName: BUS, attempts: 2, retryDelayMs: 1, maxRetryDelayMs: 150, log: () => undefined });
    const tries: number[] = [];
    throttled.subscribe(['connection.connected'], () => {
      tries.push(Date.now());
      if (tries.length < 4) throw Object.assign(new Error('budget spent'), { retryAfterSeconds: 0.05 });
    }, { attempts: 4 });
    throttled.put([entry(detail('connection.connected'))]);
    await throttled.settled();
    expect(tries).toHaveLength(4);
    for (let i = 1; i < tries.length; i += 1) expect(tries[i] - tries[i - 1]).toBeGreaterThanOrEqual(45);
  });
});

describe('stopping', () => {
  // npm start's SIGTERM: a throttled enrichment waiting minutes for its next attempt held the stack
  // (test/e2e/stack.test.ts › SIGTERM stops…). Without close(), settled() below waits the 10 minutes
  // and the test times out.
  test('close() gives up the retries waiting for their turn, so settled() comes at once, and says so', async () => {
    const lines: string[] = [];
    const closing = new LocalBus({ busName: BUS, attempts: 5, retryDelayMs: 1, maxRetryDelayMs: 600_000, log: (line) => lines.push(line) });
    let tries = 0;
    closing.subscribe(['connection.connected'], () => {
      tries += 1;
      throw Object.assign(new Error('budget spent'), { retryAfterSeconds: 600 });
    });
    closing.put([entry(detail('connection.connected'))]);
    await new Promise((resolve) => setImmediate(resolve));
    closing.close();
    await closing.settled();
    expect(tries).toBe(1);
    expect(lines).toEqual([expect.stringContaining('not delivered: the bus stopped after 1 attempts')]);
  });
});

describe('GET /_local/events', () => {
  const routes = createLocalRoutes({
    mintToken: async () => 'token', jwks: { keys: [] }, demoDir: dir, emulatorUrl: () => undefined, port: () => 3000, routeKeys: [],
    events: (connectionId) => bus.events(connectionId),
  });
  const get = (url: string, host = '127.0.0.1:3000') => routes({ method: 'GET', url, path: url.split('?')[0], headers: { host: [host] }, body: Buffer.alloc(0), sourceIp: '127.0.0.1', httpVersion: '1.1' });

  test('answers {events} newest last, one connection\'s with connection_id; loopback Hosts only', async () => {
    const all = await get('/_local/events');
    expect(all!.status).toBe(200);
    expect(JSON.parse(all!.body.toString()).events).toEqual(bus.events());
    const one = await get('/_local/events?connection_id=conn-b');
    expect(JSON.parse(one!.body.toString())).toEqual({ events: [expect.objectContaining({ connection_id: 'conn-b' })] });
    expect((await get('/_local/events?connection_id=..%2Fx'))!.status).toBe(400);
    expect((await get('/_local/events', 'evil.example'))!.status).toBe(403);
  });
});
