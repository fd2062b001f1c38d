// The Finch data adapter against a tiny local HTTP server standing in for Finch: what exactly goes
// out (URL, headers, body), what comes back, and that it never goes anywhere but Finch's origin.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SdkFinchDataGateway } from '#adapters/finch-data.js';
import { FinchDeadlineExceeded, FinchTimeout, FinchUnavailable, PathNotAllowed } from '#core/errors.js';
import { statusOf } from '#http/errors.js';
import { testBudget } from '../../support/budget.js';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }
type Reply = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

async function fakeFinch(reply: (seen: Seen) => Reply) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      const answer = reply(entry);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

async function setup(reply: (seen: Seen) => Reply, timeoutMs = 2000) {
  const finch = await fakeFinch(reply);
  servers.push(finch);
  return { finch, gateway: new SdkFinchDataGateway({ baseURL: finch.url, timeoutMs, budget: testBudget() }) };
}

describe('what goes out', () => {
  test('the token as Bearer, Finch-API-Version, the validated query; never the caller\'s Authorization or other headers', async () => {
    // The SDK would read client credentials from the environment: the data client must not use them.
    process.env.FINCH_CLIENT_ID = 'env-client';
    process.env.FINCH_CLIENT_SECRET = 'env-secret';
    const { finch, gateway } = await setup(() => ({ status: 200, body: '{"individuals":[]}' }));
    const answer = await gateway.forward({
      method: 'GET', path: '/employer/directory', query: { limit: '2', entity_ids: ['e1', 'e2'] },
      headers: { accept: 'application/json', authorization: 'Bearer caller-jwt', cookie: 'session=1', 'finch-api-version': 'x' },
    }, async () => 'tok-123');
    expect(answer).toEqual({ status: 200, body: { individuals: [] }, headers: {} });
    expect(finch.seen).toHaveLength(1);
    const [request] = finch.seen;
    const url = new URL(request.url, finch.url);
    expect(url.pathname).toBe('/employer/directory');
    expect(url.searchParams.get('limit')).toBe('2');
    expect(url.searchParams.getAll('entity_ids[]')).toEqual(['e1', 'e2']);
    expect(request.headers.authorization).toBe('Bearer tok-123');
    expect(request.headers['finch-api-version']).toBe('2020-09-17');
    expect(request.headers.cookie).toBeUndefined();
    expect(JSON.stringify(request.headers)).not.toMatch(/caller-jwt|env-secret|Basic/);
    delete process.env.FINCH_CLIENT_ID;
    delete process.env.FINCH_CLIENT_SECRET;
  });

  test('a POST carries its JSON body and is sent once, even when Finch answers 500', async () => {
    const { finch, gateway } = await setup(() => ({ status: 500, body: '{"code":500,"name":"server_error"}' }));
    const answer = await gateway.forward({
      method: 'POST', path: '/employer/individual', query: {}, body: { requests: [{ individual_id: 'i1' }] }, headers: {},
    }, async () => 'tok');
    expect(answer).toMatchObject({ status: 500, body: { name: 'server_error' } });
    expect(finch.seen).toHaveLength(1);
    expect(finch.seen[0].method).toBe('POST');
    expect(finch.seen[0].headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(finch.seen[0].body)).toEqual({ requests: [{ individual_id: 'i1' }] });
  });

  test('a URL off Finch\'s origin is refused before anything is sent', async () => {
    const other = await fakeFinch(() => ({ status: 200, body: '{}' }));
    servers.push(other);
    const { finch, gateway } = await setup(() => ({ status: 200, body: '{}' }));
    await expect(gateway.forward({ method: 'GET', path: `${other.url}/employer/company`, query: {}, headers: {} }, async () => 'tok'))
      .rejects.toBeInstanceOf(PathNotAllowed);
    expect(other.seen).toHaveLength(0);
    expect(finch.seen).toHaveLength(0);
  });

  test('a redirect is never followed (it could carry the token elsewhere)', async () => {
    const other = await fakeFinch(() => ({ status: 200, body: '{"stolen":true}' }));
    servers.push(other);
    const { gateway } = await setup(() => ({ status: 302, headers: { location: `${other.url}/employer/company` } }));
    await expect(gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {} }, async () => 'tok'))
      .rejects.toBeInstanceOf(FinchUnavailable);
    expect(other.seen).toHaveLength(0);
  });
});

describe('what comes back', () => {
  test('Finch\'s error status and JSON body as data, with only retry-after and finch-request-id passed on', async () => {
    const { gateway } = await setup(() => ({
      status: 429, body: '{"code":429,"name":"rate_limit_error"}',
      headers: { 'retry-after': '3', 'finch-request-id': 'req-1', 'set-cookie': 'x=y', server: 'finch' },
    }));
    const answer = await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {} }, async () => 'tok');
    expect(answer).toEqual({ status: 429, body: { code: 429, name: 'rate_limit_error' }, headers: { 'retry-after': '3', 'finch-request-id': 'req-1' } });
  });

  test('Finch\'s freshness headers are passed on (Headers: Finch-Data-Retrieved, Finch-Last-Attempted-Update-Date/-Result)', async () => {
    const { gateway } = await setup(() => ({
      status: 200, body: '{}',
      headers: {
        'finch-data-retrieved': '2026-01-02T03:04:05Z', 'finch-last-attempted-update-date': '2026-01-03T00:00:00Z',
        'finch-last-attempted-update-result': 'partial_error', 'finch-other': 'x',
      },
    }));
    const answer = await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {} }, async () => 'tok');
    expect(answer.headers).toEqual({
      'finch-data-retrieved': '2026-01-02T03:04:05Z', 'finch-last-attempted-update-date': '2026-01-03T00:00:00Z', 'finch-last-attempted-update-result': 'partial_error',
    });
  });

  test('untilDeadline: a read waits for Finch past its per-call timeout, up to the deadline', async () => {
    const { gateway } = await setup(() => ({ status: 200, body: '{"ok":true}', delayMs: 600 }), 200);
    const answer = await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {}, deadline: Date.now() + 5000, untilDeadline: true }, async () => 'tok');
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
  });

  test('a body that is not JSON comes back as null', async () => {
    const { gateway } = await setup(() => ({ status: 502, body: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } }));
    expect(await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {} }, async () => 'tok'))
      .toMatchObject({ status: 502, body: null });
  });

  test('a timeout is FinchTimeout, answered 504', async () => {
    const { gateway } = await setup(() => ({ status: 200, body: '{}', delayMs: 1500 }), 200);
    const error = await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {} }, async () => 'tok').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinchTimeout);
    expect(statusOf(error)).toBe(504);
  });

  test('a deadline sooner than the timeout cuts the call there: a slow answer due after it is a 504, not awaited', async () => {
    const { finch, gateway } = await setup(() => ({ status: 200, body: '{}', delayMs: 3000 }), 8000);
    const error = await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {}, deadline: Date.now() + 200 }, async () => 'tok')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinchDeadlineExceeded);
    expect(statusOf(error)).toBe(504);
    expect(finch.seen).toHaveLength(1);
  });

  test('a deadline already past: nothing is sent, and the answer is a 504', async () => {
    const { finch, gateway } = await setup(() => ({ status: 200, body: '{}' }));
    const error = await gateway.forward({ method: 'GET', path: '/employer/company', query: {}, headers: {}, deadline: Date.now() - 1 }, async () => 'tok')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinchDeadlineExceeded);
    expect(statusOf(error)).toBe(504);
    expect(finch.seen).toHaveLength(0);
  });
});
