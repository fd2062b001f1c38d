// `GET /employer/pay-statement-item`: the distinct items (earnings, taxes, deductions,
// contributions) the connection's pay statements carry, with the attributes rules gave them.
import type { PayStatementItemListResponse } from '@tryfinch/finch-api/resources/hris/pay-statement-item/pay-statement-item';
import type { Worker } from './fake-data.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { dateParam, listParam, serveData } from './data-access.js';
import { invalidRequest } from './errors.js';
import { paymentsOf } from './payroll.js';
import { metadataFor } from './rules.js';

type Category = PayStatementItemListResponse['category'];
const CATEGORIES: readonly Category[] = ['earnings', 'taxes', 'employee_deductions', 'employer_contributions'];

interface CatalogItem {
  category: Category;
  name: string;
  type: string;
  pre_tax?: boolean;
  employer?: boolean;
  /** Whether a person's statements carry it (statementOf in payroll.ts makes the same items). */
  carries(worker: Worker): boolean;
}

const employee = (worker: Worker) => worker.kind !== 'contractor';
const CATALOG: CatalogItem[] = [
  { category: 'earnings', name: 'Salary', type: 'salary', carries: (worker) => worker.kind === 'salaried' },
  { category: 'earnings', name: 'Regular Wages', type: 'wage', carries: (worker) => worker.kind === 'hourly' },
  { category: 'earnings', name: 'Overtime', type: 'overtime', carries: (worker) => worker.kind === 'hourly' },
  { category: 'earnings', name: 'Contractor Payment', type: '1099', carries: (worker) => worker.kind === 'contractor' },
  { category: 'taxes', name: 'Federal Income Tax', type: 'federal', employer: false, carries: employee },
  { category: 'taxes', name: 'State Income Tax', type: 'state', employer: false, carries: employee },
  { category: 'taxes', name: 'Social Security', type: 'fica', employer: false, carries: employee },
  { category: 'taxes', name: 'Medicare', type: 'fica', employer: false, carries: employee },
  { category: 'taxes', name: 'Social Security (Employer)', type: 'fica', employer: true, carries: employee },
  { category: 'taxes', name: 'Medicare (Employer)', type: 'fica', employer: true, carries: employee },
  { category: 'employee_deductions', name: '401(k)', type: '401k', pre_tax: true, carries: (worker) => worker.retirement_bp !== null },
  { category: 'employee_deductions', name: 'Medical', type: 's125_medical', pre_tax: true, carries: (worker) => worker.medical },
  { category: 'employer_contributions', name: '401(k) Match', type: '401k', carries: (worker) => worker.retirement_bp !== null },
  { category: 'employer_contributions', name: 'Medical (Employer)', type: 's125_medical', carries: (worker) => worker.medical },
];

/**
 * Filters, as the SDK documents them: `categories[]`, `name` (case-insensitive partial match),
 * `type` (equal), `start_date`/`end_date` (the item's last seen pay date, inclusive).
 */
export function listPayStatementItems(input: RequestInput, deps: EmulatorDeps): Reply {
  const categories = listParam(input.query, 'categories');
  const unknown = categories.filter((category) => !(CATEGORIES as readonly string[]).includes(category));
  if (unknown.length) throw invalidRequest(`categories must be among ${CATEGORIES.join(', ')}.`);
  const name = input.query.get('name')?.toLowerCase() ?? null;
  const type = input.query.get('type');
  const start = dateParam(input.query, 'start_date', false);
  const end = dateParam(input.query, 'end_date', false);
  return serveData(input, deps, 'pay_statement', ({ connection, entity }) => {
    const lastSeen = new Map<CatalogItem, string>();
    for (const record of paymentsOf(connection, deps.now()).filter((candidate) => candidate.entity === entity)) {
      for (const item of CATALOG) if (record.members.some((worker) => item.carries(worker))) lastSeen.set(item, record.payment.pay_date!);
    }
    const metadata = metadataFor(connection);
    const responses = CATALOG
      .filter((item) => lastSeen.has(item))
      .filter((item) => categories.length === 0 || categories.includes(item.category))
      .filter((item) => name === null || item.name.toLowerCase().includes(name))
      .filter((item) => type === null || item.type === type)
      .filter((item) => (start === null || lastSeen.get(item)! >= start) && (end === null || lastSeen.get(item)! <= end))
      .map((item): PayStatementItemListResponse => ({
        name: item.name,
        category: item.category,
        attributes: {
          type: item.type,
          ...(item.pre_tax !== undefined ? { pre_tax: item.pre_tax } : {}),
          ...(item.employer !== undefined ? { employer: item.employer } : {}),
          metadata: metadata(item, null),
        },
      }));
    return json(200, { responses });
  });
}
