// Finch's Deductions product (`/employer/benefits/*`) through the official SDK: hris.benefits
// (list, retrieve, listSupportedBenefits, create, register, update) and hris.benefits.individuals
// (enrolledIDs, retrieveManyBenefits, enrollMany, unenrollMany), checked against the SDK's types
// (data-shapes.ts), Finch's Deductions reference and "Error Types". The reads agree with what the
// pay statements deduct; the writes change what the reads answer.
import Finch, { NotFoundError, UnprocessableEntityError } from '@tryfinch/finch-api';
import type { CompanyBenefit } from '@tryfinch/finch-api/resources/hris/benefits/benefits';
import type { IndividualBenefit } from '@tryfinch/finch-api/resources/hris/benefits/individuals';
import type { PayStatementData } from '@tryfinch/finch-api/resources/hris/pay-statements';
import { type Fidelity, connect, rejection, startFidelity } from './support.js';
import {
  BenefitJobSchema, CompanyBenefitSchema, DATA_DOCS, EnrolledIdsSchema, EnrollmentSchema, IndividualBenefitSchema, JobSchema,
  SupportedBenefitSchema, expectShape,
} from './data-shapes.js';

let f: Fidelity;
beforeAll(async () => { f = await startFidelity(); });
afterAll(async () => { await f?.emulator.close(); });

async function benefitsClient(provider_id = 'gusto'): Promise<Finch> {
  return f.finch.withAccessToken((await connect(f, { products: ['directory', 'payment', 'pay_statement', 'benefits'], provider_id })).token);
}

const byType = async (client: Finch, type: string) => (await client.hris.benefits.list()).items.find((benefit) => benefit.type === type)!;

