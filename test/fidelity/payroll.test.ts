// Finch's payroll data through the official SDK: hris.payments, hris.payStatements,
// payroll.payGroups, hris.payStatementItem and its rules, checked against the SDK's types
// (data-shapes.ts) and Finch's API reference, "Batch Requests", "Data Syncs" (202 while pay
// statements are being fetched) and "Error Types".
import Finch, { BadRequestError, NotFoundError } from '@tryfinch/finch-api';
import type { Payment } from '@tryfinch/finch-api/resources/hris/payments';
import type { PayStatement, PayStatementData, PayStatementResponse } from '@tryfinch/finch-api/resources/hris/pay-statements';
import type { PayGroupListResponse, PayGroupRetrieveResponse } from '@tryfinch/finch-api/resources/payroll/pay-groups';
import { type Fidelity, connect, rejection, startFidelity } from './support.js';
import {
  DATA_DOCS, DeletedRuleSchema, PayGroupDetailSchema, PayGroupSchema, PayStatementItemSchema, PayStatementResponseSchema, PaymentSchema,
  RuleSchema, SyncInProgressSchema, expectShape,
} from './data-shapes.js';

let f: Fidelity;
beforeAll(async () => { f = await startFidelity(); });
afterAll(async () => { await f?.emulator.close(); });

const PAYROLL = ['directory', 'employment', 'payment', 'pay_statement'] as const;
const today = () => new Date().toISOString().slice(0, 10);
const yearsAgo = (years: number) => `${new Date().getUTCFullYear() - years}-01-01`;

async function payrollClient(): Promise<Finch> {
  return f.finch.withAccessToken((await connect(f, { products: [...PAYROLL] })).token);
}

/** Every statement of a payment, page after page; a payment still being fetched is asked again. */
async function statementsOf(client: Finch, payment_id: string): Promise<PayStatement[]> {
  const statements: PayStatement[] = [];
  for (let offset = 0, count = Infinity; offset < count;) {
    const [answer] = (await client.hris.payStatements.retrieveMany({ requests: [{ payment_id, offset, limit: 100 }] })).responses;
    if (answer.code === 202) continue;
    const body = answer.body as PayStatementData;
    statements.push(...body.pay_statements);
    count = body.paging.count!;
    offset += body.pay_statements.length;
  }
  return statements;
}

const total = (values: Array<number | null | undefined>) => values.reduce<number>((sum, value) => sum + (value ?? 0), 0);

describe(`hris.payments.list (${DATA_DOCS.payment})`, () => {
  test('the payments whose pay date is in the range, bi-weekly for employees and monthly for contractors, two years and the year to date back', async () => {
    const client = await payrollClient();
    const all: Payment[] = (await client.hris.payments.list({ start_date: yearsAgo(2), end_date: today() })).items;
    for (const payment of all) expectShape(PaymentSchema, payment);
    expect(all.every((payment) => payment.pay_date! >= yearsAgo(2) && payment.pay_date! <= today())).toBe(true);
    expect(all.map((payment) => payment.pay_date)).toEqual(all.map((payment) => payment.pay_date).sort());
    const frequencies = new Set(all.flatMap((payment) => payment.pay_frequencies));
    expect([...frequencies].sort()).toEqual(['bi_weekly', 'monthly']);
    expect(all.filter((payment) => payment.pay_frequencies?.includes('bi_weekly')).length).toBeGreaterThanOrEqual(52);

    const lastYear = `${new Date().getUTCFullYear() - 1}`;
    const inRange = (await client.hris.payments.list({ start_date: `${lastYear}-03-01`, end_date: `${lastYear}-03-31` })).items;
    expect(inRange.length).toBeGreaterThanOrEqual(3);
    expect(inRange).toEqual(all.filter((payment) => payment.pay_date! >= `${lastYear}-03-01` && payment.pay_date! <= `${lastYear}-03-31`));
  });

  test(`start_date and end_date are required (the SDK types them so): without them 400 invalid_request (${DATA_DOCS.errorTypes})`, async () => {
    const client = await payrollClient();
    const error = await rejection(client.hris.payments.list({ start_date: '2024-01-01' } as Finch.HRIS.PaymentListParams));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.error).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request' });
  });

  test('a payment is the sum of its pay statements, and each statement adds up (net = gross - employee taxes - deductions)', async () => {
    const client = await payrollClient();
    const lastYear = `${new Date().getUTCFullYear() - 1}`;
    const payments = (await client.hris.payments.list({ start_date: `${lastYear}-06-01`, end_date: `${lastYear}-06-30` })).items;
    const payment = payments.find((candidate) => candidate.pay_frequencies?.includes('bi_weekly'))!;
    const statements = await statementsOf(client, payment.id);
    expect(statements.map((statement) => statement.individual_id)).toEqual(payment.individual_ids);
    expect(statements.length).toBeGreaterThan(100);
    expect(total(statements.map((statement) => statement.gross_pay?.amount))).toBe(payment.gross_pay?.amount);
    expect(total(statements.map((statement) => statement.net_pay?.amount))).toBe(payment.net_pay?.amount);
    const employeeTaxes = statements.flatMap((statement) => statement.taxes ?? []).filter((tax) => !tax.employer);
    expect(total(employeeTaxes.map((tax) => tax.amount))).toBe(payment.employee_taxes?.amount);
    for (const statement of statements) {
      const gross = total((statement.earnings ?? []).map((earning) => earning?.amount));
      expect(statement.gross_pay?.amount).toBe(gross);
      const withheld = total((statement.taxes ?? []).filter((tax) => !tax.employer).map((tax) => tax.amount))
        + total((statement.employee_deductions ?? []).map((item) => item.amount));
      expect(statement.net_pay?.amount).toBe(gross - withheld);
    }
  });
});

