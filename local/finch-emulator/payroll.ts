// Payroll: pay groups, payments and pay statements, made from the connection's people. Employees
// are paid bi-weekly (every other Friday from 2020-01-03), contractors monthly (the last day of the
// month); Finch syncs two full years plus the year to date ("Data Syncs"), so payments run from
// January 1st two years back to today. Each pay statement adds up (net = gross - employee taxes -
// employee deductions) and each payment is the sum of its statements.
import type { Payment } from '@tryfinch/finch-api/resources/hris/payments';
import type { PayStatement, PayStatementDataSyncInProgress, PayStatementResponse } from '@tryfinch/finch-api/resources/hris/pay-statements';
import type { PayGroupListResponse, PayGroupRetrieveResponse } from '@tryfinch/finch-api/resources/payroll/pay-groups';
import { invalidRequest } from './errors.js';
import { addDays, seeded, type Worker } from './fake-data.js';
import { uuidFromSeed } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { batchError, dateParam, listParam, missing, serveData } from './data-access.js';
import { datasetOf, entitiesOf, moduleState, peopleOf } from './dataset.js';
import { metadataFor } from './rules.js';
import type { EmulatedConnection } from './store.js';
import { expectBody, isObject } from './validate.js';

export type PayGroupKind = 'employees' | 'contractors';
type Frequency = PayGroupListResponse['pay_frequencies'][number];

const GROUPS: Record<PayGroupKind, { name: string; frequency: Frequency }> = {
  employees: { name: 'Bi-weekly', frequency: 'bi_weekly' },
  contractors: { name: 'Contractors (monthly)', frequency: 'monthly' },
};
const BIWEEKLY_ANCHOR = '2020-01-03';
/** Finch's documented limits for `POST /employer/pay-statement` (the SDK's doc of the request). */
const MAX_PAYMENTS_PER_REQUEST = 10;
const DEFAULT_STATEMENT_LIMIT = 100;
const MAX_STATEMENT_LIMIT = 5000;

export const groupOf = (worker: Worker): PayGroupKind => (worker.kind === 'contractor' ? 'contractors' : 'employees');

export function payGroupId(connection: EmulatedConnection, entity: number, kind: PayGroupKind): string {
  return uuidFromSeed(`pay-group:${connection.connection_id}:${entitiesOf(connection)[entity].id}:${kind}`);
}

// ---- Pay groups -----------------------------------------------------------------------------

function payGroupsOf(connection: EmulatedConnection, entity: number): PayGroupRetrieveResponse[] {
  const people = peopleOf(connection, entity).filter((worker) => worker.is_active);
  return (Object.keys(GROUPS) as PayGroupKind[]).map((kind) => ({
    id: payGroupId(connection, entity, kind),
    name: GROUPS[kind].name,
    pay_frequencies: [GROUPS[kind].frequency],
    individual_ids: people.filter((worker) => groupOf(worker) === kind).map((worker) => worker.id),
  }));
}

/** `GET /employer/pay-groups?individual_id&pay_frequencies[]`: the entity's pay groups, filtered. */
export function listPayGroups(input: RequestInput, deps: EmulatorDeps): Reply {
  const individual = input.query.get('individual_id');
  const frequencies = listParam(input.query, 'pay_frequencies');
  return serveData(input, deps, 'payment', ({ connection, entity }) => json(200, payGroupsOf(connection, entity)
    .filter((group) => individual === null || group.individual_ids.includes(individual))
    .filter((group) => frequencies.length === 0 || group.pay_frequencies.some((frequency) => frequencies.includes(frequency)))
    .map(({ id, name, pay_frequencies }): PayGroupListResponse => ({ id, name, pay_frequencies }))));
}

/** `GET /employer/pay-groups/{pay_group_id}`: one group with its members; another's or unknown → 404. */
export function getPayGroup(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'payment', ({ connection, entity }) => {
    const group = payGroupsOf(connection, entity).find((candidate) => candidate.id === input.params.pay_group_id);
    if (!group) throw missing('item_not_found', `No pay group with id ${input.params.pay_group_id} found.`);
    return json(200, group);
  });
}

// ---- Payments -------------------------------------------------------------------------------

export interface PaymentRecord {
  payment: Payment;
  entity: number;
  group: PayGroupKind;
  pay_period: { start_date: string; end_date: string };
  members: Worker[];
}

