// Finch's Documents product (beta, W-4 forms) through the official SDK: hris.documents.list and
// hris.documents.retreive (the SDK's spelling), checked against the SDK's types (data-shapes.ts)
// and Finch's "List Documents" and "Get Document" reference.
import Finch, { BadRequestError, NotFoundError } from '@tryfinch/finch-api';
import type { DocumentListResponse, DocumentRetreiveResponse } from '@tryfinch/finch-api/resources/hris/documents';
import { type Fidelity, connect, rejection, startFidelity } from './support.js';
import { DATA_DOCS, DocumentListSchema, W42005Schema, W42020Schema, expectShape } from './data-shapes.js';

let f: Fidelity;
beforeAll(async () => { f = await startFidelity(); });
afterAll(async () => { await f?.emulator.close(); });

async function documentsClient(): Promise<Finch> {
  return f.finch.withAccessToken((await connect(f, { products: ['directory', 'employment', 'documents'] })).token);
}

describe(`hris.documents.list (${DATA_DOCS.documents})`, () => {
  test('one W-4 per employee (none for contractors), paged by limit and offset, filtered by individual_ids and types', async () => {
    const client = await documentsClient();
    const all: DocumentListResponse = await client.hris.documents.list();
    expectShape(DocumentListSchema, all);
    const people = (await client.hris.directory.list()).individuals.map((person) => person.id);
    const employments = (await client.hris.employments.retrieveMany({ requests: people.map((individual_id) => ({ individual_id })) })).responses;
    const employees = employments
      .filter((answer) => (answer.body as Finch.HRIS.EmploymentData.EmploymentDataResponseBody).employment?.type === 'employee')
      .map((answer) => answer.individual_id);
    expect(all.documents.map((document) => document.individual_id)).toEqual(employees);
    expect(all.paging).toEqual({ count: employees.length, offset: 0 });
    for (const document of all.documents) expect(document.url).toBe(`${f.emulator.url}/employer/documents/${document.id}`);
    expect(new Set(all.documents.map((document) => document.type))).toEqual(new Set(['w4_2020', 'w4_2005']));

    const page = await client.hris.documents.list({ limit: 10, offset: 5 });
    expect(page.documents).toEqual(all.documents.slice(5, 15));
    expect(page.paging).toEqual({ count: employees.length, offset: 5 });
    const mine = await client.hris.documents.list({ individual_ids: [employees[0], employees[1]] });
    expect(mine.documents.map((document) => document.individual_id)).toEqual([employees[0], employees[1]]);
    const old = await client.hris.documents.list({ types: ['w4_2005'] });
    expect(old.documents.length).toBeGreaterThan(0);
    expect(old.documents.every((document) => document.type === 'w4_2005' && document.year < 2020)).toBe(true);
  });

  test(`an unknown type is 400 invalid_request (${DATA_DOCS.errorTypes})`, async () => {
    const client = await documentsClient();
    const error = await rejection(client.hris.documents.list({ types: ['w2'] as never }));
    expect(error).toBeInstanceOf(BadRequestError);
  });
});

describe(`hris.documents.retreive (${DATA_DOCS.document})`, () => {
  test('each form answers its type\'s shape (W42020 or W42005) for the individual it lists', async () => {
    const client = await documentsClient();
    const { documents } = await client.hris.documents.list();
    for (const type of ['w4_2020', 'w4_2005'] as const) {
      const listed = documents.find((document) => document.type === type)!;
      const form: DocumentRetreiveResponse = await client.hris.documents.retreive(listed.id);
      const parsed = form.type === 'w4_2020' ? expectShape(W42020Schema, form) : expectShape(W42005Schema, form);
      expect(parsed).toMatchObject({ type, year: listed.year, data: { individual_id: listed.individual_id } });
    }
  });

  test(`an unknown document is 404 item_not_found (${DATA_DOCS.errorTypes})`, async () => {
    const client = await documentsClient();
    const error = await rejection(client.hris.documents.retreive('c0ffee00-0000-4000-8000-000000000000'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({ code: 404, name: 'not_found_error', finch_code: 'item_not_found' });
  });
});