describe(`hris.payStatements.retrieveMany (${DATA_DOCS.payStatement}; ${DATA_DOCS.batch}; ${DATA_DOCS.dataSyncs})`, () => {
  test('one answer per payment with its own code: a page of statements, or 404 payment_not_found for an unknown payment', async () => {
    const client = await payrollClient();
    const lastYear = `${new Date().getUTCFullYear() - 1}`;
    const [payment] = (await client.hris.payments.list({ start_date: `${lastYear}-01-01`, end_date: `${lastYear}-01-31` })).items;
    const unknown = 'c0ffee00-0000-4000-8000-000000000000';
    const { data, response } = await client.hris.payStatements.retrieveMany({ requests: [{ payment_id: payment.id }, { payment_id: unknown }] }).withResponse();
    expect(response.status).toBe(200);
    const answers: PayStatementResponse[] = data.responses;
    for (const answer of answers) expectShape(PayStatementResponseSchema, answer);
    expect(answers.map((answer) => [answer.payment_id, answer.code])).toEqual([[payment.id, 200], [unknown, 404]]);
    const body = answers[0].body as PayStatementData;
    // Finch's default page is 100 statements; paging counts them all.
    expect(body.paging).toEqual({ count: payment.individual_ids!.length, offset: 0 });
    expect(body.pay_statements).toHaveLength(Math.min(100, payment.individual_ids!.length));
    expect(answers[1].body).toEqual({ code: 404, name: 'not_found_error', finch_code: 'payment_not_found', message: expect.any(String) });
  });

  test('the newest payment answers 202 data_sync_in_progress (the SDK\'s body, word for word) while it is fetched, then its statements', async () => {
    const client = await payrollClient();
    const payments = (await client.hris.payments.list({ start_date: yearsAgo(1), end_date: today() })).items;
    const newest = payments.filter((payment) => payment.pay_frequencies?.includes('bi_weekly')).at(-1)!;
    const [first] = (await client.hris.payStatements.retrieveMany({ requests: [{ payment_id: newest.id }] })).responses;
    expect(first.code).toBe(202);
    expectShape(SyncInProgressSchema, first.body);
    const [again] = (await client.hris.payStatements.retrieveMany({ requests: [{ payment_id: newest.id }] })).responses;
    expect(again.code).toBe(200);
    expectShape(PayStatementResponseSchema, again);
  });

  test(`more than 10 payments, or none, is 400 invalid_request (the SDK's doc: "Maximum 10 payment_ids per request")`, async () => {
    const client = await payrollClient();
    const requests = Array.from({ length: 11 }, () => ({ payment_id: 'c0ffee00-0000-4000-8000-000000000000' }));
    for (const body of [{ requests }, { requests: [] }]) {
      const error = await rejection(client.hris.payStatements.retrieveMany(body));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.error).toMatchObject({ finch_code: 'invalid_request' });
    }
  });
});

