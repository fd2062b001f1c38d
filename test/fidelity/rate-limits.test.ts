// The emulator enforces Finch's documented rate limits exactly when switched on (DOCS.rateLimits):
// each product's requests of the application over a rolling 60 seconds (20; 12 for payment, pay
// statements and pay groups), answered 429 rate_limit_exceeded_error / finch_application_rl; and
// 1,000 requests from one IP address in 5 minutes, then a 60-minute penalty, finch_api_ip_rl. Off
// by default, so the other suites are not limited; its clock moves by control, so no test waits.
import { DOCS, connect, control, rejection, startFidelity, type Fidelity } from './support.js';

let f: Fidelity;
let token: string;
beforeAll(async () => {
  // The emulator's clock stands still: only the control moves the limits' clock, so no outcome
  // depends on how fast the test runs.
  const start = Date.now();
  f = await startFidelity({ now: () => start });
  ({ token } = await connect(f, { products: ['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement'] }));
});
afterAll(() => f.emulator.close());
beforeEach(() => control(f.emulator, 'POST', '/_emulator/rate-limits', { reset: true, enforce: true }));
afterEach(() => control(f.emulator, 'POST', '/_emulator/rate-limits', { enforce: false }));

const client = () => f.finch.withOptions({ accessToken: token });
const advance = (ms: number) => control(f.emulator, 'POST', '/_emulator/rate-limits', { advance_ms: ms });
const calls = async (n: number, call: () => Promise<unknown>) => {
  const outcomes: Array<'ok' | string> = [];
  for (let i = 0; i < n; i++) outcomes.push(await call().then(() => 'ok', (error: { status?: number; error?: { finch_code?: string } }) => `${error.status} ${error.error?.finch_code}`));
  return outcomes;
};

describe(`per application and product, a rolling minute (${DOCS.rateLimits})`, () => {
  test('directory: 20 a minute, the 21st refused with Finch\'s body; 60 s after the first, one more', async () => {
    const outcomes = await calls(21, () => client().hris.directory.list());
    expect(outcomes.slice(0, 20).every((outcome) => outcome === 'ok')).toBe(true);
    expect(outcomes[20]).toBe('429 finch_application_rl');
    const refused = await rejection(client().hris.directory.list());
    expect(refused.error).toEqual({ code: 429, name: 'rate_limit_exceeded_error', message: 'Too many requests.', finch_code: 'finch_application_rl' });
    // Still inside the window of the first twenty.
    await advance(59_999);
    expect(await calls(1, () => client().hris.directory.list())).toEqual(['429 finch_application_rl']);
    await advance(1);
    expect(await calls(21, () => client().hris.directory.list())).toEqual([...Array(20).fill('ok'), '429 finch_application_rl']);
  });

  test('a sliding window: 10 at 0 s and 10 at 30 s; at 60 s only the first ten have left', async () => {
    await calls(10, () => client().hris.company.retrieve());
    await advance(30_000);
    await calls(10, () => client().hris.company.retrieve());
    expect(await calls(1, () => client().hris.company.retrieve())).toEqual(['429 finch_application_rl']);
    await advance(30_000);
    expect(await calls(11, () => client().hris.company.retrieve())).toEqual([...Array(10).fill('ok'), '429 finch_application_rl']);
  });

  test('each product has its own window; payment and pay statements 12, and the refused ones do not count', async () => {
    const payments = () => client().hris.payments.list({ start_date: '2024-01-01', end_date: '2024-12-31' });
    expect(await calls(14, payments)).toEqual([...Array(12).fill('ok'), '429 finch_application_rl', '429 finch_application_rl']);
    expect(await calls(1, () => client().hris.directory.list())).toEqual(['ok']);
    await advance(60_000);
    expect(await calls(1, payments)).toEqual(['ok']);
    const state = (await control(f.emulator, 'GET', '/_emulator/rate-limits')).json;
    expect(state).toMatchObject({ enforce: true, seen: { payment: 15, directory: 1, ip: 16 }, refused: { finch_application_rl: 2 } });
  });
});

describe(`per IP address: 1,000 requests in 5 minutes, then 60 minutes of nothing (${DOCS.rateLimits})`, () => {
  test('the 1,001st request within 5 minutes is refused finch_api_ip_rl, and so is every request for the next 60 minutes', async () => {
    // Spread over products (and /introspect) so no product limit is met first: 4 minutes, 250 a minute.
    for (let minute = 0; minute < 4; minute++) {
      const outcomes = await calls(250, () => client().account.introspect());
      expect(outcomes.every((outcome) => outcome === 'ok')).toBe(true);
      await advance(60_000);
    }
    expect(await calls(1, () => client().account.introspect())).toEqual(['429 finch_api_ip_rl']);
    // Any endpoint, a product with room left included, and the code exchange's and sessions' too.
    expect(await calls(1, () => client().hris.company.retrieve())).toEqual(['429 finch_api_ip_rl']);
    expect((await rejection(f.finch.connect.sessions.new({ customer_id: 'blocked', customer_name: 'Blocked', products: ['company'] }))).status).toBe(429);
    await advance(60 * 60_000 - 1);
    expect(await calls(1, () => client().account.introspect())).toEqual(['429 finch_api_ip_rl']);
    await advance(1);
    expect(await calls(1, () => client().account.introspect())).toEqual(['ok']);
  });
});

test('off (the default for every other suite): no limit, every request still counted by product', async () => {
  await control(f.emulator, 'POST', '/_emulator/rate-limits', { enforce: false });
  expect((await calls(30, () => client().hris.directory.list())).every((outcome) => outcome === 'ok')).toBe(true);
  expect((await control(f.emulator, 'GET', '/_emulator/rate-limits')).json).toMatchObject({ enforce: false, seen: { directory: 30 } });
});
