// Finch's organization data through the official SDK: hris.company, hris.directory,
// hris.individuals and hris.employments (the first three are what the backend's proxy and
// /directory call), checked against the SDK's types (data-shapes.ts) and Finch's API reference,
// "Permissions", "Batch Requests" and "Error Types"; plus `entity_ids` on a multi-entity connection.
import Finch, { BadRequestError, PermissionDeniedError } from '@tryfinch/finch-api';
import type { Company } from '@tryfinch/finch-api/resources/hris/company';
import type { IndividualInDirectory } from '@tryfinch/finch-api/resources/hris/directory';
import type { EmploymentDataResponse } from '@tryfinch/finch-api/resources/hris/employments';
import type { IndividualResponse } from '@tryfinch/finch-api/resources/hris/individuals';
import { type Fidelity, REDIRECT_URI, authorize, connect, control, newCustomer, rejection, startFidelity } from './support.js';
import {
  BatchErrorSchema, CompanySchema, DATA_DOCS, DirectorySchema, EmploymentBodySchema, EmploymentResponseSchema, IndividualBodySchema,
  IndividualResponseSchema, expectShape,
} from './data-shapes.js';

let f: Fidelity;
beforeAll(async () => { f = await startFidelity(); });
afterAll(async () => { await f?.emulator.close(); });

const ORG = ['company', 'directory', 'individual', 'employment'] as const;

/** A second token for the same connection, through a reauthentication session as an employer would get one. */
async function anotherToken(connection_id: string): Promise<string> {
  const session = await f.finch.connect.sessions.reauthenticate({ connection_id, redirect_uri: REDIRECT_URI });
  const code = await authorize(session.connect_url);
  return (await f.finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI })).access_token;
}

async function everyone(client: Finch, query: Finch.HRIS.DirectoryListParams = {}): Promise<IndividualInDirectory[]> {
  const people: IndividualInDirectory[] = [];
  for await (const person of client.hris.directory.list(query)) people.push(person);
  return people;
}

describe(`hris.company.retrieve (${DATA_DOCS.company})`, () => {
  test('answers the SDK\'s Company, the same for every token of the connection', async () => {
    const { token, connection_id, customer_id } = await connect(f, { products: [...ORG] });
    const company = await f.finch.withAccessToken(token).hris.company.retrieve() satisfies Company;
    expectShape(CompanySchema, company);
    expect(company).toMatchObject({ legal_name: `${customer_id} Inc`, ein: expect.stringMatching(/^\d{2}-\d{7}$/) });
    expect(await f.finch.withAccessToken(await anotherToken(connection_id)).hris.company.retrieve()).toEqual(company);
  });
});

describe(`hris.directory.list (${DATA_DOCS.directory})`, () => {
  test('250 people by default, paged by limit and offset with paging {count, offset}; the SDK walks every page', async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: [...ORG] })).token);
    const first = await client.hris.directory.list({ limit: 100 });
    expectShape(DirectorySchema, { paging: first.paging, individuals: first.individuals });
    expect(first.paging).toEqual({ count: 250, offset: 0 });
    expect(first.individuals).toHaveLength(100);
    expect(first.hasNextPage()).toBe(true);
    const second = await first.getNextPage();
    expect(second.paging).toEqual({ count: 250, offset: 100 });
    const last = await client.hris.directory.list({ limit: 100, offset: 200 });
    expect(last.individuals).toHaveLength(50);
    expect(last.hasNextPage()).toBe(false);

    const walked = await everyone(client, { limit: 100 });
    const all = (await client.hris.directory.list()).individuals;
    expect(walked.map((person) => person.id)).toEqual(all.map((person) => person.id));
    expect(new Set(all.map((person) => person.id)).size).toBe(250);
    for (const person of all) expectShape(DirectorySchema.shape.individuals.element, person);
    // One top of the org chart; every manager is someone in the directory.
    const ids = new Set(all.map((person) => person.id));
    expect(all.filter((person) => person.manager === null)).toHaveLength(1);
    expect(all.every((person) => person.manager === null || ids.has(person.manager.id))).toBe(true);
  });

  test('ids are stable across the tokens of one connection; another customer\'s connection has its own people', async () => {
    const mine = await connect(f, { products: [...ORG] });
    const theirs = await connect(f, { products: [...ORG] });
    const once = await everyone(f.finch.withAccessToken(mine.token));
    const again = await everyone(f.finch.withAccessToken(await anotherToken(mine.connection_id)));
    expect(again).toEqual(once);
    const other = await everyone(f.finch.withAccessToken(theirs.token));
    expect(other).toHaveLength(250);
    const mineIds = new Set(once.map((person) => person.id));
    expect(other.filter((person) => mineIds.has(person.id))).toEqual([]);
  });

  test(`a negative limit is 400 invalid_request (${DATA_DOCS.errorTypes})`, async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: [...ORG] })).token);
    const error = await rejection(client.hris.directory.list({ limit: -1 }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.error).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request' });
  });
});