describe(`hris.benefits reads (${DATA_DOCS.deductions}; ${DATA_DOCS.getDeduction})`, () => {
  test('the company\'s benefits are the ones its pay statements deduct; each answers the SDK\'s CompanyBenefit', async () => {
    const client = await benefitsClient();
    const benefits: CompanyBenefit[] = (await client.hris.benefits.list()).items;
    for (const benefit of benefits) expectShape(CompanyBenefitSchema, benefit);
    expect(benefits.map((benefit) => benefit.type).sort()).toEqual(['401k', 's125_medical']);
    const retirement = benefits.find((benefit) => benefit.type === '401k')!;
    expect(retirement).toMatchObject({ frequency: 'every_paycheck', company_contribution: { type: 'match', tiers: [{ match: 10_000, threshold: 400 }] } });
    expect(await client.hris.benefits.retrieve(retirement.benefit_id)).toEqual(retirement);

    // Who is enrolled in the 401(k) is who has a 401(k) deduction on the newest ready payroll.
    const enrolled = await client.hris.benefits.individuals.enrolledIDs(retirement.benefit_id);
    expectShape(EnrolledIdsSchema, enrolled);
    const end = new Date().toISOString().slice(0, 10);
    const payments = (await client.hris.payments.list({ start_date: `${new Date().getUTCFullYear() - 1}-01-01`, end_date: end })).items
      .filter((payment) => payment.pay_frequencies?.includes('bi_weekly'));
    const payment = payments.at(-2)!;
    const [answer] = (await client.hris.payStatements.retrieveMany({ requests: [{ payment_id: payment.id, limit: 5000 }] })).responses;
    const statements = (answer.body as PayStatementData).pay_statements;
    const deducting = statements.filter((statement) => statement.employee_deductions?.some((deduction) => deduction.type === '401k'))
      .map((statement) => statement.individual_id);
    const active = new Set((await client.hris.directory.list()).individuals.filter((person) => person.is_active).map((person) => person.id));
    expect(deducting.filter((id) => active.has(id)).sort()).toEqual(enrolled.individual_ids.filter((id) => statements.some((s) => s.individual_id === id)).sort());
  });

  test(`an unknown benefit is 404 benefit_not_found (${DATA_DOCS.errorTypes})`, async () => {
    const client = await benefitsClient();
    const error = await rejection(client.hris.benefits.retrieve('c0ffee00-0000-4000-8000-000000000000'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({ code: 404, name: 'not_found_error', finch_code: 'benefit_not_found' });
  });

  test('listSupportedBenefits (GET /employer/benefits/meta) answers the provider\'s benefit types, as GET /providers lists them', async () => {
    const client = await benefitsClient('justworks');
    const supported = (await client.hris.benefits.listSupportedBenefits()).items;
    for (const entry of supported) expectShape(SupportedBenefitSchema, entry);
    const provider = (await client.providers.list()).items.find((candidate) => candidate.id === 'justworks')!;
    const support = provider.authentication_methods![0].benefits_support!;
    expect(supported.map((entry) => (entry as { type?: string }).type).sort()).toEqual(Object.keys(support).sort());
    expect((await client.hris.benefits.list()).items.map((benefit) => benefit.type).sort()).toEqual(['401k', 's125_medical']);
  });
});

describe(`hris.benefits.individuals.retrieveManyBenefits (${DATA_DOCS.individualDeductions}; ${DATA_DOCS.errorTypes})`, () => {
  test('one answer per individual: the enrollment, 404 enrollment_not_found for someone not enrolled, 404 individual_not_found for a stranger', async () => {
    const client = await benefitsClient();
    const medical = await byType(client, 's125_medical');
    const enrolled = (await client.hris.benefits.individuals.enrolledIDs(medical.benefit_id)).individual_ids;
    const people = (await client.hris.directory.list()).individuals.map((person) => person.id);
    const notEnrolled = people.find((id) => !enrolled.includes(id))!;
    const stranger = 'c0ffee00-0000-4000-8000-000000000000';
    const answers: IndividualBenefit[] = (await client.hris.benefits.individuals.retrieveManyBenefits(medical.benefit_id, {
      individual_ids: [enrolled[0], notEnrolled, stranger].join(','),
    })).items;
    for (const answer of answers) expectShape(IndividualBenefitSchema, answer);
    expect(answers.map((answer) => [answer.individual_id, answer.code])).toEqual([[enrolled[0], 200], [notEnrolled, 404], [stranger, 404]]);
    expect(answers[0].body).toEqual({
      employee_deduction: { type: 'fixed', amount: 12_000 }, company_contribution: { type: 'fixed', amount: 30_000 }, annual_maximum: null, catch_up: null,
    });
    // Error Types names this one bad_request with code 404.
    expect(answers[1].body).toMatchObject({ code: 404, name: 'bad_request', finch_code: 'enrollment_not_found' });
    expect(answers[2].body).toMatchObject({ code: 404, name: 'not_found_error', finch_code: 'individual_not_found' });

    // Without individual_ids: every individual ("If empty, defaults to all individuals").
    const all = (await client.hris.benefits.individuals.retrieveManyBenefits(medical.benefit_id)).items;
    expect(all.map((answer) => answer.individual_id)).toEqual(people);
    expect(all.filter((answer) => answer.code === 200).map((answer) => answer.individual_id).sort()).toEqual([...enrolled].sort());
  });
});

describe(`benefit writes (${DATA_DOCS.createDeduction}; ${DATA_DOCS.registerDeduction}; ${DATA_DOCS.updateDeduction})`, () => {
  test('create answers {benefit_id, job_id}; the same type, frequency and description again answers the same benefit', async () => {
    const client = await benefitsClient();
    const body = { type: 's125_dental', description: 'Dental', frequency: 'every_paycheck' } as const;
    const created = await client.hris.benefits.create(body);
    expectShape(BenefitJobSchema, created);
    const again = await client.hris.benefits.create(body);
    expect(again.benefit_id).toBe(created.benefit_id);
    expect(again.job_id).not.toBe(created.job_id);
    expect(await client.hris.benefits.retrieve(created.benefit_id)).toEqual({ benefit_id: created.benefit_id, ...body, company_contribution: null });
    expect((await client.hris.benefits.list()).items).toHaveLength(3);

    const updated = await client.hris.benefits.update(created.benefit_id, { description: 'Dental PPO' });
    expectShape(BenefitJobSchema, updated);
    expect((await client.hris.benefits.retrieve(created.benefit_id)).description).toBe('Dental PPO');
    const registered = await client.hris.benefits.register({ type: 'commuter', description: 'Transit', frequency: 'monthly' });
    expectShape(BenefitJobSchema, registered);
    expect((await client.hris.benefits.retrieve(registered.benefit_id)).type).toBe('commuter');
    expect(await rejection(client.hris.benefits.update('c0ffee00-0000-4000-8000-000000000000', { description: 'x' }))).toBeInstanceOf(NotFoundError);
  });

  test(`a type the provider does not support is 422 unsupported_parameters (${DATA_DOCS.errorTypes})`, async () => {
    const client = await benefitsClient('justworks');
    const error = await rejection(client.hris.benefits.create({ type: '457', description: '457 plan', frequency: 'every_paycheck' }));
    expect(error).toBeInstanceOf(UnprocessableEntityError);
    expect(error.error).toMatchObject({ code: 422, name: 'unprocessable_request_error', finch_code: 'unsupported_parameters' });
  });
});

describe(`enrollment writes (${DATA_DOCS.enroll}; ${DATA_DOCS.unenroll}; ${DATA_DOCS.enrolled})`, () => {
  test('enrollMany (a JSON array body) enrolls and overwrites, unenrollMany removes; both answer {job_id}', async () => {
    const client = await benefitsClient();
    const { benefit_id } = await client.hris.benefits.create({ type: 'hsa_pre', description: 'HSA', frequency: 'every_paycheck' });
    const [first, second] = (await client.hris.directory.list({ limit: 2 })).individuals.map((person) => person.id);
    const enrolled = await client.hris.benefits.individuals.enrollMany(benefit_id, {
      individuals: [
        { individual_id: first, configuration: { employee_deduction: { type: 'fixed', amount: 10_000 }, annual_contribution_limit: 'family' } },
        { individual_id: second, configuration: { employee_deduction: { type: 'fixed', amount: 5_000 }, annual_maximum: 400_000 } },
      ],
    });
    expectShape(JobSchema, enrolled);
    expect((await client.hris.benefits.individuals.enrolledIDs(benefit_id)).individual_ids).toEqual([first, second]);
    const [answer] = (await client.hris.benefits.individuals.retrieveManyBenefits(benefit_id, { individual_ids: first })).items;
    expect(expectShape(EnrollmentSchema, answer.body)).toEqual({
      employee_deduction: { type: 'fixed', amount: 10_000 }, company_contribution: null, annual_maximum: null, catch_up: null, hsa_contribution_limit: 'family',
    });

    // An overwrite: enrolling again sets the enrollment anew.
    await client.hris.benefits.individuals.enrollMany(benefit_id, { individuals: [{ individual_id: first, configuration: { employee_deduction: { type: 'fixed', amount: 20_000 } } }] });
    const [overwritten] = (await client.hris.benefits.individuals.retrieveManyBenefits(benefit_id, { individual_ids: first })).items;
    expect(overwritten.body).toMatchObject({ employee_deduction: { type: 'fixed', amount: 20_000 }, hsa_contribution_limit: null });

    const removed = await client.hris.benefits.individuals.unenrollMany(benefit_id, { individual_ids: [first] });
    expectShape(JobSchema, removed);
    expect((await client.hris.benefits.individuals.enrolledIDs(benefit_id)).individual_ids).toEqual([second]);
  });

  test(`a setting the benefit does not support is 422 unsupported_parameters; a stranger is 404 individual_not_found (${DATA_DOCS.errorTypes})`, async () => {
    const client = await benefitsClient();
    const medical = await byType(client, 's125_medical');
    const [person] = (await client.hris.directory.list({ limit: 1 })).individuals;
    const catchUp = await rejection(client.hris.benefits.individuals.enrollMany(medical.benefit_id, {
      individuals: [{ individual_id: person.id, configuration: { catch_up: true } }],
    }));
    expect(catchUp).toBeInstanceOf(UnprocessableEntityError);
    expect(catchUp.error).toMatchObject({ finch_code: 'unsupported_parameters' });
    const percent = await rejection(client.hris.benefits.individuals.enrollMany(medical.benefit_id, {
      individuals: [{ individual_id: person.id, configuration: { employee_deduction: { type: 'percent', amount: 300 } } }],
    }));
    expect(percent).toBeInstanceOf(UnprocessableEntityError);
    const stranger = await rejection(client.hris.benefits.individuals.enrollMany(medical.benefit_id, {
      individuals: [{ individual_id: 'c0ffee00-0000-4000-8000-000000000000', configuration: {} }],
    }));
    expect(stranger).toBeInstanceOf(NotFoundError);
    expect(stranger.error).toMatchObject({ finch_code: 'individual_not_found' });
  });
});
