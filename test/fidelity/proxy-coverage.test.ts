// Every Finch data route the backend's proxy allowlists (functions/core/proxy.ts PROXY_ROUTES) is
// an SDK method the data fidelity tests drive, and the emulator serves it: a route added to the
// allowlist without an emulated endpoint and a test fails here.
import { PROXY_ROUTES, proxyRouteKey } from '#core/proxy-routes.js';
import { type Fidelity, connect, startFidelity } from './support.js';

/** Allowlisted route → the SDK method that calls it and the test file that checks it. */
const COVERED: Record<string, string> = {
  'GET /employer/company': 'hris.company.retrieve (hris-data.test.ts)',
  'GET /employer/directory': 'hris.directory.list (hris-data.test.ts)',
  'POST /employer/individual': 'hris.individuals.retrieveMany (hris-data.test.ts)',
  'POST /employer/employment': 'hris.employments.retrieveMany (hris-data.test.ts)',
  'GET /employer/payment': 'hris.payments.list (payroll.test.ts)',
  'POST /employer/pay-statement': 'hris.payStatements.retrieveMany (payroll.test.ts)',
  'GET /employer/pay-statement-item': 'hris.payStatementItem.list (payroll.test.ts)',
  'GET /employer/pay-statement-item/rule': 'hris.payStatementItem.rules.list (payroll.test.ts)',
  'GET /employer/benefits': 'hris.benefits.list (benefits.test.ts)',
  'GET /employer/benefits/meta': 'hris.benefits.listSupportedBenefits (benefits.test.ts)',
  'GET /employer/benefits/{benefit_id}': 'hris.benefits.retrieve (benefits.test.ts)',
  'GET /employer/benefits/{benefit_id}/enrolled': 'hris.benefits.individuals.enrolledIDs (benefits.test.ts)',
  'GET /employer/benefits/{benefit_id}/individuals': 'hris.benefits.individuals.retrieveManyBenefits (benefits.test.ts)',
  'GET /employer/documents': 'hris.documents.list (documents.test.ts)',
  'GET /employer/documents/{document_id}': 'hris.documents.retreive (documents.test.ts)',
  'GET /employer/pay-groups': 'payroll.payGroups.list (payroll.test.ts)',
  'GET /employer/pay-groups/{pay_group_id}': 'payroll.payGroups.retrieve (payroll.test.ts)',
  'POST /employer/benefits': 'hris.benefits.create (benefits.test.ts)',
  'POST /employer/benefits/register': 'hris.benefits.register (benefits.test.ts)',
  'POST /employer/benefits/{benefit_id}': 'hris.benefits.update (benefits.test.ts)',
  'POST /employer/benefits/{benefit_id}/individuals': 'hris.benefits.individuals.enrollMany (benefits.test.ts)',
  'DELETE /employer/benefits/{benefit_id}/individuals': 'hris.benefits.individuals.unenrollMany (benefits.test.ts)',
};

let f: Fidelity;
beforeAll(async () => { f = await startFidelity(); });
afterAll(async () => { await f?.emulator.close(); });

describe('the proxy\'s allowlist and the emulator', () => {
  test('every allowlisted route is an SDK method a data fidelity test drives', () => {
    expect(PROXY_ROUTES.map(proxyRouteKey).filter((key) => !COVERED[key])).toEqual([]);
  });

  test('the emulator serves every allowlisted route (no 404 route_not_found, no 405)', async () => {
    const { token } = await connect(f, { products: ['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement', 'benefits', 'documents'] });
    const unknown = 'c0ffee00-0000-4000-8000-000000000000';
    const bodies: Record<string, unknown> = {
      'POST /employer/individual': { requests: [{ individual_id: unknown }] },
      'POST /employer/employment': { requests: [{ individual_id: unknown }] },
      'POST /employer/pay-statement': { requests: [{ payment_id: unknown }] },
      'POST /employer/benefits/{benefit_id}/individuals': [{ individual_id: unknown }],
      'DELETE /employer/benefits/{benefit_id}/individuals': { individual_ids: [unknown] },
    };
    const answers: Array<[string, number, unknown]> = [];
    for (const route of PROXY_ROUTES) {
      const key = proxyRouteKey(route);
      const query = route.template === '/employer/payment' ? '?start_date=2024-01-01&end_date=2024-12-31' : '';
      const response = await fetch(`${f.emulator.url}${route.template.replace(/\{[^}]+\}/g, unknown)}${query}`, {
        method: route.method,
        headers: { authorization: `Bearer ${token}`, 'finch-api-version': '2020-09-17', 'content-type': 'application/json' },
        body: route.method === 'GET' ? undefined : JSON.stringify(bodies[key] ?? {}),
      });
      const body = await response.json() as { finch_code?: string };
      answers.push([key, response.status, body.finch_code]);
    }
    expect(answers.filter(([, status, finch_code]) => status === 405 || finch_code === 'route_not_found')).toEqual([]);
  });
});
