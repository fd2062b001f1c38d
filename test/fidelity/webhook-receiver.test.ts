// The backend's POST /webhooks/finch as Finch's receiver: every event type the SDK defines, signed
// by the emulator, is acknowledged with a 2xx on the first attempt. Finch retries anything else
// ("Webhooks"), so an event the backend cannot use must still be acknowledged, not refused.
import { RETURN_ORIGIN, WEBHOOK_SECRET, connectCustomer, startHarness, type Harness } from '../support/harness.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';
import { WEBHOOK_EVENT_TYPES } from '#local/finch-emulator/webhooks.js';
import { DOCS } from './support.js';

let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await startHarness();
  receiver = await startWebhookReceiver(h);
  h.emulator.configureWebhooks({ url: receiver.url, secret: WEBHOOK_SECRET, autoEvents: false, attempts: 3, baseDelayMs: 50 });
});

afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

test(`every SDK event type about a stored connection is acknowledged with a 2xx on the first attempt (${DOCS.webhooks})`, async () => {
  const connection_id = await connectCustomer(h, { customer_id: 'receiver-co' }, { return_to: `${RETURN_ORIGIN}/done` });
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