/** Pay dates from `from` to `to` (inclusive) for a group. */
function payDates(kind: PayGroupKind, from: string, to: string): string[] {
  const dates: string[] = [];
  if (kind === 'employees') {
    const skip = Math.max(0, Math.floor((Date.parse(from) - Date.parse(BIWEEKLY_ANCHOR)) / (14 * 86_400_000)));
    for (let date = addDays(BIWEEKLY_ANCHOR, skip * 14); date <= to; date = addDays(date, 14)) if (date >= from) dates.push(date);
  } else {
    for (let month = new Date(`${from.slice(0, 7)}-01T00:00:00Z`); ; month.setUTCMonth(month.getUTCMonth() + 1)) {
      const last = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
      if (last > to) break;
      if (last >= from) dates.push(last);
    }
  }
  return dates;
}

const periodOf = (kind: PayGroupKind, pay_date: string) => (kind === 'employees'
  ? { start_date: addDays(pay_date, -19), end_date: addDays(pay_date, -6) }
  : { start_date: `${pay_date.slice(0, 7)}-01`, end_date: pay_date });

const employedDuring = (worker: Worker, period: { start_date: string; end_date: string }) =>
  worker.start_date <= period.end_date && (worker.end_date === null || worker.end_date >= period.start_date);

const money = (amount: number): { amount: number; currency: string } => ({ amount, currency: 'usd' });
const sum = (values: Array<number | null | undefined>) => values.reduce<number>((total, value) => total + (value ?? 0), 0);

/**
 * Every payment of the connection up to today, oldest first. Built once a day per connection: the
 * totals need every statement, which are then dropped (statements are rebuilt when asked for).
 */
export function paymentsOf(connection: EmulatedConnection, now: number): PaymentRecord[] {
  const today = new Date(now).toISOString().slice(0, 10);
  const dataset = datasetOf(connection);
  const cache = moduleState(connection, 'payments', () => ({ key: '', records: [] as PaymentRecord[] }));
  const key = `${today}:${dataset.employee_size}:${entitiesOf(connection).length}`;
  if (cache.key === key) return cache.records;
  const from = `${Number(today.slice(0, 4)) - 2}-01-01`;
  const records: PaymentRecord[] = [];
  entitiesOf(connection).forEach((entityRecord, entity) => {
    const people = peopleOf(connection, entity);
    for (const group of Object.keys(GROUPS) as PayGroupKind[]) {
      const inGroup = people.filter((worker) => groupOf(worker) === group);
      for (const pay_date of payDates(group, from, today)) {
        const pay_period = periodOf(group, pay_date);
        const members = inGroup.filter((worker) => employedDuring(worker, pay_period));
        if (members.length === 0) continue;
        const id = uuidFromSeed(`payment:${connection.connection_id}:${entityRecord.id}:${group}:${pay_date}`);
        const statements = members.map((worker) => statementOf(worker, pay_date, group, {}));
        const employeeTaxes = sum(statements.flatMap((s) => s.taxes ?? []).filter((tax) => !tax.employer).map((tax) => tax.amount));
        const employerTaxes = sum(statements.flatMap((s) => s.taxes ?? []).filter((tax) => tax.employer).map((tax) => tax.amount));
        const contributions = sum(statements.flatMap((s) => s.employer_contributions ?? []).map((item) => item.amount));
        const gross = sum(statements.map((s) => s.gross_pay?.amount));
        records.push({
          payment: {
            id,
            pay_date,
            debit_date: addDays(pay_date, -1),
            pay_period,
            individual_ids: members.map((worker) => worker.id),
            pay_group_ids: [payGroupId(connection, entity, group)],
            pay_frequencies: [GROUPS[group].frequency],
            gross_pay: money(gross),
            net_pay: money(sum(statements.map((s) => s.net_pay?.amount))),
            employee_taxes: money(employeeTaxes),
            employer_taxes: money(employerTaxes),
            company_debit: money(gross + employerTaxes + contributions),
          },
          entity,
          group,
          pay_period,
          members,
        });
      }
    }
  });
  records.sort((a, b) => (a.payment.pay_date! < b.payment.pay_date! ? -1 : a.payment.pay_date! > b.payment.pay_date! ? 1 : 0));
  cache.key = key;
  cache.records = records;
  return records;
}

/** `GET /employer/payment?start_date&end_date`: the entity's payments whose pay date is in the range (inclusive). */
export function listPayments(input: RequestInput, deps: EmulatorDeps): Reply {
  const start = dateParam(input.query, 'start_date', true)!;
  const end = dateParam(input.query, 'end_date', true)!;
  if (start > end) throw invalidRequest('start_date must not be after end_date.');
  return serveData(input, deps, 'payment', ({ connection, entity }) => json(200, paymentsOf(connection, deps.now())
    .filter((record) => record.entity === entity && record.payment.pay_date! >= start && record.payment.pay_date! <= end)
    .map((record) => record.payment)));
}

