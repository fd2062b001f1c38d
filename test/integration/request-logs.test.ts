// Every log line of a request carries its `request_id` and `route`, the error line of a failed
// request included (that is the line an operator searches for), and neither key outlives its
// request. Real handlers, DynamoDB Local with injected store faults, the Finch emulator with
// faults; every line the handlers write is captured. POWERTOOLS_LOGGER_LOG_EVENT is on, as an
// operator might set it while debugging: the whole event (codes, states, bearer tokens) must still
// never be logged.
import { faults, injectFaults, storeClient } from '../support/dynamo-faults.js';
import { RETURN_ORIGIN, authorizeAtFinch, capturedLogs, clearEmulatorFaults, emulatorFault, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
let logger: typeof import('#http/stack.js')['logger'];

beforeAll(async () => {
  h = await startHarness({ POWERTOOLS_LOGGER_LOG_EVENT: 'true' });
  ({ logger } = await import('#http/stack.js'));
});
afterAll(async () => {
  delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  await h?.close();
});

type LogLine = Record<string, unknown> & { level: string; message: string };

/** Runs `action` and answers what it returned and the log lines written meanwhile. */
async function linesOf<T>(action: () => Promise<T>): Promise<{ result: T; lines: LogLine[] }> {
  const start = capturedLogs().length;
  const result = await action();
  const lines = capturedLogs().slice(start).split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.service === 'finch-connections');
  return { result, lines };
}

const claims = (customer_id: string) => ({ customer_id });
const createSession = (customer: string) =>
  h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/done` } });

/** A request that ends well and logs (the callback's "connection stored"), right after a failed one. */
async function connectAfterwards(customer: string, failedRequestId: string) {
  const session = await createSession(customer);
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const { result, lines } = await linesOf(() => h.invoke('GET /connect/callback', { query: { code: code!, state } }));
  expect(result.statusCode).toBe(302);
  expect(lines.map((line) => line.message)).toContain('connection stored');
  for (const line of lines) {
    expect(line).toMatchObject({ route: 'GET /connect/callback', request_id: expect.any(String) });
    expect(line.request_id).not.toBe(failedRequestId);
  }
  expect(new Set(lines.map((line) => line.request_id)).size).toBe(1);
}

/** The failed request's error line carries its request id (the one in the answer) and route; nothing after it does. */
async function expectErrorLine(lines: LogLine[], message: string, requestId: string, route: string) {
  const errorLine = lines.find((line) => line.level === 'ERROR' && line.message === message);
  expect(errorLine).toMatchObject({ request_id: requestId, route });
  for (const line of lines) expect(line).toMatchObject({ request_id: requestId, route });
  // A line written between requests (a module's cold-start note, say) belongs to no request.
  const between = await linesOf(async () => logger.info('between requests'));
  expect(between.lines).toHaveLength(1);
  expect(between.lines[0]).not.toHaveProperty('request_id');
  expect(between.lines[0]).not.toHaveProperty('route');
}

describe('every log line of a request carries request_id and route, the error line included', () => {
  test('Finch failing (502 finch_unavailable): the error line has them, and the next request does not inherit them', async () => {
    await emulatorFault(h, { method: 'POST', path: '/connect/sessions', status: 500, times: 100 });
    const { result, lines } = await linesOf(() => createSession('logs-finch-down'));
    await clearEmulatorFaults(h);
    expect(result.statusCode).toBe(502);
    const requestId = result.json.error.request_id as string;
    await expectErrorLine(lines, 'request failed', requestId, 'POST /connect/sessions');
    await connectAfterwards('logs-finch-down', requestId);
  });

  test('the store unavailable through the retries (503): the error line has them', async () => {
    const injector = injectFaults(storeClient(h.app.deps));
    injector.add({ step: 'any-write', error: faults.throttling, times: Number.POSITIVE_INFINITY });
    let outcome: Awaited<ReturnType<typeof linesOf<Awaited<ReturnType<typeof createSession>>>>>;
    try {
      outcome = await linesOf(() => createSession('logs-store-down'));
    } finally {
      injector.remove();
    }
    expect(outcome.result.statusCode).toBe(503);
    const requestId = outcome.result.json.error.request_id as string;
    await expectErrorLine(outcome.lines, 'a backing service is unavailable', requestId, 'POST /connect/sessions');
    await connectAfterwards('logs-store-down', requestId);
  });

  test('an unhandled error (500): the error line has them', async () => {
    const injector = injectFaults(storeClient(h.app.deps));
    injector.add({ step: 'any-write', error: () => new TypeError('something the code did not expect'), times: Number.POSITIVE_INFINITY });
    let outcome: Awaited<ReturnType<typeof linesOf<Awaited<ReturnType<typeof createSession>>>>>;
    try {
      outcome = await linesOf(() => createSession('logs-bug'));
    } finally {
      injector.remove();
    }
    expect(outcome.result.statusCode).toBe(500);
    expect(outcome.result.json.error.code).toBe('internal_error');
    const requestId = outcome.result.json.error.request_id as string;
    await expectErrorLine(outcome.lines, 'unhandled error', requestId, 'POST /connect/sessions');
    await connectAfterwards('logs-bug', requestId);
  });

  test('the whole event is never logged, even with POWERTOOLS_LOGGER_LOG_EVENT=true', () => {
    expect(capturedLogs()).not.toContain('Lambda invocation event');
    expect(capturedLogs()).not.toContain('"rawQueryString"');
  });
});
