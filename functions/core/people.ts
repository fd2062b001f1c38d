// Reconciling people across connections, by Finch's own guidance: the same first name, last name
// and date of birth are one person; where those are missing, a shared email; never the name alone.
// Pure: GET /directory (./directory.ts) reads the records, this merges them.

export type MatchedBy = 'self' | 'name_dob' | 'email';

export interface DirectorySource {
  connection_id: string;
  individual_id: string;
  /** `self`: the row's first record; otherwise how this record was matched to the row. */
  matched_by: MatchedBy;
}

/**
 * One person. Names come from the row's first record. Date of birth and emails are used to match
 * but not returned: they are personal data the caller can read per source through the proxy, and a
 * merged list should not become a cheaper way to harvest them.
 */
export interface DirectoryRow {
  first_name: string | null;
  last_name: string | null;
  sources: DirectorySource[];
}

/** What one connection says about one individual, as the reconciliation needs it. */
export interface PersonRecord {
  connection_id: string;
  individual_id: string;
  first_name: string | null;
  last_name: string | null;
  dob: string | null;
  emails: string[];
}

const normalize = (text: string | null): string => (text ?? '').normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
const DOB = /^\d{4}-\d{2}-\d{2}$/;

/** First name, last name and date of birth, all present; otherwise the record has no such key. */
function nameDobKey(record: PersonRecord): string | null {
  const first = normalize(record.first_name);
  const last = normalize(record.last_name);
  const dob = record.dob?.trim() ?? '';
  return first && last && DOB.test(dob) ? JSON.stringify([first, last, dob]) : null;
}

function emailsOf(record: PersonRecord): string[] {
  return [...new Set(record.emails.map((email) => email.trim().toLowerCase()).filter((email) => /^[^\s@]+@[^\s@]+$/.test(email)))];
}

interface Group { anchor: PersonRecord; sources: DirectorySource[]; emails: Set<string> }

/**
 * Merges records into one row per person, deterministically (the input order does not matter):
 * 1. records with first name, last name and date of birth are grouped on exactly those
 *    (normalized: Unicode NFKC, trimmed, case-folded; accents are kept, so José ≠ Jose);
 * 2. each record lacking one of them joins the one group it shares an email with; a record whose
 *    emails point at several groups is ambiguous and stays on its own row;
 * 3. records with full keys that differ are never merged, even on a shared email (two people with
 *    one mailbox), and nothing ever merges on the name alone.
 * Rows are sorted by last name, first name, then their first source, so pages are stable.
 */
export function reconcile(records: readonly PersonRecord[]): DirectoryRow[] {
  const ordered = [...records].sort((a, b) => compare(a.connection_id, b.connection_id) || compare(a.individual_id, b.individual_id));
  const groups: Group[] = [];
  const byKey = new Map<string, Group>();
  const unkeyed: PersonRecord[] = [];
  for (const record of ordered) {
    const key = nameDobKey(record);
    if (key === null) {
      unkeyed.push(record);
      continue;
    }
    const group = byKey.get(key);
    if (group) join(group, record, 'name_dob');
    else {
      const created = open(record);
      byKey.set(key, created);
      groups.push(created);
    }
  }
  for (const record of unkeyed) {
    const emails = emailsOf(record);
    const candidates = groups.filter((group) => emails.some((email) => group.emails.has(email)));
    if (candidates.length === 1) join(candidates[0], record, 'email');
    else groups.push(open(record));
  }
  return groups
    .map((group) => ({ first_name: group.anchor.first_name, last_name: group.anchor.last_name, sources: group.sources }))
    .sort((a, b) => compare(normalize(a.last_name), normalize(b.last_name))
      || compare(normalize(a.first_name), normalize(b.first_name))
      || compare(a.sources[0].connection_id, b.sources[0].connection_id)
      || compare(a.sources[0].individual_id, b.sources[0].individual_id));
}

function open(record: PersonRecord): Group {
  return { anchor: record, sources: [sourceOf(record, 'self')], emails: new Set(emailsOf(record)) };
}

function join(group: Group, record: PersonRecord, matchedBy: MatchedBy) {
  group.sources.push(sourceOf(record, matchedBy));
  for (const email of emailsOf(record)) group.emails.add(email);
}

const sourceOf = (record: PersonRecord, matched_by: MatchedBy): DirectorySource =>
  ({ connection_id: record.connection_id, individual_id: record.individual_id, matched_by });

/** Code-unit order: the same on every machine, unlike a locale's collation. */
export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
