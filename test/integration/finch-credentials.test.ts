// A rotated client secret: Finch answers 401 with the cached one; the gateway refetches once and goes on.
import { SdkFinchGateway } from '#adapters/finch-gateway.js';
import type { FinchCredentials, FinchCredentialsSource } from '#adapters/secrets.js';
import { statusOf } from '#http/errors.js';
import { startFinchEmulator, type RunningEmulator } from '#local/finch-emulator/index.js';
import { testBudget } from '../support/budget.js';

let emulator: RunningEmulator;
beforeAll(async () => { emulator = await startFinchEmulator({ port: 0, clientId: 'id', clientSecret: 'rotated' }); });
afterAll(async () => { await emulator.close(); });

class RotatingSource implements FinchCredentialsSource {
  fetches = 0;
  private current: FinchCredentials = { client_id: 'id', client_secret: 'stale', webhook_secret: null };
  async get(refresh = false) {
    if (refresh || this.fetches === 0) {
      this.fetches++;
      if (refresh) this.current = { ...this.current, client_secret: 'rotated' };
    }
    return this.current;
  }
}

test('a 401 from Finch refetches the credentials once and retries the session call', async () => {
  const source = new RotatingSource();
  const gateway = new SdkFinchGateway(source, { baseURL: emulator.url, budget: testBudget() });
  const session = await gateway.createConnectSession({ customer_id: 'rot-co', customer_name: 'Rot', products: ['company'], minutes_to_expire: 10 });
  expect(session.connect_url).toContain(emulator.url);
  expect(source.fetches).toBe(2);
  expect(emulator.state().calls['POST /connect/sessions']).toBe(2);
});

test('the code exchange is never sent twice, even for a 401', async () => {
  const source = new RotatingSource();
  const gateway = new SdkFinchGateway(source, { baseURL: emulator.url, budget: testBudget() });
  const before = emulator.state().calls['POST /auth/token'] ?? 0;
  expect(await gateway.exchangeCode('some-code', undefined).catch(statusOf)).toBe(502);
  expect((emulator.state().calls['POST /auth/token'] ?? 0) - before).toBe(1);
});
