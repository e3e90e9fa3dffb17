import t from 'tap';
import {
  MAX_IDENTITY_GPA, PAGE_1G, PAGE_2M, PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, buildIdentityMap, planIdentityMap, type GpaRange,
} from '../../../../lib/kvm/x86/paging.js';
import { pageWalk } from './page_walk.js';

const BASE = 0x200000n;
const G = PAGE_1G;
const M = PAGE_2M;

/** Is `va` inside one of `ranges` rounded out to `unit`? */
const covered = (ranges: readonly GpaRange[], unit: bigint, va: bigint): boolean =>
  ranges.some((r) => r.size > 0n && va >= (r.gpa / unit) * unit && va < ((r.gpa + r.size + unit - 1n) / unit) * unit);

t.test('plan: merged large pages and table counts', async (t) => {
  const ranges: GpaRange[] = [
    { gpa: 0x200000n, size: 0x200000n },
    { gpa: 0x10000n, size: 1096n },
    { gpa: 1n << 32n, size: 0x200000n + 0x1000n },
    { gpa: (1n << 32n) + 0x100n, size: 8n },
    { gpa: 1n << 40n, size: 1n },
    { gpa: 0x5000n, size: 0n },
  ];
  const two = planIdentityMap(ranges, false);
  t.equal(two.pageSize, M);
  t.same(two.ranges, [
    { gpa: 0n, size: 0x400000n },
    { gpa: 1n << 32n, size: 0x400000n },
    { gpa: 1n << 40n, size: M },
  ], '2 MiB pages, adjacent ones merged, empty ranges dropped');
  // PML4 + PDPTs for 512 GiB regions 0 and 2 + PDs for GiB 0, 4 and 1024.
  t.equal(two.tables, 1 + 2 + 3);
  t.equal(two.leaves, 5n);
  const one = planIdentityMap(ranges, true);
  t.equal(one.pageSize, G);
  t.same(one.ranges, [{ gpa: 0n, size: G }, { gpa: 4n * G, size: G }, { gpa: 1n << 40n, size: G }]);
  t.equal(one.tables, 1 + 2, 'no PDs with 1 GiB pages');
  t.equal(one.leaves, 3n);
  t.equal(planIdentityMap([{ gpa: 0n, size: 1n << 46n }], false).tables, 1 + 128 + 65536, 'a huge range is counted, not enumerated');
});

t.test('plan: a GPA at or above 2^47 is refused', async (t) => {
  t.throws(() => planIdentityMap([{ gpa: MAX_IDENTITY_GPA, size: 1n }], true), /not below 2\^47/);
  t.throws(() => planIdentityMap([{ gpa: MAX_IDENTITY_GPA - 4n, size: 8n }], true), /not below 2\^47/);
  t.throws(() => planIdentityMap([{ gpa: -1n, size: 8n }], true), /not below 2\^47/);
  t.doesNotThrow(() => planIdentityMap([{ gpa: MAX_IDENTITY_GPA - 8n, size: 8n }], true), 'the last bytes below 2^47 are fine');
});

t.test('tables: every mapped page walks to itself, nothing else is mapped', async (t) => {
  const ranges: GpaRange[] = [
    { gpa: BASE, size: 0x200000n },
    { gpa: 0x10000n, size: 1096n },
    { gpa: 0x3ffff000n, size: 0x2000n },
    { gpa: 1n << 39n, size: 8n },
    { gpa: (1n << 47n) - 8n, size: 8n },
  ];
  for (const gb of [false, true]) {
    const plan = planIdentityMap(ranges, gb);
    const bytes = buildIdentityMap(BASE, plan);
    t.equal(bytes.length, plan.tables * 4096);
    const unit = plan.pageSize;
    let mapped = 0n;
    // Walk every large page of every GiB the ranges touch, and their neighbours.
    const gibs = new Set<bigint>();
    for (const r of ranges) for (let g = r.gpa / G - 1n; g <= (r.gpa + r.size) / G + 1n; g++) if (g >= 0n && g < 1n << 17n) gibs.add(g);
    let bad = 0;
    for (const g of gibs) {
      for (let va = g * G; va < (g + 1n) * G; va += unit) {
        for (const probe of [va, va + unit - 8n]) {
          const w = pageWalk(bytes, BASE, BASE, probe);
          const want = covered(ranges, unit, probe);
          if ('fault' in w) {
            if (want) bad++;
            continue;
          }
          if (!want || w.pa !== probe || w.pageSize !== unit) bad++;
          if (w.entry !== (probe & ~(unit - 1n) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS)) bad++;
          if (w.path.some((e) => (e & 0xfffn) !== (PTE_P | PTE_RW | PTE_A))) bad++;
          if (probe === va) mapped++;
        }
      }
    }
    t.equal(bad, 0, `${gb ? '1 GiB' : '2 MiB'} pages: identity where mapped, not present elsewhere`);
    t.equal(mapped, plan.leaves, `${plan.leaves} leaves, each found`);
  }
});

t.test('tables: random ranges (seeded), mapped iff covered', async (t) => {
  let seed = 0x12345678;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let bad = 0;
  for (let round = 0; round < 40; round++) {
    const ranges: GpaRange[] = Array.from({ length: 1 + rnd(6) }, () => ({
      gpa: BigInt(rnd(64)) * (1n << 30n) + BigInt(rnd(1 << 20)) * 4096n + BigInt(rnd(4096)),
      size: BigInt(rnd(3) === 0 ? rnd(1 << 24) : rnd(8192)),
    }));
    const gb = rnd(2) === 1;
    const plan = planIdentityMap(ranges, gb);
    const bytes = buildIdentityMap(BASE, plan);
    for (let i = 0; i < 300; i++) {
      const r = ranges[rnd(ranges.length)]!;
      const va = BigInt.asUintN(47, r.gpa + BigInt(rnd(1 << 26)) - (1n << 25n));
      const w = pageWalk(bytes, BASE, BASE, va);
      const want = covered(ranges, plan.pageSize, va);
      if (('fault' in w) === want || (!('fault' in w) && w.pa !== va)) bad++;
    }
  }
  t.equal(bad, 0, '40 rounds × 300 probes');
});

t.test('tables: base must be page-aligned', async (t) => {
  t.throws(() => buildIdentityMap(BASE + 8n, planIdentityMap([{ gpa: 0n, size: 1n }], true)), /not 4 KiB aligned/);
});