describe(`hris.individuals.retrieveMany (${DATA_DOCS.individual}; ${DATA_DOCS.batch})`, () => {
  test('one answer per requested id, in order, each with its own code: an unknown id is 404 individual_not_found inside a 200', async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: [...ORG] })).token);
    const people = (await client.hris.directory.list()).individuals;
    const requests = [...people.map((person) => ({ individual_id: person.id })), { individual_id: 'c0ffee00-0000-4000-8000-000000000000' }];
    const { data, response } = await client.hris.individuals.retrieveMany({ requests }).withResponse();
    expect(response.status).toBe(200);
    const answers: IndividualResponse[] = data.responses;
    expect(answers.map((answer) => answer.individual_id)).toEqual(requests.map((request) => request.individual_id));
    for (const answer of answers) expectShape(IndividualResponseSchema, answer);
    for (const [index, person] of people.entries()) {
      expect(answers[index].code).toBe(200);
      const body = expectShape(IndividualBodySchema, answers[index].body);
      expect(body).toMatchObject({ id: person.id, first_name: person.first_name, last_name: person.last_name, ssn: null });
      expect(body.emails).toEqual([{ data: expect.stringMatching(/^[^@\s]+@[^@\s]+$/), type: 'work' }]);
    }
    expect(answers.at(-1)).toEqual({
      individual_id: requests.at(-1)!.individual_id, code: 404,
      body: { code: 404, name: 'not_found_error', finch_code: 'individual_not_found', message: expect.any(String) },
    });
    expectShape(BatchErrorSchema, answers.at(-1)!.body);
    // Some providers omit the date of birth: the emulator has people without one.
    expect(answers.some((answer) => answer.code === 200 && (answer.body as { dob: string | null }).dob === null)).toBe(true);
  });

  test('the SSN needs the ssn product and options.include ["ssn"] (the SDK\'s doc of `ssn`)', async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: [...ORG, 'ssn'] })).token);
    const [person] = (await client.hris.directory.list({ limit: 1 })).individuals;
    const without = await client.hris.individuals.retrieveMany({ requests: [{ individual_id: person.id }] });
    expect(without.responses[0].body).toMatchObject({ ssn: null });
    const withSsn = await client.hris.individuals.retrieveMany({ requests: [{ individual_id: person.id }], options: { include: ['ssn'] } });
    expect(withSsn.responses[0].body).toMatchObject({ ssn: expect.stringMatching(/^9\d{2}-\d{2}-\d{4}$/) });

    const noProduct = f.finch.withAccessToken((await connect(f, { products: [...ORG] })).token);
    const [other] = (await noProduct.hris.directory.list({ limit: 1 })).individuals;
    const refused = await noProduct.hris.individuals.retrieveMany({ requests: [{ individual_id: other.id }], options: { include: ['ssn'] } });
    expect(refused.responses[0].body).toMatchObject({ ssn: null });
  });

  test(`an empty batch is 400 invalid_request (${DATA_DOCS.errorTypes})`, async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: [...ORG] })).token);
    const error = await rejection(client.hris.individuals.retrieveMany({ requests: [] }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.error).toMatchObject({ finch_code: 'invalid_request' });
  });
});