// ---- Pay statements -------------------------------------------------------------------------

type Metadata = ReturnType<typeof metadataFor>;

/** One person's statement for one pay date: deterministic, and it adds up. */
export function statementOf(worker: Worker, pay_date: string, group: PayGroupKind, options: { metadata?: Metadata }): PayStatement {
  const withAttributes = <T extends { name: string | null; type: string | null }>(category: string, item: T): T => {
    const metadata = options.metadata?.({ category, name: item.name ?? '', type: item.type }, pay_date) ?? null;
    return metadata ? { ...item, attributes: { metadata } } : item;
  };
  const rate = worker.income.amount ?? 0;
  if (group === 'contractors') {
    const amount = rate;
    return {
      individual_id: worker.id,
      type: 'regular_payroll',
      payment_method: 'direct_deposit',
      total_hours: null,
      gross_pay: money(amount),
      net_pay: money(amount),
      earnings: [withAttributes<PayStatement.Earning>('earnings', { type: '1099', name: 'Contractor Payment', amount, hours: null, currency: 'usd' })],
      taxes: [],
      employee_deductions: [],
      employer_contributions: [],
    };
  }
  const earnings: NonNullable<PayStatement['earnings']> = [];
  if (worker.kind === 'salaried') {
    earnings.push(withAttributes<PayStatement.Earning>('earnings', { type: 'salary', name: 'Salary', amount: Math.round(rate / 26), hours: 80, currency: 'usd' }));
  } else {
    const overtime = seeded(`overtime:${worker.id}:${pay_date}`)() % 6;
    earnings.push(withAttributes<PayStatement.Earning>('earnings', { type: 'wage', name: 'Regular Wages', amount: rate * 80, hours: 80, currency: 'usd' }));
    if (overtime > 0) {
      earnings.push(withAttributes<PayStatement.Earning>('earnings', { type: 'overtime', name: 'Overtime', amount: Math.round(rate * 1.5 * overtime), hours: overtime, currency: 'usd' }));
    }
  }
  const gross = sum(earnings.map((earning) => earning?.amount));
  const deductions: NonNullable<PayStatement['employee_deductions']> = [];
  const contributions: NonNullable<PayStatement['employer_contributions']> = [];
  if (worker.retirement_bp !== null) {
    deductions.push(withAttributes<PayStatement.EmployeeDeduction>('employee_deductions', { type: '401k', name: '401(k)', amount: Math.round((gross * worker.retirement_bp) / 10_000), pre_tax: true, currency: 'usd' }));
    // The company matches 100% of the deferral up to 4% of pay.
    contributions.push(withAttributes<PayStatement.EmployerContribution>('employer_contributions', { type: '401k', name: '401(k) Match', amount: Math.round((gross * Math.min(worker.retirement_bp, 400)) / 10_000), currency: 'usd' }));
  }
  if (worker.medical) {
    deductions.push(withAttributes<PayStatement.EmployeeDeduction>('employee_deductions', { type: 's125_medical', name: 'Medical', amount: 12_000, pre_tax: true, currency: 'usd' }));
    contributions.push(withAttributes<PayStatement.EmployerContribution>('employer_contributions', { type: 's125_medical', name: 'Medical (Employer)', amount: 30_000, currency: 'usd' }));
  }
  const taxable = gross - sum(deductions.filter((item) => item.pre_tax).map((item) => item.amount));
  const taxes: NonNullable<PayStatement['taxes']> = [
    withAttributes<PayStatement.Tax>('taxes', { type: 'federal', name: 'Federal Income Tax', amount: Math.round(taxable * 0.12), employer: false, currency: 'usd' }),
    withAttributes<PayStatement.Tax>('taxes', { type: 'state', name: 'State Income Tax', amount: Math.round(taxable * 0.04), employer: false, currency: 'usd' }),
    withAttributes<PayStatement.Tax>('taxes', { type: 'fica', name: 'Social Security', amount: Math.round(gross * 0.062), employer: false, currency: 'usd' }),
    withAttributes<PayStatement.Tax>('taxes', { type: 'fica', name: 'Medicare', amount: Math.round(gross * 0.0145), employer: false, currency: 'usd' }),
    withAttributes<PayStatement.Tax>('taxes', { type: 'fica', name: 'Social Security (Employer)', amount: Math.round(gross * 0.062), employer: true, currency: 'usd' }),
    withAttributes<PayStatement.Tax>('taxes', { type: 'fica', name: 'Medicare (Employer)', amount: Math.round(gross * 0.0145), employer: true, currency: 'usd' }),
  ];
  const withheld = sum(taxes.filter((tax) => !tax.employer).map((tax) => tax.amount)) + sum(deductions.map((item) => item.amount));
  return {
    individual_id: worker.id,
    type: 'regular_payroll',
    payment_method: worker.pool_index % 11 === 5 ? 'check' : 'direct_deposit',
    total_hours: sum(earnings.map((earning) => earning?.hours)),
    gross_pay: money(gross),
    net_pay: money(gross - withheld),
    earnings,
    taxes,
    employee_deductions: deductions,
    employer_contributions: contributions,
  };
}

