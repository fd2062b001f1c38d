// Deterministic fake employer data. The same connection always answers the same company and
// people, so tests can assert on values. People come from a pool per base customer (the part of
// the Finch customer id before `~`), so two connections of one customer (two entities or
// providers) share employees under different individual ids — the "repeating employees" the
// backend's /directory reconciles by name and date of birth, then by email.
import { seedBytes, uuidFromSeed } from './ids.js';
import type { EmulatedConnection } from './store.js';

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Katherine', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger', 'Radia'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Dijkstra', 'Perlman'];
const DEPARTMENTS = ['Engineering', 'Sales', 'People Operations', 'Finance'];
const CITIES = [
  { city: 'San Francisco', state: 'CA', postal_code: '94105' },
  { city: 'New York', state: 'NY', postal_code: '10001' },
  { city: 'Austin', state: 'TX', postal_code: '73301' },
  { city: 'Denver', state: 'CO', postal_code: '80202' },
];
const POOL_SIZE = 10;

export interface FakePerson {
  /** Index in the customer's pool: the same person across the customer's connections. */
  pool_index: number;
  first_name: string;
  middle_name: string | null;
  last_name: string;
  dob: string | null;
  email: string | null;
  department: string;
  gender: 'female' | 'male' | 'other' | 'decline_to_specify';
}

export interface FakeIndividual extends FakePerson {
  id: string;
  manager_id: string | null;
  is_active: boolean;
}

const baseCustomer = (customer_id: string): string => customer_id.split('~')[0];
const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'company';
const digits = (bytes: Buffer, count: number): string => [...bytes.subarray(0, count)].map((byte) => byte % 10).join('');

function personPool(customer_id: string): FakePerson[] {
  const base = baseCustomer(customer_id);
  const bytes = seedBytes(`people:${base}`);
  return Array.from({ length: POOL_SIZE }, (_, index) => {
    const first_name = FIRST_NAMES[(bytes[index] + index) % FIRST_NAMES.length];
    const last_name = LAST_NAMES[(bytes[index + 10] + index * 7) % LAST_NAMES.length];
    const year = 1960 + (bytes[index + 20] % 40);
    const month = String(1 + (bytes[index] % 12)).padStart(2, '0');
    const day = String(1 + (bytes[index + 1] % 28)).padStart(2, '0');
    return {
      pool_index: index,
      first_name,
      middle_name: index % 3 === 0 ? 'Q' : null,
      last_name,
      // One person in the pool has no date of birth, as some providers omit it: the backend must
      // then fall back to the email rather than match on the name alone.
      dob: index === 3 ? null : `${year}-${month}-${day}`,
      email: `${first_name}.${last_name}${index}@${slug(base)}.example`.toLowerCase(),
      department: DEPARTMENTS[index % DEPARTMENTS.length],
      gender: (['female', 'male', 'other', 'decline_to_specify'] as const)[bytes[index + 5] % 4],
    };
  });
}

/** 5–8 people of the customer's pool, chosen by the connection id, with per-connection ids. */
export function individualsOf(connection: EmulatedConnection): FakeIndividual[] {
  const bytes = seedBytes(`directory:${connection.connection_id}`);
  const count = 5 + (bytes[0] % 4);
  const offset = bytes[1] % POOL_SIZE;
  // The first three of the pool are in every connection of the customer, so overlaps always exist.
  const chosen = new Set([0, 1, 2]);
  for (let step = 0; chosen.size < count; step++) chosen.add((offset + step) % POOL_SIZE);
  const pool = personPool(connection.customer_id);
  const people = [...chosen].sort((a, b) => a - b).map((index) => pool[index]);
  const ids = people.map((person) => uuidFromSeed(`individual:${connection.connection_id}:${person.pool_index}`));
  return people.map((person, position) => ({
    ...person,
    id: ids[position],
    // Everyone reports to the first person; the first reports to no one.
    manager_id: position === 0 ? null : ids[0],
    is_active: position !== people.length - 1 || people.length < 7,
  }));
}

export function companyOf(connection: EmulatedConnection) {
  const bytes = seedBytes(`company:${connection.customer_id}`);
  const place = CITIES[bytes[0] % CITIES.length];
  const domain = `${slug(baseCustomer(connection.customer_id))}.example`;
  return {
    id: connection.company_id,
    legal_name: connection.customer_name,
    entity: { type: 'corporation', subtype: 'c_corporation' },
    ein: `${digits(bytes.subarray(1), 2)}-${digits(bytes.subarray(3), 7)}`,
    primary_email: `payroll@${domain}`,
    primary_phone_number: `555${digits(bytes.subarray(10), 7)}`,
    departments: DEPARTMENTS.map((name) => ({ name, parent: null })),
    locations: [{
      line1: `${100 + (bytes[11] % 900)} Market Street`, line2: null, ...place, country: 'US', name: 'Headquarters', source_id: null,
    }],
    accounts: [{
      account_name: 'Operating', account_number: digits(bytes.subarray(12), 10), account_type: 'checking',
      institution_name: 'Emulated Bank', routing_number: '021000021',
    }],
  };
}

export function directoryEntryOf(person: FakeIndividual) {
  return {
    id: person.id,
    first_name: person.first_name,
    middle_name: person.middle_name,
    last_name: person.last_name,
    manager: person.manager_id ? { id: person.manager_id } : null,
    department: { name: person.department },
    is_active: person.is_active,
  };
}

export function individualOf(person: FakeIndividual, connection: EmulatedConnection) {
  const place = CITIES[person.pool_index % CITIES.length];
  return {
    id: person.id,
    first_name: person.first_name,
    middle_name: person.middle_name,
    last_name: person.last_name,
    preferred_name: null,
    dob: person.dob,
    gender: person.gender,
    ethnicity: 'decline_to_specify',
    marital_status: null,
    emails: person.email ? [{ data: person.email, type: 'work' }] : [],
    phone_numbers: [{ data: `555010${String(person.pool_index).padStart(4, '0')}`, type: 'work' }],
    residence: { line1: `${10 + person.pool_index} Elm Street`, line2: null, ...place, country: 'US' },
    // Finch answers an SSN only to a token granted the ssn product.
    ssn: connection.products.includes('ssn') ? `900-00-${String(1000 + person.pool_index)}` : null,
    encrypted_ssn: null,
  };
}
