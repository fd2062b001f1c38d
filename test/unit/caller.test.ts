import { resolveCaller } from '#http/caller.js';

const jwt = (claims: Record<string, unknown>) => ({ claims });

describe('caller from the JWT authorizer context', () => {
  test('no claims → 401', () => expect(() => resolveCaller(undefined, undefined)).toThrow(expect.objectContaining({ status: 401 })));

  test('the customer claim must match the customer id pattern → 403', () => {
    for (const bad of [undefined, '', 'acme~west', '-acme', 'a'.repeat(129), 'ac me', 42]) {
      expect(() => resolveCaller(jwt({ customer_id: bad }), undefined)).toThrow(expect.objectContaining({ status: 403 }));
    }
  });

  test('a non-admin may repeat its own customer id, not name another', () => {
    expect(resolveCaller(jwt({ customer_id: 'acme' }), 'acme')).toEqual({ customer_id: 'acme', admin: false, actor: 'acme', customer_name: undefined });
    expect(() => resolveCaller(jwt({ customer_id: 'acme' }), 'globex')).toThrow(expect.objectContaining({ status: 403 }));
  });

  test('the admin scope must be a whole word', () => {
    expect(resolveCaller(jwt({ scope: 'openid connections:admin' }), 'globex')).toEqual({ customer_id: 'globex', admin: true, actor: 'admin' });
    expect(resolveCaller(jwt({ scope: '[openid connections:admin]' }), 'globex').admin).toBe(true);
    expect(() => resolveCaller(jwt({ scope: 'connections:admin2', customer_id: 'acme' }), 'globex')).toThrow(expect.objectContaining({ status: 403 }));
  });

  test('an admin must name the customer', () => {
    expect(() => resolveCaller(jwt({ scope: 'connections:admin' }), undefined)).toThrow(expect.objectContaining({ status: 400 }));
  });

  test('customer_name comes from its claim', () => {
    expect(resolveCaller(jwt({ customer_id: 'acme', customer_name: 'Acme Inc' }), undefined).customer_name).toBe('Acme Inc');
  });
});
