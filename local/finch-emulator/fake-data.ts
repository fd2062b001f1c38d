// Deterministic fake employer data: the company, its people and their employment. The same
// connection always answers the same values, whichever of its tokens asks, so tests can assert on
// them; another connection gets its own individual ids. People come from a pool per base customer
// (the part of the Finch customer id before `~`), so two connections of one customer (two entities
// or providers) share most of their employees under different individual ids: the "repeating
// employees" the backend's /directory reconciles by name and date of birth, then by email.
// Shapes are the SDK's own types (`@tryfinch/finch-api` v10), so tsc checks every field.
import type { Company } from '@tryfinch/finch-api/resources/hris/company';
import type { IndividualInDirectory } from '@tryfinch/finch-api/resources/hris/directory';
import type { EmploymentData } from '@tryfinch/finch-api/resources/hris/employments';
import type { Income, Location } from '@tryfinch/finch-api/resources/hris/hris';
import type { Individual } from '@tryfinch/finch-api/resources/hris/individuals';
import { seedBytes, uuidFromSeed } from './ids.js';

const FIRST_NAMES = [
  'Ada', 'Grace', 'Alan', 'Katherine', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger', 'Radia',
  'Donald', 'Hedy', 'John', 'Joan', 'Tim', 'Sophie', 'Guido', 'Adele', 'Niklaus', 'Mary', 'Bjarne', 'Jean',
  'Claude', 'Evelyn', 'Leslie', 'Shafi', 'Vint', 'Anita', 'Yukihiro', 'Lynn', 'James', 'Carol', 'Robert', 'Lois',
  'Martin', 'Fran', 'Peter', 'Jeannette',
];
const LAST_NAMES = [
  'Lovelace', 'Hopper', 'Turing', 'Johnson', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Dijkstra', 'Perlman',
  'Knuth', 'Lamarr', 'McCarthy', 'Clarke', 'Berners-Lee', 'Wilson', 'van Rossum', 'Goldberg', 'Wirth', 'Keller', 'Stroustrup', 'Sammet',
  'Shannon', 'Boyd', 'Lamport', 'Goldwasser', 'Cerf', 'Borg', 'Matsumoto', 'Conway', 'Gosling', 'Shaw', 'Tarjan', 'Haibt',
  'Fowler', 'Bilas', 'Naur', 'Wing',
];
const MIDDLE_NAMES = ['Q', 'Marie', 'Lee', 'Ann', 'J', 'Ray'];
const STREETS = ['Elm Street', 'Oak Avenue', 'Maple Drive', 'Cedar Lane', 'Pine Road', 'Birch Way', 'Walnut Court', 'Spruce Terrace'];
export const CITIES = [
  { city: 'San Francisco', state: 'CA', postal_code: '94105' },
  { city: 'New York', state: 'NY', postal_code: '10001' },
  { city: 'Austin', state: 'TX', postal_code: '73301' },
  { city: 'Denver', state: 'CO', postal_code: '80202' },
  { city: 'Chicago', state: 'IL', postal_code: '60601' },
  { city: 'Seattle', state: 'WA', postal_code: '98101' },
];
const DEPARTMENTS: Record<string, { salaried: string[]; hourly: string[]; contractor: string[] }> = {
  Engineering: { salaried: ['Software Engineer', 'Senior Software Engineer', 'Engineering Manager'], hourly: ['QA Technician'], contractor: ['Contract Developer'] },
  Sales: { salaried: ['Account Executive', 'Sales Manager'], hourly: ['Sales Development Representative'], contractor: ['Sales Consultant'] },
  'People Operations': { salaried: ['People Partner', 'Recruiter'], hourly: ['HR Coordinator'], contractor: ['Recruiting Consultant'] },
  Finance: { salaried: ['Accountant', 'Controller'], hourly: ['Payroll Clerk'], contractor: ['Bookkeeper'] },
  Operations: { salaried: ['Operations Manager'], hourly: ['Warehouse Associate', 'Customer Support Specialist'], contractor: ['Logistics Consultant'] },
  Marketing: { salaried: ['Marketing Manager', 'Content Strategist'], hourly: ['Marketing Assistant'], contractor: ['Designer'] },
};
export const DEPARTMENT_NAMES = Object.keys(DEPARTMENTS);
const ETHNICITIES = [
  'asian', 'white', 'black_or_african_american', 'native_hawaiian_or_pacific_islander', 'american_indian_or_alaska_native',
  'hispanic_or_latino', 'two_or_more_races', 'decline_to_specify',
] as const;
const GENDERS = ['female', 'male', 'other', 'decline_to_specify'] as const;
const MARITAL = ['single', 'married', 'divorced', 'widowed', 'domestic_partner', 'unknown'] as const;

