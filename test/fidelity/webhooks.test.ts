// Webhooks against Finch's "Webhooks" page and the SDK's WebhookEvent union: every event type the
// SDK defines is built, signed, and verified with client.webhooks.unwrap / verifySignature; each
// payload has the fields its SDK type requires; a receiver that does not answer 2xx gets the event
// again with backoff, a bounded number of times; and the events Finch sends by itself (a new
// connection's initial syncs, account.updated after a sandbox status or a disconnect) arrive.
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Finch from '@tryfinch/finch-api';
import { WEBHOOK_EVENT_TYPES } from '#local/finch-emulator/webhooks.js';
import {
  type Covers, DOCS, type Fidelity, REDIRECT_URI, type RequiredKeys, authorize, connect, control, shapeProblems, startFidelity,
} from './support.js';

type SdkEventType = NonNullable<Finch.WebhookEvent['event_type']>;

/** The SDK's union, listed here; the compile-time checks below fail when the SDK adds or drops one. */
const SDK_EVENT_TYPES = [
  'account.updated', 'company.updated',
  'directory.created', 'directory.updated', 'directory.deleted',
  'employment.created', 'employment.updated', 'employment.deleted',
  'individual.created', 'individual.updated', 'individual.deleted',
  'job.benefit_create.completed', 'job.benefit_enroll.completed', 'job.benefit_register.completed', 'job.benefit_unenroll.completed',
  'job.benefit_update.completed', 'job.data_sync_all.completed', 'job.w4_form_employee_sync.completed',
  'job.initial_data_sync_org.succeeded', 'job.initial_data_sync_payroll.succeeded',
  'payment.created', 'payment.updated', 'payment.deleted',
  'pay_statement.created', 'pay_statement.updated', 'pay_statement.deleted',
] as const satisfies readonly SdkEventType[];

const BASE_SHAPE = { account_id: 'string', company_id: 'string', connection_id: 'string', entity_id: 'string', event_type: 'string' } as const;
const STATUSES = ['pending', 'processing', 'connected', 'error_no_account_setup', 'error_permissions', 'reauth'] as const satisfies readonly Finch.AccountUpdateEvent.Data['status'][];
const AUTH_TYPES = ['assisted', 'credential', 'api_token', 'api_credential', 'oauth'] as const satisfies readonly NonNullable<Finch.AccountUpdateEvent.Data.AuthenticationMethod['type']>[];
/** Each kind's data: the fields its SDK type requires, and those Finch's page says it carries. */
const DATA_SHAPES = {
  account: { status: STATUSES, authentication_method: 'object' },
  job: { job_id: 'string', job_url: 'string' },
  payment: { payment_id: 'string', pay_date: 'string' },
  pay_statement: { payment_id: 'string', individual_id: 'string' },
  directory: { individual_id: 'string' },
  employment: { individual_id: 'string' },
  individual: { individual_id: 'string' },
  company: {},
} as const;

const covered: true[] = [
  true satisfies Covers<SdkEventType, (typeof SDK_EVENT_TYPES)[number]>,
  true satisfies Covers<RequiredKeys<Finch.BaseWebhookEvent>, keyof typeof BASE_SHAPE>,
  true satisfies Covers<Finch.AccountUpdateEvent.Data['status'], (typeof STATUSES)[number]>,
  true satisfies Covers<NonNullable<Finch.AccountUpdateEvent.Data.AuthenticationMethod['type']>, (typeof AUTH_TYPES)[number]>,
  true satisfies Covers<RequiredKeys<Finch.AccountUpdateEvent.Data>, keyof typeof DATA_SHAPES.account>,
  true satisfies Covers<RequiredKeys<Finch.JobCompletionEvent.Data>, keyof typeof DATA_SHAPES.job>,
  true satisfies Covers<RequiredKeys<Finch.PaymentEvent.Data>, keyof typeof DATA_SHAPES.payment>,
  true satisfies Covers<keyof Finch.PayStatementEvent.Data, keyof typeof DATA_SHAPES.pay_statement>,
  true satisfies Covers<keyof Finch.DirectoryEvent.Data, keyof typeof DATA_SHAPES.directory>,
];

