/**
 * guest_memfd cases on a default VM: creation (checklist 17, 18, 19/20),
 * file calls (21), mmap and host access (22, 23), fallocate (24, 25, 26, 27)
 * and the VM reference (28).
 */

import type { DiffCase } from '../../../tools/kvm_probe/differential.js';
import { PAGE, bits, hex, prelude, range, rng, script } from './script.js';

const SIZE = 4 * PAGE;

/** Offsets and lengths around page boundaries and the end of a 4-page gmem. */
const EDGES = [0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, SIZE - PAGE, SIZE - 1, SIZE, SIZE + 1, SIZE + PAGE, 2 * SIZE];
const SIGNED = ['-1', '-0x1000', '0x7ffffffffffff000', '0x7fffffffffffffff', '0x8000000000000000'];

/** The ten unaligned (offset, len) pairs of guest_memfd_test.c's test_fallocate(). */
const TEN_PAIRS: [number, number][] = [
  [0, 1], [0, PAGE - 1], [0, PAGE + 1],
  [1, 1], [1, PAGE - 1], [1, PAGE], [1, PAGE + 1],
  [PAGE, 1], [PAGE, PAGE - 1], [PAGE, PAGE + 1],
];

export const gmemCases: DiffCase[] = [
  {
    name: 'gmem-create',
    script: script(
      prelude,
      'check_ext vm 234', 'check_ext vm 244', 'check_ext kvm 244',
      'g1 = create_gmem vm 0x1000 0', 'fstat g1',
      'g2 = create_gmem vm 0x2000 0', 'fstat g2', 'fstat g1',
      'g3 = create_gmem vm 0x4000 3', 'fstat g3',
      'd = dup g1', 'fstat d',
      'create_gmem vm 0x1000 0 1 2 3 4 5 6',
      'create_gmem vm 0x1000 0 -1 -1 -1 -1 -1 -1',
      'big = create_gmem vm 0x4000000000000000 0', 'fstat big',
      'create_gmem vm 0x7ffffffffffff000 0',
      'create_gmem vm 0x8000000000000000 0',
      'create_gmem vm 0xfffffffffffff000 0',
    ),
  },
  {
    name: 'gmem-size-sweep',
    script: script(
      prelude,
      range(PAGE).map((s) => `create_gmem vm ${s} 0`),
      range(16).flatMap((k) => [`create_gmem vm ${hex((k + 1) * PAGE - 1)} 0`, `create_gmem vm ${hex((k + 1) * PAGE + 1)} 0`]),
      SIGNED.map((s) => `create_gmem vm ${s} 0`),
    ),
  },
  {
    name: 'gmem-flags',
    script: script(
      prelude,
      bits(64).map((b) => `create_gmem vm 0x1000 ${b}`),
      range(8).map((f) => `create_gmem vm 0x1000 ${f}`),
      'create_gmem vm 0x1000 0x8000000000000003',
      'create_gmem vm 0x1001 3',
      'create_gmem vm 0 0x4',
    ),
  },
  {
    name: 'gmem-file-calls',
    script: script(
      prelude,
      ['0', '3'].flatMap((flags, i) => [
        `g${i} = create_gmem vm ${hex(SIZE)} ${flags}`,
        `read g${i} 8`, `write g${i} 8`, `read g${i} 0`, `write g${i} 0`,
        `pread g${i} 8 0`, `pwrite g${i} 8 0`, `pread g${i} 8 4096`, `pread g${i} 8 -1`, `pwrite g${i} 8 -1`,
        `lseek g${i} 0 0`, `lseek g${i} 4096 0`, `lseek g${i} 0 1`, `lseek g${i} 0 2`, `lseek g${i} 0 3`, `lseek g${i} 0 4`, `lseek g${i} 0 5`, `lseek g${i} -1 0`,
        `ftruncate g${i} 0`, `ftruncate g${i} ${hex(SIZE)}`, `ftruncate g${i} ${hex(2 * SIZE)}`, `ftruncate g${i} -1`,
        `fstat g${i}`,
      ]),
    ),
  },
  {
    name: 'gmem-mmap',
    script: script(
      prelude,
      `g0 = create_gmem vm ${hex(SIZE)} 0`,
      `mmap g0 ${hex(SIZE)} 0 3 1`, `mmap g0 ${hex(SIZE)} 0 3 2`, `mmap g0 ${hex(SIZE)} 0 1 1`,
      `g1 = create_gmem vm ${hex(SIZE)} 1`,
      `m1 = mmap g1 ${hex(SIZE)} 0 3 1`, `mmap g1 ${hex(SIZE)} 0 3 2`, `mmap g1 ${hex(SIZE)} 0 1 2`,
      'peek m1', 'poke m1 1', 'peek m1+0x3fff',
      `g3 = create_gmem vm ${hex(SIZE)} 3`,
      `m3 = mmap g3 ${hex(SIZE)} 0 3 1`, `mmap g3 ${hex(SIZE)} 0 3 2`,
      'peek m3', 'poke m3 0x5a', 'peek m3', 'poke m3+0x3fff 0x77', 'peek m3+0x3fff', 'peek m3+0x1000',
      `m3b = mmap g3 ${hex(SIZE)} 0 3 1`, 'peek m3b', 'peek m3b+0x3fff',
      `m3c = mmap g3 ${hex(2 * SIZE)} 0 3 1`, 'peek m3c+0x3fff', `peek m3c+${hex(SIZE)}`, `poke m3c+${hex(SIZE + PAGE)} 1`,
      `m3d = mmap g3 ${hex(PAGE)} ${hex(PAGE)} 3 1`, 'peek m3d',
      `mmap g3 ${hex(PAGE)} 1 3 1`, `mmap g3 ${hex(PAGE)} ${hex(2 * SIZE)} 3 1`, `mmap g3 0 0 3 1`,
      `m3r = mmap g3 ${hex(PAGE)} 0 1 1`, 'peek m3r', 'poke m3r 1',
      `munmap m3 ${hex(SIZE)}`, 'peek m3b',
      'close g3', 'peek m3b+0x3fff', 'poke m3b 2', 'peek m3b',
    ),
  },
  {
    name: 'gmem-mmap-flags-and-prot',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(SIZE)} 3`,
      `f = create_gmem vm ${hex(SIZE)} 1`,
      `z = create_gmem vm ${hex(SIZE)} 0`,
      'cpu = create_vcpu vm 0',
      'mfd = memfd', `ftruncate mfd ${hex(SIZE)}`,
      ...['g', 'f', 'z', 'cpu', 'mfd'].flatMap((x) => [
        // MAP_SHARED_VALIDATE, MAP_SHARED with NORESERVE, POPULATE, LOCKED, no type, MAP_GROWSDOWN (with VALIDATE, with PRIVATE)
        ...['0x3', '0x4001', '0x8001', '0x2001', '0x0', '0x103', '0x102'].map((fl) => `mmap ${x} ${hex(PAGE)} 0 3 ${fl}`),
        ...['0', '1', '2', '4', '5', '7', '8'].map((prot) => `mmap ${x} ${hex(PAGE)} 0 ${prot} 1`),
      ]),
      `n = mmap g ${hex(PAGE)} 0 0 1`, 'peek n', 'poke n 1',
      `x = mmap g ${hex(SIZE)} 0 5 1`, 'peek x', 'poke x 1',
      `v = mmap g ${hex(SIZE)} 0 3 3`, 'poke v 5', 'peek v',
      `o = mmap g 100 ${hex(SIZE - PAGE)} 3 1`, 'peek o', 'peek o+0xfff', 'poke o+0x800 3',
      `e = mmap g ${hex(PAGE)} ${hex(SIZE)} 3 1`, 'peek e',
    ),
  },
  {
    name: 'host-mappings',
    script: script(
      'a = mmap_anon 0x4000', 'poke a 1', 'peek a', 'peek a+0x3fff',
      'munmap a+0x1000 0x1000', 'peek a+0x1000', 'peek a+0x2000',
      'munmap a+1 0x1000', 'munmap a 0', 'munmap a+0x1000 0x1000',
      'munmap a 0x4000', 'peek a', 'munmap a 0x4000',
      'mmap_anon 0', 'z = mmap_anon 1', 'peek z+0xfff', 'munmap z 1',
      'mmap_anon 0xfffffffffffff000',
    ),
  },
  {
    name: 'gmem-fallocate-modes',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(SIZE)} 0`,
      range(0x80).map((m) => `fallocate g ${hex(m)} 0 0x1000`),
      ['0x100', '0x200', '0x1000', '0x40000000', '0x80000000', '0xffffffff', '-1'].map((m) => `fallocate g ${m} 0 0x1000`),
      range(0x80).map((m) => `fallocate g ${hex(m)} 1 0x1000`),
    ),
  },
  {
    name: 'gmem-fallocate-ranges',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(SIZE)} 0`,
      ['1', '3'].flatMap((mode) => [...EDGES.map(String), ...SIGNED].flatMap((off) =>
        [...EDGES.map(String), ...SIGNED].map((len) => `fallocate g ${mode} ${off} ${len}`))),
      TEN_PAIRS.flatMap(([o, l]) => [`fallocate g 1 ${o} ${l}`, `fallocate g 3 ${o} ${l}`]),
      `fallocate g 3 ${hex(SIZE)} 0x1000`, `fallocate g 3 ${hex(SIZE + PAGE)} 0x1000`, `fallocate g 3 0x100000000 0x1000`,
      `fallocate g 1 0 ${hex(SIZE)}`,
    ),
  },
  {
    name: 'gmem-punch-content',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(SIZE)} 3`,
      `m = mmap g ${hex(SIZE)} 0 3 1`,
      range(4).flatMap((p) => [`poke m+${hex(p * PAGE)} ${p + 1}`, `poke m+${hex(p * PAGE + PAGE - 1)} ${p + 0x11}`]),
      'fallocate g 3 0x1000 0x2000',
      range(4).flatMap((p) => [`peek m+${hex(p * PAGE)}`, `peek m+${hex(p * PAGE + PAGE - 1)}`]),
      'fallocate g 1 0 0x4000',
      range(4).map((p) => `peek m+${hex(p * PAGE)}`),
      'poke m+0x1000 9', 'fallocate g 3 0x1000 0x100000', 'peek m+0x1000', 'peek m',
    ),
  },
  {
    name: 'gmem-outlives-vm',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(SIZE)} 3`,
      `m = mmap g ${hex(SIZE)} 0 3 1`, 'poke m 0x42',
      'close vm',
      'fallocate g 3 0 0x1000', 'fallocate g 1 0 0x1000', 'fallocate g 1 0 0x5000', 'fstat g', 'peek m', 'poke m+0x1000 1', 'peek m+0x1000',
      'create_gmem vm 0x1000 0', 'check_ext vm 244',
      `m2 = mmap g ${hex(SIZE)} 0 3 1`, 'peek m2+0x1000',
    ),
  },
  {
    // Random punches, allocations, host writes and reads through an INIT_SHARED mapping of 8 pages.
    name: 'random-fallocate-content',
    script: script(prelude, 'g = create_gmem vm 0x8000 3', 'm = mmap g 0x9000 0 3 1', (() => {
      const r = rng(0x327b23c6);
      return range(600).map(() => {
        const at = hex(r.int(9) * PAGE + r.pick([0, 0, 0, 1, 0xfff]));
        switch (r.int(4)) {
          case 0: return `poke m+${at} ${1 + r.int(255)}`;
          case 1: return `peek m+${at}`;
          default: {
            const mode = r.pick(['1', '3', '3', '0', '2', '0x11', '0x9']);
            const off = hex(r.int(10) * PAGE + r.pick([0, 0, 0, 0, 0x10]));
            const len = hex(r.pick([0, 1, 1, 2, 3, 8, 9]) * PAGE + r.pick([0, 0, 0, 0, 0x10]));
            return `fallocate g ${mode} ${off} ${len}`;
          }
        }
      });
    })()),
  },
];