/** Data that belongs to the person, whichever connection reads them. */
export interface FakePerson {
  /** Index in the customer's pool: the same person across the customer's connections. */
  pool_index: number;
  first_name: string;
  middle_name: string | null;
  last_name: string;
  preferred_name: string | null;
  dob: string | null;
  email: string;
  phone: string;
  gender: (typeof GENDERS)[number];
  ethnicity: (typeof ETHNICITIES)[number];
  marital_status: (typeof MARITAL)[number];
  residence: Location;
}

export type WorkerKind = 'salaried' | 'hourly' | 'contractor';

/** A person as one connection knows them: ids, job, pay and benefit enrollments. */
export interface Worker extends FakePerson {
  id: string;
  /** Position in the connection's directory; position 0 is the top of the org chart. */
  position: number;
  /** Index into the connection's entities (0 unless the connection has several). */
  entity: number;
  manager_id: string | null;
  kind: WorkerKind;
  department: string;
  title: string;
  start_date: string;
  end_date: string | null;
  employment_status: 'active' | 'leave' | 'terminated';
  is_active: boolean;
  /** Current pay: cents a year (salaried), an hour (hourly) or a month (contractors). */
  income: Income;
  income_history: Income[];
  work_location: Location;
  /** 401(k) deferral in basis points, or null when not enrolled (contractors never are). */
  retirement_bp: number | null;
  medical: boolean;
}

/** A tiny deterministic generator (mulberry32) seeded from a string: values are the same on every run. */
export function seeded(seed: string): () => number {
  let state = seedBytes(seed).readUInt32BE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const pick = <T>(next: () => number, list: readonly T[]): T => list[next() % list.length];
const pad = (value: number, width = 2) => String(value).padStart(width, '0');
const baseCustomer = (customer_id: string): string => customer_id.split('~')[0];
export const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'company';
const digits = (bytes: Buffer, count: number): string => [...bytes.subarray(0, count)].map((byte) => byte % 10).join('');

/** Adds days to a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** A date between two YYYY-MM-DD dates (inclusive), chosen by `next`. */
function dateBetween(next: () => number, from: string, to: string): string {
  const span = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000));
  return addDays(from, next() % (span + 1));
}

/** The person at `pool_index` of a customer's pool: a pure function of the two, so the pool is unbounded. */
export function personAt(customer_id: string, pool_index: number): FakePerson {
  const base = baseCustomer(customer_id);
  const next = seeded(`person:${base}:${pool_index}`);
  const first_name = pick(next, FIRST_NAMES);
  const last_name = pick(next, LAST_NAMES);
  const middle_name = next() % 3 === 0 ? pick(next, MIDDLE_NAMES) : null;
  const year = 1960 + (next() % 42);
  const dob = `${year}-${pad(1 + (next() % 12))}-${pad(1 + (next() % 28))}`;
  const place = pick(next, CITIES);
  return {
    pool_index,
    first_name,
    middle_name,
    last_name,
    preferred_name: next() % 10 === 0 ? first_name.slice(0, 3) : null,
    // Some providers omit the date of birth: one person in seventeen has none, so the backend must
    // fall back to the email rather than match on the name alone (pool index 3 is always one).
    dob: pool_index % 17 === 3 ? null : dob,
    email: `${first_name}.${last_name}.${pool_index}@${slug(base)}.example`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
    phone: `+1555${pad(next() % 10_000_000, 7)}`,
    gender: pick(next, GENDERS),
    ethnicity: pick(next, ETHNICITIES),
    marital_status: pick(next, MARITAL),
    residence: {
      line1: `${100 + (next() % 9000)} ${pick(next, STREETS)}`, line2: next() % 4 === 0 ? `Apt ${1 + (next() % 40)}` : null,
      ...place, country: 'US',
    },
  };
}