describe(`hris.employments.retrieveMany (${DATA_DOCS.employment}; ${DATA_DOCS.batch})`, () => {
  test('every directory person has an employment that agrees with the directory; an unknown id is 404 inside the batch', async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: [...ORG] })).token);
    const people = (await client.hris.directory.list()).individuals;
    const requests = [...people.map((person) => ({ individual_id: person.id })), { individual_id: 'nobody' }];
    const answers: EmploymentDataResponse[] = (await client.hris.employments.retrieveMany({ requests })).responses;
    for (const answer of answers) expectShape(EmploymentResponseSchema, answer);
    for (const [index, person] of people.entries()) {
      const body = expectShape(EmploymentBodySchema, answers[index].body);
      expect(body).toMatchObject({
        id: person.id, first_name: person.first_name, last_name: person.last_name, is_active: person.is_active,
        manager: person.manager, department: { name: person.department?.name },
      });
      // The directory and the employment agree: who has left has an end date and is terminated.
      expect(body.end_date !== null).toBe(body.is_active === false);
      expect(body.employment_status === 'terminated').toBe(body.is_active === false);
      expect(body.income?.unit).toBe(body.employment?.type === 'contractor' ? 'monthly' : body.flsa_status === 'non_exempt' ? 'hourly' : 'yearly');
      expect(body.income_history?.at(-1)).toEqual(body.income);
    }
    const bodies = answers.slice(0, -1).map((answer) => answer.body as Finch.HRIS.EmploymentData.EmploymentDataResponseBody);
    // A realistic company: some contractors, some who left, some paid by the hour.
    expect(bodies.some((body) => body.employment?.type === 'contractor')).toBe(true);
    expect(bodies.some((body) => body.is_active === false)).toBe(true);
    expect(bodies.some((body) => body.flsa_status === 'non_exempt')).toBe(true);
    expect(answers.at(-1)).toMatchObject({ individual_id: 'nobody', code: 404, body: { name: 'not_found_error', finch_code: 'individual_not_found' } });
  });
});

describe(`a token reads only the products its connection granted (${DATA_DOCS.permissions}; ${DATA_DOCS.errorTypes})`, () => {
  test('each data resource without its product is 403 insufficient_scope_error', async () => {
    const client = f.finch.withAccessToken((await connect(f, { products: ['company'] })).token);
    const id = 'c0ffee00-0000-4000-8000-000000000000';
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['directory', () => client.hris.directory.list()],
      ['individual', () => client.hris.individuals.retrieveMany({ requests: [{ individual_id: id }] })],
      ['employment', () => client.hris.employments.retrieveMany({ requests: [{ individual_id: id }] })],
      ['payment', () => client.hris.payments.list({ start_date: '2024-01-01', end_date: '2024-12-31' })],
      ['payment (pay groups)', () => client.payroll.payGroups.list()],
      ['pay_statement', () => client.hris.payStatements.retrieveMany({ requests: [{ payment_id: id }] })],
      ['pay_statement (items)', () => client.hris.payStatementItem.list()],
      ['pay_statement (rules)', () => client.hris.payStatementItem.rules.list()],
      ['benefits', () => client.hris.benefits.list()],
      ['benefits (meta)', () => client.hris.benefits.listSupportedBenefits()],
      ['documents', () => client.hris.documents.list()],
    ];
    for (const [product, call] of calls) {
      const error = await rejection(call());
      expect([product, error]).toEqual([product, expect.any(PermissionDeniedError)]);
      expect([product, error.error]).toEqual([product, expect.objectContaining({ code: 403, name: 'insufficient_scope_error' })]);
    }
    expect(await client.hris.company.retrieve()).toMatchObject({ legal_name: expect.any(String) });
  });
});

