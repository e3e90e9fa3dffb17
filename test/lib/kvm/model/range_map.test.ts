import t, { type Test } from 'tap';
import { RangeMap, type Run } from '../../../../lib/kvm/model/range_map.js';

/** Fixed-seed xorshift32, so a failure replays exactly. */
function rng(seed: number): (m: number) => number {
  let s = seed >>> 0 || 1;
  return (m) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % m;
  };
}

/** The minimal run list of a per-page array: equal touching pages form one run, 0 is absent. */
function runsOf(pages: readonly bigint[]): Run[] {
  const out: Run[] = [];
  for (let p = 0; p < pages.length; p++) {
    const v = pages[p]!;
    if (v === 0n) continue;
    const last = out[out.length - 1];
    if (last && last.end === p && last.value === v) out[out.length - 1] = { start: last.start, end: p + 1, value: v };
    else out.push({ start: p, end: p + 1, value: v });
  }
  return out;
}

function check(t: Test, m: RangeMap, pages: readonly bigint[], what: string, r: (m: number) => number): boolean {
  const want = runsOf(pages);
  const got = m.entries();
  if (got.length !== want.length || got.some((g, i) => g.start !== want[i]!.start || g.end !== want[i]!.end || g.value !== want[i]!.value)) {
    t.same(got, want, `${what}: runs match the per-page oracle`);
    return false;
  }
  if (m.size !== want.length) {
    t.equal(m.size, want.length, `${what}: size is the run count`);
    return false;
  }
  for (let p = 0; p < pages.length + 2; p++) {
    if (m.get(p) !== (pages[p] ?? 0n)) {
      t.equal(m.get(p), pages[p] ?? 0n, `${what}: get(${p})`);
      return false;
    }
  }
  for (let q = 0; q < 8; q++) {
    const a = r(pages.length + 1);
    const b = a + r(pages.length + 2 - a);
    for (const v of [0n, 4n, 8n]) {
      let want = true;
      for (let p = a; p < b; p++) if ((pages[p] ?? 0n) !== v) want = false;
      if (m.uniform(a, b, v) !== want) {
        t.equal(m.uniform(a, b, v), want, `${what}: uniform(${a}, ${b}, ${v})`);
        return false;
      }
    }
  }
  return true;
}

t.test('RangeMap matches a per-page oracle under random replacements', async (t) => {
  for (const seed of [1, 7, 42, 1234, 99991]) {
    const r = rng(seed);
    const N = 300;
    const pages: bigint[] = new Array<bigint>(N).fill(0n);
    const m = new RangeMap();
    let ok = true;
    for (let step = 0; step < 2000 && ok; step++) {
      // Mostly short ranges so the map fragments into many runs, with
      // occasional long ones that remove and coalesce dozens at once.
      const long = r(20) === 0;
      const start = r(N);
      const len = long ? r(N - start) + 1 : r(Math.min(6, N - start)) + 1;
      const value = [0n, 0n, 4n, 8n, 8n][r(5)]!;
      m.set(start, start + len, value);
      for (let p = start; p < start + len; p++) pages[p] = value;
      ok = check(t, m, pages, `seed ${seed} step ${step} set(${start}, ${start + len}, ${value})`, r);
    }
    t.ok(ok, `seed ${seed}: 2000 replacements agree with the oracle`);
  }
});

t.test('RangeMap: a long replacement removes and coalesces many runs', async (t) => {
  const m = new RangeMap();
  for (let i = 0; i < 1000; i++) m.set(2 * i, 2 * i + 1, 8n);
  t.equal(m.size, 1000, 'every other page: 1000 runs');
  m.set(1, 1999, 8n);
  t.same(m.entries(), [{ start: 0, end: 1999, value: 8n }], 'filling the holes leaves one run');
  m.set(500, 600, 0n);
  t.same(m.entries(), [{ start: 0, end: 500, value: 8n }, { start: 600, end: 1999, value: 8n }]);
  m.set(0, 1999, 0n);
  t.equal(m.size, 0, 'erasing everything empties the map');
  t.same(m.entries(), []);
});

t.test('RangeMap: empty and touching edges', async (t) => {
  const m = new RangeMap();
  m.set(5, 5, 8n);
  t.equal(m.size, 0, 'an empty range stores nothing');
  m.set(10, 20, 8n);
  m.set(20, 30, 8n);
  m.set(0, 10, 8n);
  t.same(m.entries(), [{ start: 0, end: 30, value: 8n }], 'touching equal runs on both sides merge');
  m.set(10, 20, 4n);
  t.same(m.entries(), [{ start: 0, end: 10, value: 8n }, { start: 10, end: 20, value: 4n }, { start: 20, end: 30, value: 8n }]);
  m.set(2 ** 52 - 1, 2 ** 52, 8n);
  t.equal(m.get(2 ** 52 - 1), 8n, 'the top GFN of a 64-bit GPA space');
  t.equal(m.get(2 ** 52 - 2), 0n);
  m.clear();
  t.equal(m.size, 0);
  t.equal(m.get(0), 0n);
});

t.test('RangeMap: runs apart from each other are inserted alone, and join when the gaps fill', async (t) => {
  const m = new RangeMap();
  for (let i = 999; i >= 0; i--) m.set(2 * i, 2 * i + 1, 8n);
  t.equal(m.size, 1000, 'one run per isolated page, in any order');
  t.same(m.entries().slice(0, 2), [{ start: 0, end: 1, value: 8n }, { start: 2, end: 3, value: 8n }]);
  t.equal(m.get(4), 8n);
  t.equal(m.get(5), 0n);
  for (let i = 0; i < 999; i++) m.set(2 * i + 1, 2 * i + 2, 8n);
  t.same(m.entries(), [{ start: 0, end: 1999, value: 8n }], 'every gap filled: one run');
});
