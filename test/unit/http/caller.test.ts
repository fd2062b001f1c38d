import { type CallerSettings, hasScope, resolveCaller } from '#http/caller.js';
import { statusOf } from '#http/errors.js';

const jwt = (claims: Record<string, unknown>) => ({ claims });
// The configuration's defaults (functions/adapters/config.ts), spelled out: resolveCaller has none of its own.
const settings: CallerSettings = { customerIdClaim: 'customer_id', customerNameClaim: 'customer_name', adminScope: 'connections:admin', adminClientIds: new Set() };

/** The status the HTTP layer answers the caller's refusal with. */
function refusal(resolve: () => unknown): number | 'not refused' {
  try {
    resolve();
  } catch (error) {
    return statusOf(error);
  }
  return 'not refused';
}

describe('caller from the JWT authorizer context', () => {
  test('no claims → 401', () => expect(refusal(() => resolveCaller(undefined, undefined, settings))).toBe(401));

  test('the customer claim must match the customer id pattern → 403', () => {
    for (const bad of [undefined, '', 'acme~west', '-acme', 'a'.repeat(256), 'ac me', 42]) {
      expect(refusal(() => resolveCaller(jwt({ customer_id: bad }), undefined, settings))).toBe(403);
    }
  });

  test('a non-admin may repeat its own customer id, not name another', () => {
    expect(resolveCaller(jwt({ customer_id: 'acme' }), 'acme', settings)).toEqual({ customer_id: 'acme', admin: false, actor: 'acme', customer_name: undefined });
    expect(refusal(() => resolveCaller(jwt({ customer_id: 'acme' }), 'globex', settings))).toBe(403);
  });

  test('the admin scope must be a whole word', () => {
    expect(resolveCaller(jwt({ scope: 'openid connections:admin' }), 'globex', settings)).toEqual({ customer_id: 'globex', admin: true, actor: 'admin' });
    expect(resolveCaller(jwt({ scope: '[openid connections:admin]' }), 'globex', settings).admin).toBe(true);
    expect(refusal(() => resolveCaller(jwt({ scope: 'connections:admin2', customer_id: 'acme' }), 'globex', settings))).toBe(403);
  });

  test('an admin must name the customer', () => {
    expect(refusal(() => resolveCaller(jwt({ scope: 'connections:admin' }), undefined, settings))).toBe(400);
  });

  test('customer_name comes from its claim', () => {
    expect(resolveCaller(jwt({ customer_id: 'acme', customer_name: 'Acme Inc' }), undefined, settings).customer_name).toBe('Acme Inc');
  });

  test('the scope claim is split on spaces only: a word with a comma or a stray bracket is another scope', () => {
    // RFC 6749 §3.3: scope tokens are space-delimited and may themselves hold `,`, `[` and `]`.
    for (const scope of ['read connections:admin,', 'connections:admin,read', ',connections:admin', 'connections:admin]', '[connections:admin', 'read [connections:admin', 'read,connections:admin]']) {
      expect(hasScope(scope, null, 'connections:admin')).toBe(false);
      expect(refusal(() => resolveCaller(jwt({ scope }), 'globex', settings))).toBe(403);
      expect(resolveCaller(jwt({ scope, customer_id: 'acme' }), undefined, settings)).toMatchObject({ customer_id: 'acme', admin: false });
    }
  });

  test('a scope array claim, and the "[a b]" string API Gateway flattens it into, are read word by word', () => {
    expect(hasScope(['openid', 'connections:admin'], null, 'connections:admin')).toBe(true);
    expect(hasScope(['connections:admin,'], null, 'connections:admin')).toBe(false);
    expect(hasScope('[connections:admin]', null, 'connections:admin')).toBe(true);
    expect(hasScope('[openid connections:admin]', null, 'connections:admin')).toBe(true);
    expect(hasScope('[openid connections:admin,]', null, 'connections:admin')).toBe(false);
    expect(hasScope('[[connections:admin]]', null, 'connections:admin')).toBe(false);
    expect(hasScope(undefined, ['openid', 'connections:admin'], 'connections:admin')).toBe(true);
  });
});

describe('ADMIN_CLIENT_IDS: the admin scope counts only for the listed clients', () => {
  const listed = { ...settings, adminClientIds: new Set(['svc-billing', 'svc-ops']) };

  test('a listed client_id or azp makes the admin scope count', () => {
    expect(resolveCaller(jwt({ scope: 'connections:admin', client_id: 'svc-billing' }), 'globex', listed)).toMatchObject({ customer_id: 'globex', admin: true });
    expect(resolveCaller(jwt({ scope: 'connections:admin', azp: 'svc-ops' }), 'globex', listed)).toMatchObject({ customer_id: 'globex', admin: true });
  });

  test('another client, no client claim, or a client_id and azp that disagree: not an admin', () => {
    for (const claims of [
      { client_id: 'some-other-app' },
      { azp: 'some-other-app' },
      {},
      { client_id: 'some-other-app', azp: 'svc-billing' },
      { client_id: 'svc-billing', azp: 'some-other-app' },
      { client_id: ['svc-billing'] },
    ]) {
      expect(refusal(() => resolveCaller(jwt({ scope: 'connections:admin', ...claims }), 'globex', listed))).toBe(403);
      // With a customer claim of its own it is that customer's caller, never an admin.
      expect(resolveCaller(jwt({ scope: 'connections:admin', customer_id: 'acme', ...claims }), undefined, listed)).toMatchObject({ customer_id: 'acme', admin: false });
    }
  });

  test('without ADMIN_CLIENT_IDS the scope alone decides, as before', () => {
    expect(resolveCaller(jwt({ scope: 'connections:admin', client_id: 'any-app' }), 'globex', settings).admin).toBe(true);
  });
});