describe(`payroll.payGroups (${DATA_DOCS.payGroups}; ${DATA_DOCS.payGroup})`, () => {
  test('list and retrieve answer the SDK\'s types; groups filter by individual and frequency; their members are the directory\'s active people', async () => {
    const client = await payrollClient();
    const groups: PayGroupListResponse[] = (await client.payroll.payGroups.list()).items;
    for (const group of groups) expectShape(PayGroupSchema, group);
    expect(groups.map((group) => group.pay_frequencies)).toEqual([['bi_weekly'], ['monthly']]);
    const details: PayGroupRetrieveResponse[] = await Promise.all(groups.map((group) => client.payroll.payGroups.retrieve(group.id)));
    for (const detail of details) expectShape(PayGroupDetailSchema, detail);
    const active = (await client.hris.directory.list()).individuals.filter((person) => person.is_active).map((person) => person.id);
    expect(details.flatMap((detail) => detail.individual_ids).sort()).toEqual([...active].sort());

    const contractor = details[1].individual_ids[0];
    expect((await client.payroll.payGroups.list({ individual_id: contractor })).items.map((group) => group.id)).toEqual([groups[1].id]);
    expect((await client.payroll.payGroups.list({ pay_frequencies: ['bi_weekly'] })).items.map((group) => group.id)).toEqual([groups[0].id]);
    const payments = (await client.hris.payments.list({ start_date: yearsAgo(1), end_date: today() })).items;
    expect(new Set(payments.flatMap((payment) => payment.pay_group_ids))).toEqual(new Set(groups.map((group) => group.id)));
  });

  test(`an unknown pay group is 404 item_not_found (${DATA_DOCS.errorTypes})`, async () => {
    const client = await payrollClient();
    const error = await rejection(client.payroll.payGroups.retrieve('c0ffee00-0000-4000-8000-000000000000'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({ code: 404, name: 'not_found_error', finch_code: 'item_not_found' });
  });
});

describe(`hris.payStatementItem.list (${DATA_DOCS.payStatementItems})`, () => {
  test('the distinct items of the pay statements, filtered by categories, name (partial, any case), type and last seen date', async () => {
    const client = await payrollClient();
    const items = (await client.hris.payStatementItem.list()).responses;
    for (const item of items) expectShape(PayStatementItemSchema, item);
    expect(new Set(items.map((item) => item.category))).toEqual(new Set(['earnings', 'taxes', 'employee_deductions', 'employer_contributions']));
    expect(items.find((item) => item.name === '401(k)')).toEqual({
      name: '401(k)', category: 'employee_deductions', attributes: { type: '401k', pre_tax: true, metadata: null },
    });
    const taxes = (await client.hris.payStatementItem.list({ categories: ['taxes'] })).responses;
    expect(taxes.length).toBeGreaterThan(0);
    expect(taxes.every((item) => item.category === 'taxes' && typeof item.attributes.employer === 'boolean')).toBe(true);
    expect((await client.hris.payStatementItem.list({ name: 'medic' })).responses.map((item) => item.name).sort())
      .toEqual(['Medical', 'Medical (Employer)', 'Medicare', 'Medicare (Employer)']);
    expect((await client.hris.payStatementItem.list({ type: 'fica' })).responses.every((item) => item.attributes.type === 'fica')).toBe(true);
    expect((await client.hris.payStatementItem.list({ end_date: '2000-01-01' })).responses).toEqual([]);
    // Every item's name shows on the statements of the latest payments.
    const payments = (await client.hris.payments.list({ start_date: yearsAgo(1), end_date: today() })).items.slice(-4, -2);
    const names = new Set((await Promise.all(payments.map((payment) => statementsOf(client, payment.id)))).flat()
      .flatMap((statement) => [...statement.earnings ?? [], ...statement.taxes ?? [], ...statement.employee_deductions ?? [], ...statement.employer_contributions ?? []])
      .map((item) => item?.name));
    expect(items.filter((item) => !names.has(item.name))).toEqual([]);
  });
});

describe(`hris.payStatementItem.rules (${DATA_DOCS.rules}; ${DATA_DOCS.createRule}; ${DATA_DOCS.getRules})`, () => {
  test('a rule attaches its metadata to the matching items and statements; it can be listed, updated and deleted', async () => {
    const client = await payrollClient();
    const created = await client.hris.payStatementItem.rules.create({
      conditions: [{ field: 'name', operator: 'equals', value: '401(k)' }],
      attributes: { metadata: { plan: 'Pre-Tax EE Deferral' } },
      entity_type: 'pay_statement_item',
    });
    expectShape(RuleSchema, created);
    expect(created).toMatchObject({ priority: 1, effective_start_date: null, effective_end_date: null });
    const listed = (await client.hris.payStatementItem.rules.list()).responses;
    expect(listed).toEqual([created]);

    const item = async () => (await client.hris.payStatementItem.list({ name: '401(k)', categories: ['employee_deductions'] })).responses[0];
    expect((await item()).attributes.metadata).toEqual({ plan: 'Pre-Tax EE Deferral' });
    const lastYear = `${new Date().getUTCFullYear() - 1}`;
    const [payment] = (await client.hris.payments.list({ start_date: `${lastYear}-05-01`, end_date: `${lastYear}-05-31` })).items;
    const deductions = (await statementsOf(client, payment.id)).flatMap((statement) => statement.employee_deductions ?? []);
    expect(deductions.filter((deduction) => deduction.name === '401(k)').every((deduction) => deduction.attributes?.metadata.plan === 'Pre-Tax EE Deferral')).toBe(true);
    expect(deductions.filter((deduction) => deduction.name === 'Medical').every((deduction) => deduction.attributes === undefined)).toBe(true);

    const updated = await client.hris.payStatementItem.rules.update(created.id!, { attributes: { metadata: { plan: 'EE 401(k)' } } } as Finch.HRIS.PayStatementItem.RuleUpdateParams);
    expectShape(RuleSchema, updated);
    expect((await item()).attributes.metadata).toEqual({ plan: 'EE 401(k)' });

    const deleted = await client.hris.payStatementItem.rules.delete(created.id!);
    expectShape(DeletedRuleSchema, deleted);
    expect((await client.hris.payStatementItem.rules.list()).responses).toEqual([]);
    expect((await item()).attributes.metadata).toBeNull();
    const error = await rejection(client.hris.payStatementItem.rules.delete(created.id!));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({ finch_code: 'item_not_found' });
  });
});