// A receiver that records every delivery and answers the next queued status (200 once they run out).
interface Received { body: string; headers: IncomingHttpHeaders; at: number }
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
const answers: number[] = [];

let f: Fidelity;
const ATTEMPTS = 4;
const BASE_DELAY_MS = 40;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, at: Date.now() });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/finch`;
  f = await startFidelity({ webhookUrl: receiverUrl, eventDelayMs: 0, webhookRetry: { attempts: ATTEMPTS, baseDelayMs: BASE_DELAY_MS } });
});

afterAll(async () => {
  await f?.emulator.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

beforeEach(() => {
  answers.length = 0;
});

const headersOf = (delivery: Received) => delivery.headers as Record<string, string>;
const eventsOf = (connection_id: string) =>
  received.map((delivery) => JSON.parse(delivery.body) as Finch.WebhookEvent & { event_type: string }).filter((event) => event.connection_id === connection_id);

async function until<T>(read: () => T, done: (value: T) => boolean, ms = 3_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const send = (body: Record<string, unknown>) => control(f.emulator, 'POST', '/_emulator/webhooks', body);

describe(`every event type the SDK defines (${DOCS.webhooks})`, () => {
  test('the emulator sends exactly the SDK\'s event types', () => {
    expect(covered.every(Boolean)).toBe(true);
    expect([...WEBHOOK_EVENT_TYPES].sort()).toEqual([...SDK_EVENT_TYPES].sort());
  });

  test.each(SDK_EVENT_TYPES)('%s: signed as Finch signs, unwrapped by the SDK, with the fields its type requires', async (type) => {
    const { connection_id, grant } = await connect(f, { products: ['company', 'directory', 'payment', 'pay_statement'] });
    await until(() => eventsOf(connection_id), (events) => events.length >= 2); // the initial syncs, out of the way
    const sent = await send({ type, connection_id });
    expect(sent.json).toEqual({ delivered: true, status: 200, event_id: expect.stringMatching(/^msg_/) });

    const delivery = received.find((candidate) => candidate.headers['finch-event-id'] === sent.json.event_id)!;
    expect(() => f.finch.webhooks.verifySignature(delivery.body, headersOf(delivery))).not.toThrow();
    const event: Finch.WebhookEvent = f.finch.webhooks.unwrap(delivery.body, headersOf(delivery));
    expect(event.event_type).toBe(type);
    expect(shapeProblems(event, BASE_SHAPE)).toEqual([]);
    expect(event).toMatchObject({ connection_id, company_id: grant.company_id, account_id: grant.account_id });
    // entity_id is the entity the data belongs to, not the company.
    expect(event.entity_id).toBe(grant.entity_ids[0]);
    expect(event.entity_id).not.toBe(event.company_id);

    const kind = type.split('.')[0] as keyof typeof DATA_SHAPES;
    expect(shapeProblems(event.data, DATA_SHAPES[kind])).toEqual([]);
    if (kind === 'account') expect(shapeProblems((event as Finch.AccountUpdateEvent).data?.authentication_method, { type: AUTH_TYPES })).toEqual([]);
    if (kind === 'payment') expect((event as Finch.PaymentEvent).data?.pay_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    if (kind === 'job') expect((event as Finch.JobCompletionEvent).data?.job_url).toContain((event as Finch.JobCompletionEvent).data?.job_id);
  });

  test('a signature made with another secret, or a changed body, is refused by the SDK', async () => {
    const { connection_id } = await connect(f);
    const sent = await send({ type: 'company.updated', connection_id });
    const delivery = received.find((candidate) => candidate.headers['finch-event-id'] === sent.json.event_id)!;
    expect(() => f.finch.webhooks.unwrap(delivery.body, headersOf(delivery), Buffer.from('another secret, 24 bytes').toString('base64'))).toThrow(/signature/);
    expect(() => f.finch.webhooks.unwrap(delivery.body.replace(connection_id, 'x'), headersOf(delivery))).toThrow(/signature/);
  });
});

describe(`a receiver that does not answer 2xx gets the event again, with backoff, a bounded number of times (${DOCS.webhooks})`, () => {
  test('two 500s, then a 200: three attempts of the same signed event, each wait longer than the last', async () => {
    const { connection_id } = await connect(f);
    await until(() => eventsOf(connection_id), (events) => events.length >= 1);
    answers.push(500, 503);
    const sent = await send({ type: 'directory.updated', connection_id });
    expect(sent.json).toEqual({ delivered: false, status: 500, event_id: sent.json.event_id, retrying: true });

    const mine = () => received.filter((delivery) => delivery.headers['finch-event-id'] === sent.json.event_id);
    const attempts = await until(mine, (list) => list.length >= 3);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((attempt) => attempt.body)).size).toBe(1);
    for (const attempt of attempts) expect(() => f.finch.webhooks.verifySignature(attempt.body, headersOf(attempt))).not.toThrow();
    const [first, second, third] = attempts.map((attempt) => attempt.at);
    expect(second - first).toBeGreaterThanOrEqual(BASE_DELAY_MS - 5);
    expect(third - second).toBeGreaterThanOrEqual(2 * BASE_DELAY_MS - 5);

    const listed = (await control(f.emulator, 'GET', '/_emulator/webhooks')).json.deliveries
      .find((delivery: { event_id: string }) => delivery.event_id === sent.json.event_id);
    expect(listed).toMatchObject({ state: 'delivered', origin: 'control', event_type: 'directory.updated', connection_id, url: receiverUrl });
    expect(listed.attempts.map((attempt: { attempt: number; status: number }) => [attempt.attempt, attempt.status])).toEqual([[1, 500], [2, 503], [3, 200]]);
  });

  test(`a receiver that keeps failing gets ${ATTEMPTS} attempts, then none: the delivery is failed`, async () => {
    const { connection_id } = await connect(f);
    await until(() => eventsOf(connection_id), (events) => events.length >= 1);
    answers.push(...Array(ATTEMPTS + 2).fill(500));
    const sent = await send({ type: 'company.updated', connection_id });
    const mine = () => received.filter((delivery) => delivery.headers['finch-event-id'] === sent.json.event_id);
    await until(mine, (list) => list.length >= ATTEMPTS);
    // Long enough for a fifth attempt (the next wait would be 2^4 × base) to have come.
    await new Promise((resolve) => setTimeout(resolve, 20 * BASE_DELAY_MS));
    expect(mine()).toHaveLength(ATTEMPTS);
    const listed = f.emulator.webhooks().find((delivery) => delivery.event_id === sent.json.event_id)!;
    expect(listed.state).toBe('failed');
    expect(listed.attempts.map((attempt) => attempt.status)).toEqual(Array(ATTEMPTS).fill(500));
    answers.length = 0;
  });

  test('an unreachable receiver is retried too; retry: false sends once', async () => {
    const { connection_id } = await connect(f);
    const unreachable = await send({ type: 'company.updated', connection_id, url: 'http://127.0.0.1:9/hook' });
    expect(unreachable).toMatchObject({ status: 502, json: { delivered: false, retrying: true } });
    const once = await send({ type: 'company.updated', connection_id, url: 'http://127.0.0.1:9/hook', retry: false });
    expect(once.json).not.toHaveProperty('retrying');
    const listed = await until(() => f.emulator.webhooks().find((delivery) => delivery.event_id === unreachable.json.event_id)!,
      (delivery) => delivery.attempts.length >= 2);
    expect(listed.attempts[1]).toMatchObject({ attempt: 2, status: null, error: expect.any(String) });
    expect(f.emulator.webhooks().find((delivery) => delivery.event_id === once.json.event_id)).toMatchObject({ state: 'failed', attempts: [expect.anything()] });
  });
});

describe(`events Finch sends by itself (${DOCS.webhooks})`, () => {
  const types = (connection_id: string) => eventsOf(connection_id).map((event) => event.event_type);

  test('a new connection: job.initial_data_sync_org.succeeded and …_payroll.succeeded for the products granted, once', async () => {
    const both = await connect(f, { products: ['company', 'directory', 'payment', 'pay_statement'] });
    const org = await connect(f, { products: ['company', 'directory'] });
    await until(() => types(both.connection_id), (list) => list.length >= 2);
    await until(() => types(org.connection_id), (list) => list.length >= 1);
    expect(types(both.connection_id).sort()).toEqual(['job.initial_data_sync_org.succeeded', 'job.initial_data_sync_payroll.succeeded']);
    expect(types(org.connection_id)).toEqual(['job.initial_data_sync_org.succeeded']);
    for (const delivery of received.filter((candidate) => candidate.body.includes(both.connection_id))) {
      expect(() => f.finch.webhooks.unwrap(delivery.body, headersOf(delivery))).not.toThrow();
    }
    // A reauthentication, or the same credentials again, is not a first sync.
    const session = await f.finch.connect.sessions.reauthenticate({ connection_id: org.connection_id, redirect_uri: REDIRECT_URI });
    await connectWith(session.connect_url);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(f.emulator.webhooks().filter((delivery) => delivery.connection_id === org.connection_id && delivery.origin === 'finch')).toHaveLength(1);
  });

  test('a status set through the sandbox control: account.updated with that status; the same status again sends nothing', async () => {
    const { connection_id, token } = await connect(f, { products: ['company'] });
    await until(() => types(connection_id), (list) => list.length >= 1);
    const sandbox = f.finch.withOptions({ accessToken: token }).sandbox.connections.accounts;
    await sandbox.update({ connection_status: 'reauth' });
    await sandbox.update({ connection_status: 'reauth' });
    await sandbox.update({ connection_status: 'error_permissions' });
    const updates = await until(() => eventsOf(connection_id).filter((event) => event.event_type === 'account.updated'), (list) => list.length >= 2);
    expect(updates.map((event) => (event as Finch.AccountUpdateEvent).data)).toEqual([
      { status: 'reauth', authentication_method: { type: 'credential' } },
      { status: 'error_permissions', authentication_method: { type: 'credential' } },
    ]);
  });

  test('an assisted connection: no sync while pending; connected by the sandbox, account.updated and its first sync', async () => {
    const session = await f.finch.connect.sessions.new({ customer_id: `assisted-${process.pid}`, customer_name: 'Assisted', products: ['company'], manual: true, redirect_uri: REDIRECT_URI });
    const { connection_id, token } = await connectWith(session.connect_url);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(types(connection_id)).toEqual([]);
    await f.finch.withOptions({ accessToken: token }).sandbox.connections.accounts.update({ connection_status: 'connected' });
    const events = await until(() => eventsOf(connection_id), (list) => list.length >= 2);
    expect(events.map((event) => event.event_type).sort()).toEqual(['account.updated', 'job.initial_data_sync_org.succeeded']);
    expect(events.find((event) => event.event_type === 'account.updated')?.data).toEqual({ status: 'connected', authentication_method: { type: 'assisted' } });
  });

  test('after /disconnect, account.updated reports the disconnected state (a status the page lists and the SDK\'s type does not)', async () => {
    const { connection_id, token } = await connect(f, { products: ['company'] });
    await until(() => types(connection_id), (list) => list.length >= 1);
    await f.finch.withOptions({ accessToken: token }).account.disconnect();
    const [update] = await until(() => eventsOf(connection_id).filter((event) => event.event_type === 'account.updated'), (list) => list.length >= 1);
    expect((update as { data: unknown }).data).toEqual({ status: 'disconnected', authentication_method: { type: 'credential' } });
  });

  test('the emulator\'s own status control is silent unless told to notify', async () => {
    const { connection_id } = await connect(f, { products: ['company'] });
    await until(() => types(connection_id), (list) => list.length >= 1);
    await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}`, { status: 'reauth' });
    await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}`, { status: 'error_no_account_setup', notify: true });
    const updates = await until(() => eventsOf(connection_id).filter((event) => event.event_type === 'account.updated'), (list) => list.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(updates.map((event) => (event as Finch.AccountUpdateEvent).data?.status)).toEqual(['error_no_account_setup']);
  });
});

/** The hosted page, then the code exchange, for a session made by the test. */
async function connectWith(connectUrl: string) {
  const grant = await f.finch.accessTokens.create({ code: await authorize(connectUrl), redirect_uri: REDIRECT_URI });
  return { connection_id: grant.connection_id, token: grant.access_token };
}
