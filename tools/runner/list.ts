// kselftest-list.txt: one `collection:test` line per test, written by the
// top-level Makefile's install from each collection's `emit_tests`
// (tools/testing/selftests/Makefile). The collection part may hold '/'
// (net/forwarding, coco/tdx); the test part is a file name.

export interface ListEntry {
  collection: string;
  test: string;
}

export class ListError extends Error {}
/** `No such test 'x'` / `No such collection 'x'`: run_kselftest.sh exits 1. */
export class NoSuchError extends Error {}

const ENTRY = /^([^:\s]+):([^:\s/]+)$/;

export function entryName(e: ListEntry): string {
  return `${e.collection}:${e.test}`;
}

export function parseList(text: string, file: string): ListEntry[] {
  const out: ListEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') return;
    const m = ENTRY.exec(line);
    if (!m) throw new ListError(`${file}:${i + 1}: malformed entry '${line}': expected COLLECTION:TEST`);
    out.push({ collection: m[1]!, test: m[2]! });
  });
  return out;
}

export interface Selection {
  tests: readonly string[];
  collections: readonly string[];
  skip: readonly string[];
}

/**
 * run_kselftest.sh: `-t` entries first, then every entry of each `-c`
 * collection; with neither, the whole list. `-S` entries are removed
 * afterwards. Unknown names are errors before anything runs.
 */
export function selectEntries(all: readonly ListEntry[], sel: Selection): ListEntry[] {
  const byName = new Map(all.map((e) => [entryName(e), e]));
  let picked: ListEntry[];
  if (sel.tests.length === 0 && sel.collections.length === 0) {
    picked = [...all];
  } else {
    picked = [];
    for (const t of sel.tests) {
      const e = byName.get(t);
      if (!e) throw new NoSuchError(`No such test '${t}'`);
      picked.push(e);
    }
    for (const c of sel.collections) {
      const found = all.filter((e) => e.collection === c);
      if (found.length === 0) throw new NoSuchError(`No such collection '${c}'`);
      picked.push(...found);
    }
  }
  for (const s of sel.skip) {
    if (!byName.has(s)) throw new NoSuchError(`No such test '${s}'`);
  }
  const skip = new Set(sel.skip);
  const seen = new Set<string>();
  return picked.filter((e) => {
    const n = entryName(e);
    if (skip.has(n) || seen.has(n)) return false;
    seen.add(n);
    return true;
  });
}

/** Collections in sorted order (`cut -d: -f1 | sort | uniq`), tests in list order. */
export function groupByCollection(entries: readonly ListEntry[]): Array<[string, string[]]> {
  const m = new Map<string, string[]>();
  for (const e of entries) {
    const l = m.get(e.collection);
    if (l) l.push(e.test);
    else m.set(e.collection, [e.test]);
  }
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