/**
 * The pool indices a connection employs: the first 60% of the pool are in every connection of the
 * customer (so overlaps always exist); the rest are drawn per connection from the next stretch.
 */
function poolIndicesOf(connection_id: string, size: number): number[] {
  const core = Math.floor(size * 0.6);
  const chosen = Array.from({ length: core }, (_, index) => index);
  const next = seeded(`pick:${connection_id}`);
  for (let index = core; chosen.length < size; index++) if (next() % 2 === 0) chosen.push(index);
  return chosen;
}

export interface WorkforceSpec {
  connection_id: string;
  customer_id: string;
  employee_size: number;
  entity_count: number;
  /** The entity locations (their company's headquarters), one per entity. */
  headquarters: Location[];
}

/** Everyone the connection's provider knows, in directory order. */
export function workforceOf(spec: WorkforceSpec): Worker[] {
  const indices = poolIndicesOf(spec.connection_id, spec.employee_size);
  const ids = indices.map((pool_index) => uuidFromSeed(`individual:${spec.connection_id}:${pool_index}`));
  return indices.map((pool_index, position) => {
    const person = personAt(spec.customer_id, pool_index);
    const next = seeded(`worker:${spec.connection_id}:${pool_index}`);
    const top = position === 0;
    const roll = next() % 100;
    const kind: WorkerKind = top ? 'salaried' : roll < 8 ? 'contractor' : roll < 38 ? 'hourly' : 'salaried';
    const department = top ? 'Operations' : pick(next, DEPARTMENT_NAMES);
    const title = top ? 'Chief Executive Officer' : pick(next, DEPARTMENTS[department][kind]);
    const start_date = top ? '2014-01-06' : dateBetween(next, '2014-02-03', '2025-06-30');
    const leaving = !top && next() % 100 < 6;
    const end_date = leaving ? dateBetween(next, start_date > '2024-01-01' ? addDays(start_date, 30) : '2024-01-01', '2025-09-30') : null;
    const onLeave = !leaving && !top && next() % 100 < 2;
    const income = incomeOf(next, kind, start_date);
    const entity = position % spec.entity_count;
    const remote = next() % 5 === 0;
    return {
      ...person,
      id: ids[position],
      position,
      entity,
      // A tree with eight reports a manager: position p reports to position floor((p - 1) / 8).
      manager_id: top ? null : ids[Math.floor((position - 1) / 8)],
      kind,
      department,
      title,
      start_date,
      end_date,
      employment_status: leaving ? 'terminated' : onLeave ? 'leave' : 'active',
      is_active: !leaving,
      income: income.current,
      income_history: income.history,
      work_location: remote ? { ...person.residence, name: 'Remote', source_id: null } : spec.headquarters[entity],
      retirement_bp: kind !== 'contractor' && next() % 100 < 60 ? 300 + (next() % 6) * 100 : null,
      medical: kind !== 'contractor' && next() % 100 < 70,
    };
  });
}

function incomeOf(next: () => number, kind: WorkerKind, start_date: string): { current: Income; history: Income[] } {
  const [unit, amount] = kind === 'salaried'
    ? ['yearly', (55 + (next() % 156)) * 100_000] as const
    : kind === 'hourly' ? ['hourly', (18 + (next() % 38)) * 100] as const
      : ['monthly', (4 + (next() % 9)) * 100_000] as const;
  const first: Income = { amount, currency: 'usd', unit, effective_date: start_date };
  // Employees hired before 2023 got a 4% raise on 2024-03-01.
  if (kind === 'contractor' || start_date >= '2023-01-01') return { current: first, history: [first] };
  const raised: Income = { amount: Math.round(amount * 1.04), currency: 'usd', unit, effective_date: '2024-03-01' };
  return { current: raised, history: [first, raised] };
}

