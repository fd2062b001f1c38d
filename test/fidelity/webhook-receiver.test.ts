// The backend's POST /webhooks/finch as Finch's receiver: every event type the SDK defines, signed
// by the emulator, is acknowledged with a 2xx on the first attempt. Finch retries anything else
// ("Webhooks"), so an event the backend cannot use must still be acknowledged, not refused.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, startHarness, type Harness } from '../support/harness.js';
import { WEBHOOK_EVENT_TYPES } from '#local/finch-emulator/webhooks.js';
import { DOCS } from './support.js';

let h: Harness;
let receiver: Server;

beforeAll(async () => {
  h = await startHarness();
  // Finch's deliveries, handed to the webhook handler as API Gateway would, raw body and headers intact.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
      h.invoke('POST /webhooks/finch', { rawBody: Buffer.concat(chunks).toString('utf8'), headers })
        .then((answer) => res.writeHead(answer.statusCode).end(answer.body), () => res.writeHead(599).end());
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  h.emulator.configureWebhooks({
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/finch`, secret: WEBHOOK_SECRET,
    autoEvents: false, attempts: 3, baseDelayMs: 50,
  });
});

afterAll(async () => {
  await h?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

test(`every SDK event type about a stored connection is acknowledged with a 2xx on the first attempt (${DOCS.webhooks})`, async () => {
  const session = await h.invoke('POST /connect/sessions', { claims: { customer_id: 'receiver-co' }, body: { return_to: `${RETURN_ORIGIN}/done` } });
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const callback = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
  const connection_id = new URL(callback.headers.location).searchParams.get('connection_id')!;
  expect(connection_id).toMatch(/^[0-9a-f-]{36}$/);

  const answers: Array<[string, number]> = [];
  for (const type of WEBHOOK_EVENT_TYPES) {
    const sent = await fetch(`${h.emulator.url}/_emulator/webhooks`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, connection_id }),
    });
    answers.push([type, ((await sent.json()) as { status: number }).status]);
  }
  expect(answers.filter(([, status]) => status < 200 || status > 299)).toEqual([]);
  expect(h.emulator.webhooks().filter((delivery) => delivery.attempts.length !== 1 || delivery.state !== 'delivered')).toEqual([]);
});
