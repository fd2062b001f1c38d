// Finch's error table, written here from "Error Types" and "Rate Limits" (not copied from the
// emulator): every name and finch_code can be answered by a fault, reaches the SDK as the error
// class its status maps to with Finch's body, and the errors the emulator answers by itself use
// the table's names. 429s carry no Retry-After unless a fault sends one: Finch documents none.
import Finch, {
  APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, PermissionDeniedError, RateLimitError,
  UnprocessableEntityError,
} from '@tryfinch/finch-api';
import { ERROR_TABLE } from '#local/finch-emulator/errors.js';
import { DOCS, type Fidelity, REDIRECT_URI, connect, control, newCustomer, rejection, startFidelity } from './support.js';

/** [status, name, finch_codes] as Finch's pages list them. */
const DOCUMENTED: ReadonlyArray<[number, string, readonly string[]]> = [
  [400, 'invalid_grant_error', []],
  [400, 'bad_request', ['invalid_request']],
  [401, 'invalid_token_error', []],
  [401, 'invalid_request_error', []],
  [401, 'authentication_error', ['reauthenticate_user', 'account_setup_required']],
  [401, 'invalid_client_error', []],
  [401, 'unauthorized_request_error', []],
  [402, 'payment_required', ['payment_required']],
  [403, 'error_permissions', ['insufficient_account_permissions']],
  [403, 'insufficient_scope_error', []],
  [404, 'not_found_error', ['item_not_found', 'benefit_not_found', 'individual_not_found', 'payment_not_found']],
  [408, 'client_connection_closed', []],
  [422, 'unprocessable_request_error', ['unsupported_parameters']],
  // Rate Limits: the application's per-product limit, the IP limits (API and auth, 60-minute penalty), the provider's.
  [429, 'rate_limit_exceeded_error', ['finch_application_rl', 'finch_api_ip_rl', 'finch_auth_ip_rl', 'upstream_rate_limit_exceeded']],
  [500, 'server_error', []],
  [501, 'not_implemented_error', []],
  [502, 'bad_gateway_error', []],
  [502, 'upstream_provider_error', []],
];

/** The SDK's class for a status (core/error.ts: APIError.generate). */
type ErrorClass = new (...args: never[]) => APIError;
function sdkClassFor(status: number): ErrorClass {
  const classes: Record<number, ErrorClass> = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError, 422: UnprocessableEntityError, 429: RateLimitError,
  };
  return classes[status] ?? (status >= 500 ? InternalServerError : APIError);
}

const cases = DOCUMENTED.flatMap(([status, name, codes]) =>
  (codes.length ? codes : [null]).map((finch_code) => ({ status, name, finch_code, label: finch_code ?? '(no finch_code)' })));

let f: Fidelity;
let client: Finch;
beforeAll(async () => {
  f = await startFidelity({ autoEvents: false });
  client = f.finch.withOptions({ accessToken: (await connect(f)).token });
});
afterAll(async () => { await f?.emulator.close(); });
afterEach(async () => { await control(f.emulator, 'DELETE', '/_emulator/faults'); });

const fault = (spec: Record<string, unknown>) => control(f.emulator, 'POST', '/_emulator/faults', { method: 'GET', path: '/introspect', ...spec });

