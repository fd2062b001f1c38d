// Reads that outlast the gateway, in the core (functions/core/finch-reads.ts): the proxy's deadline
// (the Lambda's time left, capped at API Gateway's 29 s, less the reserve), the initial sync each
// allowlisted path waits on (Finch's "Webhooks": org = company, directory, individual, employment;
// payroll = payment, pay statement), and what Finch's 202 and a timeout become.
import { API_GATEWAY_TIMEOUT_MS, PROXY_RESERVE_MS, dataNotReady, forwardRead, initialSyncOf, readDeadline } from '#core/finch-reads.js';
import { FinchDeadlineExceeded, FinchReadTimedOut, FinchTimeout, FinchUnavailable } from '#core/errors.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import type { FinchDataGateway } from '#core/ports/finch-data.js';
import { PROXY_ROUTES } from '#core/proxy-routes.js';
import { fakeDeps } from '../../support/fakes.js';

const stored = (org: string | null, payroll: string | null, manual: boolean | null = null) => ({
  connection_id: 'conn-1', manual, initial_sync_completed_at: { org, payroll },
}) as StoredConnection;

describe('the proxy\'s read deadline', () => {
  test.each([
    ['the Lambda\'s 20 s', 20_000, 20_000 - PROXY_RESERVE_MS],
    ['a Lambda longer than API Gateway waits: capped at 29 s', 900_000, API_GATEWAY_TIMEOUT_MS - PROXY_RESERVE_MS],
    ['little time left', 1_000, 1_000 - PROXY_RESERVE_MS],
  ])('%s', (_what, remaining, budget) => {
    expect(readDeadline(1_000_000, remaining)).toBe(1_000_000 + budget);
  });
});

describe('the initial sync each allowlisted path waits on', () => {
  const expected: Record<string, 'org' | 'payroll' | null> = {
    '/employer/company': 'org', '/employer/directory': 'org', '/employer/individual': 'org', '/employer/employment': 'org',
    '/employer/payment': 'payroll', '/employer/pay-statement': 'payroll', '/employer/pay-statement-item': 'payroll',
    '/employer/pay-statement-item/rule': 'payroll', '/employer/pay-groups': 'payroll', '/employer/pay-groups/{pay_group_id}': 'payroll',
  };
  test.each([...new Set(PROXY_ROUTES.map((route) => route.template))])('%s', (template) => {
    expect(initialSyncOf(template)).toBe(expected[template] ?? null);
  });
});

describe('forwardRead', () => {
  const gateway = (answer: () => Promise<never> | Promise<{ status: number; body: unknown; headers: Record<string, string> }>): FinchDataGateway => ({ forward: answer });
  const request = { method: 'GET' as const, path: '/employer/directory', query: {}, headers: {} };

  test.each([['Finch\'s own timeout', new FinchTimeout()], ['the deadline\'s cut', new FinchDeadlineExceeded()]])('%s is FinchReadTimedOut naming the sync', async (_what, error) => {
    const { deps } = fakeDeps();
    const read = forwardRead({ ...deps, finchData: gateway(async () => { throw error; }) }, stored(null, null), '/employer/directory', request, async () => 'tok');
    await expect(read).rejects.toBeInstanceOf(FinchReadTimedOut);
    await expect(read).rejects.toMatchObject({ connection_id: 'conn-1', initial_sync: { sync: 'org', pending: true, completed_at: null } });
  });

  test('another failure is left as it is', async () => {
    const { deps } = fakeDeps();
    const read = forwardRead({ ...deps, finchData: gateway(async () => { throw new FinchUnavailable(); }) }, stored(null, null), '/employer/directory', request, async () => 'tok');
    await expect(read).rejects.not.toBeInstanceOf(FinchTimeout);
  });

  test('asks the gateway to wait until the deadline, not just Finch\'s per-call timeout', async () => {
    const { deps } = fakeDeps();
    const sent: unknown[] = [];
    const finchData: FinchDataGateway = { forward: async (sentRequest) => { sent.push(sentRequest); return { status: 200, body: {}, headers: {} }; } };
    await forwardRead({ ...deps, finchData }, stored(null, null), '/employer/directory', { ...request, deadline: 5 }, async () => 'tok');
    expect(sent).toEqual([{ ...request, deadline: 5, untilDeadline: true }]);
  });

  test('a 200 is Finch\'s answer as it came', async () => {
    const { deps } = fakeDeps();
    const answer = { status: 200, body: { individuals: [] }, headers: { 'finch-data-retrieved': '2026-01-01T00:00:00Z' } };
    await expect(forwardRead({ ...deps, finchData: gateway(async () => answer) }, stored(null, null), '/employer/directory', request, async () => 'tok')).resolves.toBe(answer);
  });
});

describe('Finch\'s 202', () => {
  test('says an assisted connection\'s first sync can take days, keeps Finch\'s headers and finch_code', () => {
    const answer = dataNotReady(stored('2026-01-01T00:00:00.000Z', null, true), '/employer/payment', {
      status: 202, body: { code: 202, name: 'accepted', finch_code: 'data_sync_in_progress', message: 'Finch\'s words' }, headers: { 'finch-request-id': 'r1' },
    });
    expect(answer).toEqual({
      status: 202, headers: { 'finch-request-id': 'r1' },
      body: {
        code: 202, name: 'accepted', finch_code: 'data_sync_in_progress', connection_id: 'conn-1', manual: true,
        initial_sync: { sync: 'payroll', pending: true, completed_at: null }, message: expect.stringMatching(/14 days.*connection\.initial_sync_completed/),
      },
    });
  });

  test.each([['no body', null], ['a body that is not Finch\'s', ['x']], ['an odd finch_code', { finch_code: 'DROP TABLE' }]])('%s: finch_code null, still a 202 that says so', (_what, body) => {
    expect(dataNotReady(stored(null, null), '/employer/benefits', { status: 202, body, headers: {} }).body).toMatchObject({ code: 202, finch_code: null, initial_sync: null });
  });
});
