// What the warm runs invoke, per function of lib/routes.ts: one or more routes, each with the fakes
// seeded through the core's own functions and a check of every answer (a fast error is not a
// result). A function without an entry here is reported as "no warm scenario".
import { handleCallback } from '#core/callback.js';
import type { Caller, CoreDeps } from '#core/deps.js';
import { createConnectSession } from '#core/sessions.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataRequest, FinchDataResponse } from '#core/ports/finch-data.js';
import type { HttpEvent, HttpResult } from '#http/stack.js';
import type { FakeFinch } from '../test/support/fakes.js';
import type { MemoryTable } from '../test/support/memory-stores.js';
import { apiEvent } from './events.js';

export interface ScenarioKit {
  /** The fakes, with the container's real settings and clock, for seeding through the core. */
  deps: CoreDeps;
  store: MemoryTable;
  finch: FakeFinch;
  /** How many distinct invocations the run will make (warm-up included). */
  count: number;
}

export interface PreparedScenario {
  event(i: number): HttpEvent;
  /** null when the answer is the one this route gives on success. */
  check(result: HttpResult): string | null;
}

export interface WarmScenario {
  route: string;
  prepare(kit: ScenarioKit): Promise<PreparedScenario>;
}

/** Finch's data API answering every allowlisted read at once (test/support/fakes.ts has no fake of it). */
class CannedFinchData implements FinchDataGateway {
  async forward(request: FinchDataRequest, accessToken: AccessTokenSource): Promise<FinchDataResponse> {
    // Every read is granted and sent, so the token is decrypted as the real gateway would.
    await accessToken();
    return { status: 200, body: { id: 'company-1', legal_name: 'Acme Payroll LLC', path: request.path }, headers: { 'finch-request-id': 'req-1' } };
  }
}

/** Fakes for container fields outside `app.deps`, by field name. */
export const containerFakes = (): Record<string, unknown> => ({ finchData: new CannedFinchData() });

const CUSTOMER = 'warm-acme';
const claims = { customer_id: CUSTOMER, sub: 'warm-user' };
const caller = { customer_id: CUSTOMER, admin: false, actor: 'warm-user' } as Caller;

const status = (expected: number) => (result: HttpResult) =>
  result.statusCode === expected ? null : `expected ${expected}, got ${result.statusCode}: ${String(result.body).slice(0, 200)}`;

/** A Connect session whose code the fake Finch will exchange for `connectionId`. */
async function startConnect(kit: ScenarioKit, connectionId: string) {
  const started = await createConnectSession(kit.deps, caller, { flow: 'redirect' });
  kit.finch.issue(`code-${connectionId}`, { connection_id: connectionId, customer_id: started.finch_customer_id });
  return { state: started.state, code: `code-${connectionId}` };
}

async function seedConnection(kit: ScenarioKit, connectionId: string): Promise<void> {
  const { state, code } = await startConnect(kit, connectionId);
  const { result } = await handleCallback(kit.deps, { flow: 'redirect', state, code });
  if (result.status !== 'connected') throw new Error(`seeding ${connectionId} failed: ${JSON.stringify(result)}`);
}

export const WARM_SCENARIOS: Record<string, WarmScenario[]> = {
  'create-session': [{
    route: 'POST /connect/sessions',
    prepare: async () => ({
      event: () => apiEvent('POST', '/connect/sessions', { claims, body: { products: ['company', 'directory'] } }),
      check: status(201),
    }),
  }],
  reauthenticate: [{
    route: 'POST /connect/sessions/reauthenticate',
    prepare: async (kit) => {
      await seedConnection(kit, 'conn-reauth');
      return {
        event: () => apiEvent('POST', '/connect/sessions/reauthenticate', { claims, body: { connection_id: 'conn-reauth' } }),
        check: status(201),
      };
    },
  }],
  callback: [{
    route: 'GET /connect/callback',
    prepare: async (kit) => {
      const started: Array<{ state: string; code: string }> = [];
      for (let i = 0; i < kit.count; i++) started.push(await startConnect(kit, `conn-cb-${i}`));
      return {
        event: (i) => apiEvent('GET', `/connect/callback?${new URLSearchParams(started[i]).toString()}`),
        check: (result) => (result.statusCode === 302 && String(result.headers?.location).includes('status=connected')
          ? null : `expected 302 status=connected, got ${result.statusCode} ${String(result.headers?.location ?? result.body).slice(0, 200)}`),
      };
    },
  }],
  connections: [{
    route: 'GET /connections',
    prepare: async (kit) => {
      for (let i = 0; i < 30; i++) await seedConnection(kit, `conn-list-${i}`);
      return { event: () => apiEvent('GET', '/connections?limit=25', { claims }), check: status(200) };
    },
  }, {
    route: 'GET /connections/{connection_id}',
    prepare: async (kit) => {
      await seedConnection(kit, 'conn-get');
      return { event: () => apiEvent('GET', '/connections/conn-get', { claims }), check: status(200) };
    },
  }],
  'finch-proxy': [{
    route: 'GET /finch/{path+}',
    prepare: async (kit) => {
      await seedConnection(kit, 'conn-proxy');
      return {
        event: () => apiEvent('GET', '/finch/employer/company', { claims, headers: { 'finch-connection-id': 'conn-proxy' } }),
        check: status(200),
      };
    },
  }],
  webhook: [{
    route: 'POST /webhooks/finch',
    prepare: async (kit) => {
      await seedConnection(kit, 'conn-hook');
      return {
        event: (i) => apiEvent('POST', '/webhooks/finch', {
          body: { event_type: 'directory.updated', connection_id: 'conn-hook', company_id: 'company-1', account_id: 'account-1', data: {} },
          // The fake verifier (test/support/fakes.ts) accepts this signature.
          headers: { 'finch-event-id': `evt-warm-${i}`, 'finch-timestamp': String(Math.floor(Date.now() / 1000)), 'finch-signature': 'valid' },
        }),
        check: status(200),
      };
    },
  }],
};
