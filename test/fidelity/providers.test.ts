// providers.list (GET /providers) through the official SDK, checked against the SDK's
// ProviderListResponse (data-shapes.ts) and Finch's "Providers" reference: no access token needed.
import type { ProviderListResponse } from '@tryfinch/finch-api/resources/providers';
import { PROVIDERS } from '#local/finch-emulator/index.js';
import { type Fidelity, connect, startFidelity } from './support.js';
import { DATA_DOCS, ProviderSchema, SupportedBenefitSchema, expectShape } from './data-shapes.js';

let f: Fidelity;
beforeAll(async () => { f = await startFidelity(); });
afterAll(async () => { await f?.emulator.close(); });

describe(`providers.list (${DATA_DOCS.providers})`, () => {
  test('answers every provider the hosted page offers, in the SDK\'s shape, without an access token', async () => {
    // The SDK asks for a bearer token unless told to send no Authorization; Finch needs none.
    const providers: ProviderListResponse[] = (await f.finch.providers.list({ headers: { Authorization: null } })).items;
    for (const provider of providers) expectShape(ProviderSchema, provider);
    expect(providers.map((provider) => provider.id)).toEqual(PROVIDERS.map((provider) => provider.id));
    expect(providers.map((provider) => provider.display_name)).toEqual(PROVIDERS.map((provider) => provider.name));
    const raw = await fetch(`${f.emulator.url}/providers`, { headers: { 'finch-api-version': '2020-09-17' } });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual(providers);
  });

  test('a token may ask too; each authentication method\'s benefits_support describes the supported benefit types', async () => {
    const { token } = await connect(f, { products: ['company'] });
    const providers = (await f.finch.withAccessToken(token).providers.list()).items;
    const gusto = providers.find((provider) => provider.id === 'gusto')!;
    expect(gusto.products).toEqual(expect.arrayContaining(['company', 'directory', 'individual', 'payment', 'pay_statement', 'benefits']));
    const support = gusto.authentication_methods![0].benefits_support as Record<string, { supported_features: unknown; supported_operations: unknown }>;
    expect(Object.keys(support)).toEqual(expect.arrayContaining(['401k', 's125_medical']));
    for (const [type, entry] of Object.entries(support)) {
      expectShape(SupportedBenefitSchema, { type, ...entry.supported_features as object });
      expect(entry.supported_operations).toEqual({ company_benefits: expect.any(Object), individual_benefits: expect.any(Object) });
    }
    const hrisOnly = providers.find((provider) => provider.id === 'bamboo_hr')!;
    expect(hrisOnly.products).not.toContain('benefits');
  });
});
