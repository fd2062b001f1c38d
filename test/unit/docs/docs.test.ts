// The repository explains itself: code comments and tests cite "invariant N", and each N must be a
// section of docs/ARCHITECTURE.md; the pages link only to files inside the repository (and to
// headings that exist); and the files docs/ names exist, so moving a test or a module means
// updating the page that points at it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { REPO_ROOT as ROOT } from '#local/paths.js';

/** Without a trailing separator, so `startsWith(REPO_ROOT + sep)` means inside it. */
const REPO_ROOT = resolve(ROOT);

const ARCHITECTURE = join(REPO_ROOT, 'docs', 'ARCHITECTURE.md');
const CODE_DIRS = ['functions', 'lib', 'local', 'test', 'bench', 'scripts', 'bin'];
const SKIP_DIRS = new Set(['node_modules', 'cdk.out', '.local', 'artifacts', 'coverage']);

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return SKIP_DIRS.has(name) ? [] : filesUnder(path, keep);
    return keep(path) ? [path] : [];
  });
}

const read = (path: string) => readFileSync(path, 'utf8');
const rel = (path: string) => relative(REPO_ROOT, path).split(sep).join('/');

/** Every Markdown page of the repository (not dependencies' or build output). */
const pages = [
  ...readdirSync(REPO_ROOT).filter((name) => name.endsWith('.md')).map((name) => join(REPO_ROOT, name)),
  ...['docs', ...CODE_DIRS, 'events'].flatMap((dir) => filesUnder(join(REPO_ROOT, dir), (path) => path.endsWith('.md'))),
];

/** The numbers `invariant 3`, `invariants 1, 4 and …`, `invariants 1–6` cite. */
export function citedInvariants(text: string): number[] {
  const numbers: number[] = [];
  for (const match of text.matchAll(/\binvariants?\s+(\d+(?:\s*(?:[–-]|,|and)\s*\d+)*)/gi)) {
    for (const part of match[1].split(/\s*(?:,|and)\s*/)) {
      const [from, to = from] = part.split(/\s*[–-]\s*/).map(Number);
      for (let n = from; n <= to; n++) numbers.push(n);
    }
  }
  return numbers;
}

/** The invariants docs/ARCHITECTURE.md defines: `### N. Title` under `## Invariants`. */
function definedInvariants(markdown: string): Set<number> {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Invariants')) ?? '';
  return new Set([...section.matchAll(/^### (\d+)\. /gm)].map((match) => Number(match[1])));
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

const anchorsOf = (markdown: string) =>
  new Set(markdown.replace(/^```[\s\S]*?^```/gm, '').split('\n').filter((line) => /^#{1,6} /.test(line)).map((line) => anchorOf(line.replace(/^#+ /, ''))));

describe('"invariant N" resolves inside the repository', () => {
  const defined = definedInvariants(read(ARCHITECTURE));

  test('docs/ARCHITECTURE.md defines the invariants 1 to 7 under their numbers', () => {
    expect([...defined].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('every invariant a code comment, test or page cites is a section of docs/ARCHITECTURE.md', () => {
    const sources = [
      ...CODE_DIRS.flatMap((dir) => filesUnder(join(REPO_ROOT, dir), (path) => /\.(ts|mjs|js)$/.test(path))),
      ...pages,
    ];
    const unresolved = sources.flatMap((path) =>
      citedInvariants(read(path)).filter((n) => !defined.has(n)).map((n) => `${rel(path)}: invariant ${n}`));
    expect(unresolved).toEqual([]);
  });

  test('no code comment, test or page cites the team\'s original contract, which a clone does not have', () => {
    // Written escaped, so this file does not find itself.
    const outside = new RegExp(['\\bDESIGN\\b', 'RECIPES\\.md', 'STYLE\\.md'].join('|'));
    const sources = [
      ...CODE_DIRS.flatMap((dir) => filesUnder(join(REPO_ROOT, dir), (path) => /\.(ts|mjs|js)$/.test(path))),
      ...['eslint.config.js', 'jest.config.js'].map((name) => join(REPO_ROOT, name)),
      ...pages,
    ];
    const citing = sources.flatMap((path) => read(path).split('\n')
      .flatMap((line, index) => (outside.test(line) ? [`${rel(path)}:${index + 1}: ${line.trim()}`] : [])));
    expect(citing).toEqual([]);
  });

  test('reads single numbers, lists and ranges', () => {
    expect(citedInvariants('(invariant 3) the callback (invariants 1–6); invariants 1, 4 and the tombstone; Invariant 7: x')).toEqual([3, 1, 2, 3, 4, 5, 6, 1, 4, 7]);
  });
});

describe('the documentation stays inside the repository', () => {
  test('every relative link of every page points at a file in the repository, and every anchor at a heading', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const markdown = read(page).replace(/^```[\s\S]*?^```/gm, '');
      for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [path, anchor] = target.split('#');
        const file = path === '' ? page : resolve(dirname(page), path);
        if (file !== REPO_ROOT && !file.startsWith(REPO_ROOT + sep)) broken.push(`${rel(page)}: ${target} is outside the repository`);
        else if (!existsSync(file)) broken.push(`${rel(page)}: ${target} does not exist`);
        else if (anchor && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor)) broken.push(`${rel(page)}: ${target} names no heading`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('every file or folder of the repository docs/ names exists (a moved test or module moves its mention)', () => {
    const docs = filesUnder(join(REPO_ROOT, 'docs'), (path) => path.endsWith('.md'));
    const named = /`((?:functions|lib|local|test|bench|scripts|bin|events|docs)\/[\w./-]*[\w/])`/g;
    const missing = docs.flatMap((page) => [...read(page).matchAll(named)]
      .map((match) => match[1]).filter((file) => !existsSync(join(REPO_ROOT, file))).map((file) => `${rel(page)}: ${file}`));
    expect(missing).toEqual([]);
  });

  test('anchors as GitHub makes them', () => {
    expect(anchorOf('3. Right customer, fail closed')).toBe('3-right-customer-fail-closed');
    expect(anchorOf('The data proxy and `/directory`')).toBe('the-data-proxy-and-directory');
  });
});
