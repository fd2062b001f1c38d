// SECURITY.md names, for every threat, the test that fails if its mitigation stops working
// ("Proven by": `test/<file>.test.ts` › describe › test). Test files move and tests get renamed;
// this keeps every citation pointing at a file that exists and a name that is in it, so the page
// cannot quietly cite proofs that are gone. Names of `test.each` rows are cited by their template
// (`refuses %s`, `$name → $status $code`) and matched as templates.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '#local/paths.js';

export interface Citation {
  /** The threat's row number in SECURITY.md. */
  row: string;
  file: string;
  /** Describe and test names cited under the file (each checked on its own). */
  names: string[];
}

const FILE = /`(test\/[^`\s]+\.ts)`/g;

/** The "Proven by" cells of SECURITY.md's threat tables, as the citations they hold. */
export function parseProvenBy(markdown: string): Citation[] {
  const citations: Citation[] = [];
  let provenBy = -1;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) { provenBy = -1; continue; }
    const cells = splitRow(line);
    const header = cells.indexOf('Proven by');
    if (header >= 0) { provenBy = header; continue; }
    if (provenBy < 0 || /^[-\s|:]+$/.test(line)) continue;
    citations.push(...parseCell(cells[0], cells[provenBy] ?? ''));
  }
  return citations;
}

/** A table row's cells; a `|` inside backticks (none today) would need escaping as `\|` anyway. */
function splitRow(line: string): string[] {
  return line.replace(/^\|/, '').replace(/\|\s*$/, '').split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/**
 * One cell: `file` › name [› nested name]; › sibling name; other words `file2` (a note) › name …
 * A name runs from its `›` to the next `›` or file; what separates it from the next citation (`;`,
 * a closing parenthesis, prose ending in `:` that introduces the next file) is not part of it.
 */
export function parseCell(row: string, cell: string): Citation[] {
  const citations: Citation[] = [];
  const tokens = cell.split(/(`test\/[^`\s]+\.ts`|›)/).filter((token) => token !== '');
  let current: Citation | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const file = /^`(test\/[^`\s]+\.ts)`$/.exec(token);
    if (file) {
      current = { row, file: file[1], names: [] };
      citations.push(current);
    } else if (token === '›' && current) {
      const name = cleanName(tokens[i + 1] ?? '');
      if (name) current.names.push(name);
      i++;
    }
  }
  return citations;
}

function cleanName(raw: string): string {
  let name = raw.trim();
  // Prose that introduces the next file ("…; against KMS's own protocol (moto): `test/…`").
  name = name.replace(/;\s[^;]*:\s*$/, '');
  // The separator before the next citation, and a parenthesis closed around a list of them.
  name = name.replace(/[;,]\s*(and)?\s*$/, '').trim();
  if (name.endsWith(')') && count(name, '(') < count(name, ')')) name = name.slice(0, -1).trim();
  // `every scenario of "<describe>"` cites a describe by its name.
  const quoted = /^every scenario of "(.+)"$/.exec(name);
  return quoted ? quoted[1] : name;
}

const count = (text: string, char: string) => text.split(char).length - 1;

/**
 * Whether a cited name is a test or describe name of the source. Placeholders of `test.each`
 * (`%s`, `%i`, `$name`, `$key`) match any placeholder there, so a cited row template stays cited
 * whichever table syntax the file uses. A trailing note in parentheses (`refuses %s
 * (`http://app.example/`)`, `$key (every route)`) is tried without it too.
 */
export function citedIn(source: string, name: string): boolean {
  const text = source.replace(/\\(['"`])/g, '$1');
  const candidates = [name];
  const note = /^(.*\S)\s+\([^()]*\)$/.exec(name);
  if (note) candidates.push(note[1]);
  return candidates.some((candidate) => templatePattern(candidate).test(text));
}

const PLACEHOLDER = /%[sdifjop#%]|\$[A-Za-z_][\w.]*/g;

function templatePattern(name: string): RegExp {
  const parts = name.split(PLACEHOLDER).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // Inside a string literal: the name as written, any placeholder where the citation has one.
  const placeholder = '(?:%[sdifjop#%]|\\$[A-Za-z_][\\w.]*|\\$\\{[^}]*\\})';
  return new RegExp(`['"\`]${parts.join(placeholder)}['"\`]`);
}

const securityMd = readFileSync(join(REPO_ROOT, 'SECURITY.md'), 'utf8');
const citations = parseProvenBy(securityMd);

describe('SECURITY.md cites tests that exist', () => {
  test('the parser finds the threat tables and their citations', () => {
    expect(new Set(citations.map((c) => c.row)).size).toBeGreaterThanOrEqual(30);
    expect(citations.reduce((sum, c) => sum + c.names.length, 0)).toBeGreaterThanOrEqual(80);
  });

  test('every test file SECURITY.md names exists', () => {
    const named = [...new Set([...securityMd.matchAll(FILE)].map((match) => match[1]))];
    expect(named.filter((file) => !existsSync(join(REPO_ROOT, file)))).toEqual([]);
  });

  test('every cited describe or test name is in the file cited for it', () => {
    const missing = citations.flatMap(({ row, file, names }) => {
      const path = join(REPO_ROOT, file);
      if (!existsSync(path)) return [];
      const source = readFileSync(path, 'utf8');
      return names.filter((name) => !citedIn(source, name)).map((name) => `#${row} ${file} › ${name}`);
    });
    expect(missing).toEqual([]);
  });
});

describe('reading a citation', () => {
  test('names, nested names, siblings, notes and the prose between files', () => {
    const cell = '`test/a.test.ts` › outer › refuses %s; › second; name; with a semicolon; against X (moto): '
      + '`test/b.test.ts` (a note); `test/c.test.ts` (the list: › one; › two); '
      + '`test/d.test.ts` › every scenario of "the describe (invariant 6)", and › last';
    expect(parseCell('9', cell)).toEqual([
      { row: '9', file: 'test/a.test.ts', names: ['outer', 'refuses %s', 'second; name; with a semicolon'] },
      { row: '9', file: 'test/b.test.ts', names: [] },
      { row: '9', file: 'test/c.test.ts', names: ['one', 'two'] },
      { row: '9', file: 'test/d.test.ts', names: ['the describe (invariant 6)', 'last'] },
    ]);
  });

  test('templates match any placeholder syntax; plain names match only as written', () => {
    const source = "test.each(rows)('refuses $input', () => {}); test(`a ${kind} is refused`, f); test('the token\\'s owner', f);";
    expect(citedIn(source, 'refuses %s')).toBe(true);
    expect(citedIn(source, 'a %s is refused')).toBe(true);
    expect(citedIn(source, "the token's owner")).toBe(true);
    expect(citedIn(source, 'refuses everything')).toBe(false);
    expect(citedIn(source, 'refuses %s (`http://app.example/`)')).toBe(true);
  });
});
