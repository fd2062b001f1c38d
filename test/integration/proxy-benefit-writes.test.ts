// Finch's benefit writes through the proxy, enabled as a deployment would enable them, with the body
// shapes the official SDK sends: `enrollMany` posts its `individuals` as a bare JSON array
// (@tryfinch/finch-api resources/hris/benefits/individuals.js), every other write a JSON object.
import { RETURN_ORIGIN, authorizeAtFinch, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    FINCH_PROXY_WRITE_PATHS: 'POST /employer/benefits,POST /employer/benefits/{benefit_id}/individuals,DELETE /employer/benefits/{benefit_id}/individuals',
  });
});
afterAll(async () => { await h?.close(); });

const writer = { customer_id: 'benefits-co', sub: 'hr-admin', scope: 'connections:write' };
const admin = { sub: 'svc', scope: 'connections:admin' };
let connectionId: string;

beforeAll(async () => {
  // The benefits product is beyond the default ceiling: an admin starts the session.
  const session = await h.invoke('POST /connect/sessions', {
    claims: admin,
    body: { customer_id: 'benefits-co', return_to: `${RETURN_ORIGIN}/`, products: ['company', 'directory', 'benefits'] },
  });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const res = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
  connectionId = new URL(res.headers.location).searchParams.get('connection_id')!;
});

const finch = (method: string, path: string, body?: unknown) =>
  h.invoke(`${method} /finch${path}`, { claims: writer, headers: { 'finch-connection-id': connectionId }, body });

describe('benefit writes with the SDK\'s body shapes', () => {
  test('enrollMany\'s bare array is forwarded as an array and Finch enrolls the individuals', async () => {
    const created = await finch('POST', '/employer/benefits', { description: 'Dental', type: 's125_dental', frequency: 'every_paycheck' });
    expect(created.statusCode).toBe(200);
    const benefitId = created.json.benefit_id as string;
    const directory = await finch('GET', '/employer/directory');
    const individualId = directory.json.individuals[0].id as string;

    const enrolled = await finch('POST', `/employer/benefits/${benefitId}/individuals`, [
      { individual_id: individualId, configuration: { employee_deduction: { amount: 1000, type: 'fixed' } } },
    ]);
    expect(enrolled.statusCode).toBe(200);
    expect(enrolled.json).toMatchObject({ job_id: expect.any(String) });
    const ids = await finch('GET', `/employer/benefits/${benefitId}/enrolled`);
    expect(ids.json.individual_ids).toContain(individualId);
  });

  test('an object where Finch takes an array, or an array where it takes an object, is 400 and nothing is sent', async () => {
    const before = h.emulator.state().calls;
    const wrongObject = await finch('POST', '/employer/benefits/b1/individuals', { individuals: [] });
    expect(wrongObject.statusCode).toBe(400);
    expect(wrongObject.json.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'body', message: 'must be a JSON array' }] });
    const wrongArray = await finch('POST', '/employer/benefits', [{ description: 'Dental' }]);
    expect(wrongArray.statusCode).toBe(400);
    expect(wrongArray.json.error.details).toEqual([{ path: 'body', message: 'must be a JSON object' }]);
    expect(h.emulator.state().calls).toEqual(before);
  });
});
