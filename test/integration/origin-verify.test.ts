// Behind the WAF (waf=true) every function refuses a request that did not come through CloudFront:
// the real handlers and the real middy stack, configured as the stack configures them during a
// rotation (ORIGIN_VERIFY is what CloudFront sends, ORIGIN_VERIFY_ROTATING the other accepted value).
import { randomBytes } from 'node:crypto';
import { signWebhook } from '#local/finch-emulator/index.js';
import { ROUTES } from '../../lib/routes.js';
import { RETURN_ORIGIN, WEBHOOK_SECRET, capturedLogs, scanTable, startHarness, type Harness } from '../support/harness.js';

// Shaped like Secrets Manager's generated values (64 letters and digits).
const CURRENT = randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 64);
const ROTATING = randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 64);

let h: Harness;
beforeAll(async () => { h = await startHarness({ ORIGIN_VERIFY: CURRENT, ORIGIN_VERIFY_ROTATING: ROTATING }); });
afterAll(async () => { await h?.close(); });

const claims = { customer_id: 'origin-co', sub: 'user-of-origin-co' };
const finchCalls = () => Object.values(h.emulator.state().calls).reduce((a, b) => a + b, 0);
const concrete = (path: string) => path.replace('{connection_id}', 'c1').replace('{path+}', 'employer/company');

function signedDelivery(originVerify?: string) {
  // Naming no connection: served at once (one about a connection nobody owns yet would be deferred, 503).
  const raw = JSON.stringify({ event_type: 'account.updated' });
  const eventId = `msg_origin_${randomBytes(6).toString('hex')}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return h.invoke('POST /webhooks/finch', {
    rawBody: raw,
    headers: {
      'content-type': 'application/json',
      'finch-event-id': eventId,
      'finch-timestamp': String(timestamp),
      'finch-signature': signWebhook(WEBHOOK_SECRET, eventId, timestamp, raw),
      ...(originVerify === undefined ? {} : { 'x-origin-verify': originVerify }),
    },
  });
}

describe('a request that did not come through CloudFront', () => {
  const wrong: Array<{ name: string; headers: Record<string, string> }> = [
    { name: 'no x-origin-verify header', headers: {} },
    { name: 'an empty x-origin-verify', headers: { 'x-origin-verify': '' } },
    { name: 'a wrong value of the right length', headers: { 'x-origin-verify': `${CURRENT.slice(0, -1)}${CURRENT.endsWith('A') ? 'B' : 'A'}` } },
    { name: 'a prefix of the value', headers: { 'x-origin-verify': CURRENT.slice(0, 32) } },
    { name: 'both values joined, as API Gateway joins a repeated header', headers: { 'x-origin-verify': `${CURRENT},${ROTATING}` } },
  ];

  test.each(wrong)('$name: every route answers 403 forbidden before reading the body, with no write and no Finch call', async ({ headers }) => {
    const writesBefore = (await scanTable(h)).length;
    const callsBefore = finchCalls();
    for (const route of ROUTES) {
      // A body that would be a 400 (malformed JSON) or a 413 if it were read at all.
      for (const rawBody of ['{"flow":', 'x'.repeat(40 * 1024)]) {
        const res = await h.invoke(`${route.method} ${concrete(route.path)}`, { claims, rawBody, headers });
        expect([route.method, route.path, res.statusCode]).toEqual([route.method, route.path, 403]);
        expect(res.json).toEqual({ error: { code: 'forbidden', message: 'This API answers only through its public URL.', request_id: expect.any(String) } });
        expect(res.headers['cache-control']).toBe('no-store');
      }
    }
    expect((await scanTable(h)).length).toBe(writesBefore);
    expect(finchCalls()).toBe(callsBefore);
  });

  test('a webhook without the header is refused before its signature is checked (403, not 401)', async () => {
    const unsigned = await h.invoke('POST /webhooks/finch', { rawBody: '{}', headers: { 'content-type': 'application/json' } });
    expect(unsigned.statusCode).toBe(403);
    const signed = await signedDelivery();
    expect(signed.statusCode).toBe(403);
    expect(signed.json.error.code).toBe('forbidden');
  });
});

describe('a request through CloudFront', () => {
  test('with the value CloudFront sends, the request is served', async () => {
    const session = await h.invoke('POST /connect/sessions', { claims, body: { return_to: `${RETURN_ORIGIN}/` }, headers: { 'x-origin-verify': CURRENT } });
    expect(session.statusCode).toBe(201);
    expect(session.json.connect_url).toEqual(expect.any(String));
    const list = await h.invoke('GET /connections', { claims, headers: { 'x-origin-verify': CURRENT } });
    expect(list.statusCode).toBe(200);
    // Finch's deliveries come through CloudFront too (WebhookUrl is the distribution's).
    const delivery = await signedDelivery(CURRENT);
    expect(delivery.statusCode).toBe(200);
  });

  test('during a rotation the other accepted value is served as well', async () => {
    const session = await h.invoke('POST /connect/sessions', { claims, body: { return_to: `${RETURN_ORIGIN}/` }, headers: { 'x-origin-verify': ROTATING } });
    expect(session.statusCode).toBe(201);
    const delivery = await signedDelivery(ROTATING);
    expect(delivery.statusCode).toBe(200);
    // Past the check, the request is read as usual: a malformed body is a 400 again.
    const malformed = await h.invoke('POST /connect/sessions', { claims, rawBody: '{"flow":', headers: { 'x-origin-verify': ROTATING } });
    expect(malformed.statusCode).toBe(400);
  });

  test('neither value reaches a log or a response', () => {
    const seen = capturedLogs() + h.transcript.map((entry) => entry.text).join('\n');
    expect(seen).not.toContain(CURRENT);
    expect(seen).not.toContain(ROTATING);
  });
});