/** The company an entity is: a single-entity connection's is its company id, otherwise the entity's id. */
export function companyOf(input: {
  id: string; legal_name: string; customer_id: string; seed: string; headquarters: Location;
}): Company {
  const bytes = seedBytes(`company:${input.seed}`);
  const domain = `${slug(baseCustomer(input.customer_id))}.example`;
  return {
    id: input.id,
    legal_name: input.legal_name,
    entity: { type: 'corporation', subtype: 'c_corporation' },
    ein: `${digits(bytes.subarray(1), 2)}-${digits(bytes.subarray(3), 7)}`,
    primary_email: `payroll@${domain}`,
    primary_phone_number: `+1555${digits(bytes.subarray(10), 7)}`,
    departments: [
      ...DEPARTMENT_NAMES.map((name) => ({ name, parent: null })),
      { name: 'Platform', parent: { name: 'Engineering' } },
    ],
    locations: [input.headquarters],
    accounts: [{
      account_name: 'Operating', account_number: digits(bytes.subarray(12), 10), account_type: 'checking',
      institution_name: 'Emulated Bank', routing_number: '021000021',
    }],
  };
}

/** An entity's headquarters: its own city and street, chosen by its seed. */
export function headquartersOf(seed: string): Location {
  const bytes = seedBytes(`headquarters:${seed}`);
  return {
    line1: `${100 + (bytes[11] % 900)} Market Street`, line2: null, ...CITIES[bytes[0] % CITIES.length], country: 'US',
    name: 'Headquarters', source_id: null,
  };
}

export function directoryEntryOf(worker: Worker): IndividualInDirectory {
  return {
    id: worker.id,
    first_name: worker.first_name,
    middle_name: worker.middle_name,
    last_name: worker.last_name,
    manager: worker.manager_id ? { id: worker.manager_id } : null,
    department: { name: worker.department },
    is_active: worker.is_active,
  };
}

/**
 * `POST /employer/individual`'s body for one person. The SSN is answered only to a token granted
 * the `ssn` product that asked for it with `options.include: ['ssn']` (the SDK's doc of `ssn`).
 */
export function individualOf(worker: Worker, withSsn: boolean): Individual.IndividualResponseBody {
  const ssn = `9${pad(worker.pool_index, 8)}`;
  return {
    id: worker.id,
    first_name: worker.first_name,
    middle_name: worker.middle_name,
    last_name: worker.last_name,
    preferred_name: worker.preferred_name,
    dob: worker.dob,
    gender: worker.gender,
    ethnicity: worker.ethnicity,
    marital_status: worker.marital_status,
    emails: [{ data: worker.email, type: 'work' }],
    phone_numbers: [{ data: worker.phone, type: 'personal' }],
    residence: worker.residence,
    ssn: withSsn ? `${ssn.slice(0, 3)}-${ssn.slice(3, 5)}-${ssn.slice(5)}` : null,
    encrypted_ssn: null,
  };
}

/** `POST /employer/employment`'s body for one person. */
export function employmentOf(worker: Worker): EmploymentData.EmploymentDataResponseBody {
  const contractor = worker.kind === 'contractor';
  const yearly = worker.income.unit === 'yearly' ? worker.income.amount ?? 0 : 0;
  return {
    id: worker.id,
    first_name: worker.first_name,
    middle_name: worker.middle_name,
    last_name: worker.last_name,
    title: worker.title,
    department: { name: worker.department },
    manager: worker.manager_id ? { id: worker.manager_id } : null,
    employment: contractor
      ? { type: 'contractor', subtype: 'individual_contractor' }
      : { type: 'employee', subtype: worker.kind === 'hourly' && worker.pool_index % 4 === 0 ? 'part_time' : 'full_time' },
    employment_status: worker.employment_status,
    is_active: worker.is_active,
    start_date: worker.start_date,
    end_date: worker.end_date,
    latest_rehire_date: null,
    class_code: contractor ? null : worker.kind === 'hourly' ? '8810' : '8742',
    flsa_status: contractor ? null : worker.kind === 'hourly' ? 'non_exempt' : 'exempt',
    location: worker.work_location,
    income: worker.income,
    income_history: worker.income_history,
    custom_fields: [{ name: 'Cost Center', value: `CC-${100 + DEPARTMENT_NAMES.indexOf(worker.department)}` }],
    source_id: `E${pad(worker.pool_index, 5)}`,
    union_code: null,
    union_local: null,
    // The IRS's 2025 threshold for a highly compensated employee is $160,000.
    highly_compensated_employee: contractor ? null : yearly >= 16_000_000,
    key_employee: contractor ? null : worker.position === 0,
  };
}