/** Finch's own words for a payment whose statements are still being fetched (the SDK's PayStatementDataSyncInProgress). */
const STILL_RETRIEVING: PayStatementDataSyncInProgress = {
  code: 202,
  finch_code: 'data_sync_in_progress',
  message: 'The pay statements for this payment are being fetched. Please check back later.',
  name: 'accepted',
};

/**
 * `POST /employer/pay-statement {requests: [{payment_id, limit?, offset?}]}` (1 to 10 payments):
 * one answer per payment, in order, with its own code: 200 and a page of statements
 * (`paging: {count, offset}`, limit 100 by default, 5000 at most), 404 `payment_not_found`, or 202
 * while Finch is still fetching the statements. The newest payment of each pay group is being
 * fetched the first time it is asked for, and ready from then on: deterministic, and a client must
 * handle the 202 and ask again ("Data Syncs", "Handling API Responses").
 */
export function payStatements(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['requests']);
  const requests = statementRequests(fields.requests);
  return serveData(input, deps, 'pay_statement', ({ connection, entity }) => {
    const records = paymentsOf(connection, deps.now()).filter((record) => record.entity === entity);
    const byId = new Map(records.map((record) => [record.payment.id, record]));
    const newest = new Set((Object.keys(GROUPS) as PayGroupKind[])
      .map((group) => records.filter((record) => record.group === group).at(-1)?.payment.id));
    const asked = moduleState(connection, 'pay-statement-requests', () => new Set<string>());
    const metadata = metadataFor(connection);
    return json(200, {
      responses: requests.map(({ payment_id, limit, offset }): PayStatementResponse => {
        const record = byId.get(payment_id);
        if (!record) {
          return { payment_id, code: 404, body: batchError(404, 'not_found_error', 'payment_not_found', `No payment with id ${payment_id} found.`) };
        }
        const firstAsk = !asked.has(payment_id);
        asked.add(payment_id);
        if (firstAsk && newest.has(payment_id)) return { payment_id, code: 202, body: STILL_RETRIEVING };
        const page = record.members.slice(offset, offset + limit);
        return {
          payment_id,
          code: 200,
          body: {
            paging: { count: record.members.length, offset },
            pay_statements: page.map((worker) => statementOf(worker, record.payment.pay_date!, record.group, { metadata })),
          },
        };
      }),
    });
  });
}

function statementRequests(requests: unknown): Array<{ payment_id: string; limit: number; offset: number }> {
  if (!Array.isArray(requests) || requests.length === 0) throw invalidRequest('requests must be a non-empty array.');
  if (requests.length > MAX_PAYMENTS_PER_REQUEST) throw invalidRequest(`requests takes at most ${MAX_PAYMENTS_PER_REQUEST} payment ids.`);
  return requests.map((request, index) => {
    if (!isObject(request) || typeof request.payment_id !== 'string' || request.payment_id === '') {
      throw invalidRequest(`requests.${index}.payment_id is required.`);
    }
    const unknown = Object.keys(request).filter((key) => !['payment_id', 'limit', 'offset'].includes(key));
    if (unknown.length) throw invalidRequest(`Unknown fields in requests.${index}: ${unknown.join(', ')}.`);
    const limit = request.limit ?? DEFAULT_STATEMENT_LIMIT;
    const offset = request.offset ?? 0;
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_STATEMENT_LIMIT) {
      throw invalidRequest(`requests.${index}.limit must be an integer from 1 to ${MAX_STATEMENT_LIMIT}.`);
    }
    if (!Number.isInteger(offset) || (offset as number) < 0) throw invalidRequest(`requests.${index}.offset must be a non-negative integer.`);
    return { payment_id: request.payment_id, limit: limit as number, offset: offset as number };
  });
}