describe(`entity_ids (${DATA_DOCS.multiEntity}; the SDK's doc: "Provide exactly one entity ID per request")`, () => {
  test('a single-entity connection answers its one entity (the token\'s entity_ids) and refuses another', async () => {
    const { token, grant } = await connect(f, { products: [...ORG] });
    const client = f.finch.withAccessToken(token);
    expect(grant.entity_ids).toHaveLength(1);
    const named = await client.hris.directory.list({ entity_ids: grant.entity_ids });
    expect(named.individuals).toEqual((await client.hris.directory.list()).individuals);
    const error = await rejection(client.hris.directory.list({ entity_ids: ['c0ffee00-0000-4000-8000-000000000000'] }));
    expect(error).toBeInstanceOf(BadRequestError);
  });

  test('a multi-entity connection answers the people and company of the entity named; none or two named is 400', async () => {
    const { token, connection_id } = await connect(f, { customer_id: newCustomer('multi'), products: [...ORG] });
    const configured = await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}/data`, { entities: 2 });
    expect(configured.status).toBe(200);
    const [east, west] = configured.json.entities as Array<{ id: string; name: string }>;
    const client = f.finch.withAccessToken(token);

    const eastPeople = await everyone(client, { entity_ids: [east.id], limit: 100 });
    const westPeople = await everyone(client, { entity_ids: [west.id], limit: 100 });
    expect(eastPeople.length + westPeople.length).toBe(250);
    const eastIds = new Set(eastPeople.map((person) => person.id));
    expect(westPeople.some((person) => eastIds.has(person.id))).toBe(false);
    const answers = await client.hris.individuals.retrieveMany({ entity_ids: [east.id], requests: [{ individual_id: westPeople[0].id }] });
    expect(answers.responses[0].code).toBe(404);

    const eastCompany = await client.hris.company.retrieve({ entity_ids: [east.id] });
    const westCompany = await client.hris.company.retrieve({ entity_ids: [west.id] });
    expectShape(CompanySchema, westCompany);
    expect(eastCompany.id).not.toBe(westCompany.id);
    expect(westCompany.legal_name).toContain(west.name);

    for (const entity_ids of [undefined, [east.id, west.id]]) {
      const error = await rejection(client.hris.directory.list(entity_ids ? { entity_ids } : {}));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.error).toMatchObject({ code: 400, finch_code: 'invalid_request' });
    }
  });
  test('a multi-entity connection\'s token names every entity (CreateAccessTokenResponse entity_ids: "entity IDs that can be accessed with this access token") and introspect lists them (Introspection entities)', async () => {
    const { token, connection_id } = await connect(f, { customer_id: newCustomer('multi-token'), products: [...ORG] });
    const configured = await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}/data`, { entities: 3 });
    const ids = (configured.json.entities as Array<{ id: string }>).map((entity) => entity.id);
    expect(ids).toHaveLength(3);
    // A new token of the connection (a reauthentication) is issued for all of them.
    const session = await f.finch.connect.sessions.reauthenticate({ connection_id, redirect_uri: REDIRECT_URI });
    const grant = await f.finch.accessTokens.create({ code: await authorize(session.connect_url), redirect_uri: REDIRECT_URI });
    expect(grant.entity_ids).toEqual(ids);
    expect(grant).toMatchObject({ connection_type: 'provider', company_id: expect.any(String) });
    const introspection = await f.finch.withAccessToken(token).account.introspect();
    expect(introspection.entities?.map((entity) => entity.id)).toEqual(ids);
    for (const entity of introspection.entities ?? []) {
      expect(entity).toEqual({ id: expect.any(String), name: expect.any(String), source_id: expect.any(String), status: 'connected' });
    }
    // Each of them reads through the token.
    for (const id of ids) await f.finch.withAccessToken(grant.access_token).hris.directory.list({ entity_ids: [id] });
  });
});