describe(`the error table (${DOCS.errorTypes})`, () => {
  test('the emulator knows every documented name with its finch_codes, and no other', () => {
    expect(ERROR_TABLE.map((row) => [row.status, row.name, row.finch_codes])).toEqual(DOCUMENTED);
  });

  test.each(cases)('$status $name $label: a fault answers it; the SDK raises its status\'s class with Finch\'s body', async ({ status, name, finch_code }) => {
    expect((await fault({ error: name, ...(finch_code ? { finch_code } : {}) })).status).toBe(201);
    const error = await rejection(client.account.introspect());
    expect(error).toBeInstanceOf(sdkClassFor(status));
    expect(error.status).toBe(status);
    expect(error.error).toEqual({ code: status, name, message: expect.any(String), ...(finch_code ? { finch_code } : {}) });
    expect(error.headers?.get('retry-after')).toBeNull();
    expect(error.headers?.get('finch-request-id')).toEqual(expect.any(String));
  });

  test.each([
    [402, 'payment_required', 'payment_required'], [429, 'rate_limit_exceeded_error', 'finch_application_rl'], [500, 'server_error', undefined],
    [501, 'not_implemented_error', undefined], [502, 'bad_gateway_error', undefined], [404, 'not_found_error', 'item_not_found'],
  ])('a fault with only status %d answers the table\'s %s', async (status, name, finch_code) => {
    await fault({ status });
    expect((await rejection(client.account.introspect())).error).toEqual({ code: status, name, message: expect.any(String), ...(finch_code ? { finch_code } : {}) });
  });

  test('a fault refuses a name or finch_code the table does not have, and a status that contradicts the name', async () => {
    expect((await fault({ error: 'rate_limit_exceeded_error', finch_code: 'finch_token_rl' })).json).toMatchObject({ code: 400, message: expect.stringContaining('finch_application_rl') });
    expect((await fault({ error: 'too_many_requests' })).status).toBe(400);
    expect((await fault({ error: 'server_error', status: 503 })).status).toBe(400);
    expect(f.emulator.state().faults).toEqual([]);
  });

  test('the errors the emulator answers by itself are rows of the table', async () => {
    const seen: Array<[number, string, string | undefined]> = [];
    const record = (error: APIError) => seen.push([error.status as number, (error.error as { name: string }).name, (error.error as { finch_code?: string }).finch_code]);
    const wrongSecret = new Finch({ clientID: 'x', clientSecret: 'y', baseURL: f.emulator.url, maxRetries: 0, accessToken: null });
    record(await rejection(wrongSecret.connect.sessions.new({ customer_id: newCustomer(), customer_name: 'Acme', products: ['company'] })));
    record(await rejection(f.finch.connect.sessions.new({ customer_id: newCustomer(), customer_name: 'Acme', products: [] })));
    record(await rejection(f.finch.accessTokens.create({ code: 'no-such-code', redirect_uri: REDIRECT_URI })));
    record(await rejection(f.finch.withOptions({ accessToken: 'not-a-token' }).account.introspect()));
    record(await rejection(f.finch.connect.sessions.reauthenticate({ connection_id: '00000000-0000-4000-8000-000000000000' })));
    const documented = (status: number, name: string, code: string | undefined) =>
      DOCUMENTED.some(([s, n, codes]) => s === status && n === name && (code === undefined || codes.includes(code)));
    expect(seen.filter(([status, name, code]) => !documented(status, name, code))).toEqual([]);
    expect(seen.map(([, name]) => name)).toEqual(['invalid_client_error', 'bad_request', 'invalid_grant_error', 'invalid_token_error', 'not_found_error']);
  });
});

describe(`429s (${DOCS.rateLimits})`, () => {
  test.each(['finch_application_rl', 'finch_api_ip_rl', 'finch_auth_ip_rl', 'upstream_rate_limit_exceeded'])(
    '%s: rate_limit_exceeded_error, no Retry-After by default; a fault can send one', async (finch_code) => {
      await fault({ error: 'rate_limit_exceeded_error', finch_code });
      const bare = await rejection(client.account.introspect());
      expect(bare).toBeInstanceOf(RateLimitError);
      expect(bare.error).toMatchObject({ code: 429, name: 'rate_limit_exceeded_error', finch_code });
      expect(bare.headers?.get('retry-after')).toBeNull();

      // The IP limits' penalty is 60 minutes: a Retry-After a test chooses to send says so.
      await fault({ error: 'rate_limit_exceeded_error', finch_code, headers: { 'Retry-After': '3600' } });
      expect((await rejection(client.account.introspect())).headers?.get('retry-after')).toBe('3600');
    });

  test('the emulator\'s old shape stays available by fault: rate_limit_error with Retry-After: 1 (or without it)', async () => {
    await fault({ error: 'rate_limit_error' });
    const legacy = await rejection(client.account.introspect());
    expect(legacy.error).toEqual({ code: 429, name: 'rate_limit_error', message: expect.any(String) });
    expect(legacy.headers?.get('retry-after')).toBe('1');
    await fault({ error: 'rate_limit_error', headers: { 'retry-after': null } });
    expect((await rejection(client.account.introspect())).headers?.get('retry-after')).toBeNull();
  });

  test('without Retry-After the SDK retries a 429 on its own backoff: each retry is another request to Finch', async () => {
    await fault({ status: 429, times: 2 });
    const before = f.emulator.state().calls['GET /introspect'] ?? 0;
    const started = Date.now();
    const error = await rejection(client.withOptions({ maxRetries: 1 }).account.introspect());
    expect(error).toBeInstanceOf(RateLimitError);
    expect(f.emulator.state().calls['GET /introspect'] - before).toBe(2);
    // The SDK's default backoff (0.5 s, jittered): nowhere near an IP limit's 60-minute penalty.
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
