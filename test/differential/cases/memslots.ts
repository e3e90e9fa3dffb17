/**
 * Memslot cases on a default VM: flag sweeps for both ioctls (29, 31, 32),
 * guest_memfd binding (33, 34, 35, 36, 38, 39), overlap (37), alignment and
 * range checks around page boundaries, slot ids and address spaces, many
 * slots (KVM_CAP_NR_MEMSLOTS), and changes to existing slots.
 */

import type { DiffCase } from '../../../tools/kvm_probe/differential.js';
import { PAGE, hex, prelude, range, rng, script } from './script.js';

const M2 = 0x200000;
const GPA = 0xc0000000;

/** v1: slot 0, BIT(i), gpa 0, 2 MiB, userspace_addr NULL, then delete whatever was made. */
const v1Flag = (f: string): string[] => [`set_region vm 0 ${f} 0 ${hex(M2)} 0`, 'set_region vm 0 0 0 0 0'];
const v2Flag = (f: string, fd = '0'): string[] => [`set_region2 vm 0 ${f} 0 ${hex(M2)} 0 0 ${fd}`, 'set_region2 vm 0 0 0 0 0 0 0'];
const flagBits = range(32).map((i) => hex(1 << i >>> 0));

export const memslotCases: DiffCase[] = [
  {
    name: 'v1-flags',
    script: script(prelude, flagBits.flatMap((f) => v1Flag(f)), ['0x3', '0x5', '0x7', '0xffffffff'].flatMap((f) => v1Flag(f))),
  },
  {
    name: 'v2-flags-no-gmem',
    script: script(prelude, flagBits.flatMap((f) => v2Flag(f)), ['0x3', '0x5', '0x6', '0x7'].flatMap((f) => v2Flag(f))),
  },
  {
    name: 'v2-flags-with-gmem',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(M2)} 0`,
      flagBits.flatMap((f) => v2Flag(hex((Number(f) | 4) >>> 0), 'g')),
      v2Flag('0x4', 'g'), v2Flag('0x5', 'g'), v2Flag('0x6', 'g'), v2Flag('0x7', 'g'),
    ),
  },
  {
    name: 'gmem-bind-fds',
    script: script(
      prelude,
      'check_ext vm 231',
      `g = create_gmem vm ${hex(4 * M2)} 0`,
      'vm2 = create_vm kvm 0', `g2 = create_gmem vm2 ${hex(M2)} 0`,
      'mfd = memfd', `ftruncate mfd ${hex(M2)}`,
      'cpu = create_vcpu vm 0',
      `closed = create_gmem vm ${hex(M2)} 0`, 'close closed',
      ['kvm', 'vm', 'mfd', 'g2', 'cpu', 'closed', '999', '-1', '0x7fffffff'].map((fd) => `set_region2 vm 10 4 ${hex(GPA)} ${hex(M2)} 0 0 ${fd}`),
      `set_region2 vm2 10 4 ${hex(GPA)} ${hex(M2)} 0 0 g2`,
      `set_region2 vm2 11 4 ${hex(GPA + M2)} ${hex(M2)} 0 0 g`,
      range(PAGE - 1).map((o) => `set_region2 vm 10 4 ${hex(GPA)} ${hex(M2)} 0 ${o + 1} g`),
      [PAGE + 1, M2 - 1, M2 + 1].map((o) => `set_region2 vm 10 4 ${hex(GPA)} ${hex(M2)} 0 ${hex(o)} g`),
      `set_region2 vm 10 4 ${hex(GPA)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 10 0 ${hex(GPA)} 0 0 0 0`,
      `set_region2 vm 10 4 ${hex(GPA)} ${hex(M2)} 0 0 g`,
    ),
  },
  {
    name: 'gmem-bind-ranges',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(4 * M2)} 0`,
      // 35: offset + size past the gmem
      `set_region2 vm 1 4 0 ${hex(4 * M2 + PAGE)} 0 0 g`,
      `set_region2 vm 1 4 0 ${hex(M2)} 0 ${hex(3 * M2 + PAGE)} g`,
      `set_region2 vm 1 4 0 ${hex(PAGE)} 0 ${hex(4 * M2)} g`,
      `set_region2 vm 1 4 0 ${hex(PAGE)} 0 -0x1000 g`,
      `set_region2 vm 1 4 0 ${hex(PAGE)} 0 0x8000000000000000 g`,
      `set_region2 vm 1 4 0 ${hex(PAGE)} 0 ${hex(4 * M2 - PAGE)} g`,
      // 36: the same gmem range again at a disjoint GPA, partly, adjacent
      `set_region2 vm 2 4 ${hex(GPA)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 3 4 ${hex(2 * GPA)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 3 4 ${hex(2 * GPA)} ${hex(PAGE)} 0 ${hex(M2 - PAGE)} g`,
      `set_region2 vm 3 4 ${hex(2 * GPA)} ${hex(2 * PAGE)} 0 ${hex(M2 - PAGE)} g`,
      `set_region2 vm 3 4 ${hex(2 * GPA)} ${hex(M2)} 0 ${hex(M2)} g`,
      // 39: userspace_addr 0 (done above) and an arbitrary unmapped one
      `set_region2 vm 4 4 ${hex(3 * GPA)} ${hex(M2)} 0x10000000 ${hex(2 * M2)} g`,
      // 38: changing a gmem slot: flags, HVA, GPA, size, same values
      `set_region2 vm 2 4 ${hex(GPA)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 2 5 ${hex(GPA)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 2 0 ${hex(GPA)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 2 4 ${hex(GPA)} ${hex(M2)} 0x1000 0 g`,
      `set_region2 vm 2 4 ${hex(GPA + M2)} ${hex(M2)} 0 0 g`,
      `set_region2 vm 2 4 ${hex(GPA)} ${hex(PAGE)} 0 0 g`,
      `set_region2 vm 2 4 ${hex(GPA)} ${hex(M2)} 0 ${hex(M2)} g`,
      `set_region vm 2 0 ${hex(GPA)} ${hex(M2)} 0`,
      // delete (size 0, fd ignored), delete again, rebind the range
      `set_region2 vm 2 4 ${hex(GPA)} 0 0 0 -1`,
      `set_region2 vm 2 0 ${hex(GPA)} 0 0 0 0`,
      `set_region2 vm 5 4 ${hex(4 * GPA)} ${hex(M2)} 0 0 g`,
      'close g',
      `set_region2 vm 5 0 0 0 0 0 0`,
      `set_region2 vm 6 4 ${hex(5 * GPA)} ${hex(M2)} 0 0 g`,
    ),
  },
  {
    name: 'overlap',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(4 * M2)} 0`,
      'm = mmap_anon 0x400000',
      `set_region2 vm 10 4 ${hex(GPA)} 0x400000 0 0 g`,
      `set_region2 vm 11 4 0x180000000 0x400000 0 0x400000 g`,
      `set_region2 vm 10 0 ${hex(GPA)} 0 0 0 0`,
      `set_region2 vm 10 4 ${hex(0x180000000 - M2)} 0x400000 0 0 g`,
      `set_region2 vm 10 4 ${hex(0x180000000 + M2)} 0x400000 0 0 g`,
      `set_region2 vm 10 0 ${hex(0x180000000 - PAGE)} 0x2000 m 0 0`,
      `set_region2 vm 10 0 ${hex(0x180000000 + 0x400000 - PAGE)} 0x2000 m 0 0`,
      `set_region2 vm 10 0 ${hex(0x180000000 - PAGE)} 0x1000 m 0 0`,
      `set_region2 vm 12 0 ${hex(0x180000000 + 0x400000)} 0x1000 m 0 0`,
      `set_region2 vm 13 0 ${hex(0x100000000)} 0x10000000 m 0 0`,
      `set_region2 vm 11 0 0x180000000 0 0 0 0`,
      `set_region2 vm 13 0 ${hex(0x100000000)} 0x10000000 m 0 0`,
      // moving a plain slot onto another one
      `set_region2 vm 12 0 ${hex(0x180000000 - PAGE)} 0x1000 m 0 0`,
      `set_region2 vm 12 0 ${hex(0x300000000)} 0x1000 m 0 0`,
    ),
  },
  {
    name: 'alignment-and-ranges',
    script: script(
      prelude,
      'm = mmap_anon 0x400000',
      [1, 0x800, PAGE - 1, PAGE + 1].flatMap((d) => [
        `set_region vm 1 0 ${hex(d)} 0x1000 m`,
        `set_region vm 1 0 0 ${hex(d)} m`,
        `set_region vm 1 0 0 0x1000 m+${d}`,
        `set_region2 vm 1 0 ${hex(d)} 0x1000 m 0 0`,
        `set_region2 vm 1 0 0 ${hex(d)} m 0 0`,
        `set_region2 vm 1 0 0 0x1000 m+${d} 0 0`,
      ]),
      'set_region vm 1 0 0 0 m',
      'set_region vm 1 0 0 0 0',
      'set_region vm 1 0 0 0x1000 0x7ffffffff000',
      'set_region vm 1 0 0 0x1000 0x800000000000',
      'set_region vm 2 0 0 0x2000 0x7fffffffe000',
      'set_region vm 2 0 0 0x2000 0x7ffffffff000',
      'set_region vm 3 0 0 0x1000 0xfffffffffffff000',
      'set_region vm 3 0 0xfffffffffffff000 0x1000 m',
      'set_region vm 3 0 0xffffffffffffe000 0x1000 m',
      'set_region vm 3 0 0x10000000000000 0x1000 m',
      'set_region vm 3 0 0xffffffffff000 0x1000 m',
      'set_region vm 3 0 0xffffffffff000 0x2000 m',
      'set_region vm 3 0 0 0x7ffffffff000 0',
      'set_region vm 3 0 0 0x7ffffffff000 m',
      // 2^31 pages: one more than KVM_MEM_MAX_NR_PAGES (never a size that passes: metadata would be huge)
      'set_region vm 3 0 0 0x80000000000 0',
      'set_region vm 4 0 0 0xfffffffffffff000 m',
      'set_region vm 4 0 0x1000 0xfffffffffffff000 m',
    ),
  },
  {
    name: 'gmem-check-order',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(M2)} 0`,
      // general sanity (sizes, addresses) before the gmem offset, both before the fd is looked at
      'set_region2 vm 1 4 0 0x1000 0x10 0 999',
      'set_region2 vm 1 4 0 0x1001 0 0 999',
      'set_region2 vm 1 4 0x10 0x1000 0 0 999',
      'set_region2 vm 1 4 0 0x1000 0 0x10 999',
      'set_region2 vm 1 4 0 0x1000 0 -0x1000 999',
      'set_region2 vm 1 4 0 0x2000 0 -0x1000 g',
      'set_region2 vm 1 4 0 0x1000 0 0x10 g',
      'set_region2 vm 0x8000 4 0 0x1000 0 0 999',
      'set_region2 vm 1 4 0xfffffffffffff000 0x2000 0 0 999',
      'set_region2 vm 1 4 0x10000000000000 0x1000 0 0 999',
      'set_region2 vm 1 4 0x10000000000000 0x1000 0 0 g',
      'set_region2 vm 1 4 0 0x1000 0 0 999',
      'set_region2 vm 1 0xc 0 0x1000 0 0 999',
      'set_region2 vm 1 4 0 0x1000 0x10 0 g',
      // the GPA overlap (EEXIST) comes before the bind (EBADF)
      'set_region2 vm 1 0 0 0x1000 0 0 0',
      'set_region2 vm 2 4 0 0x1000 0 0 999',
      'set_region2 vm 2 4 0x1000 0x1000 0 0 999',
    ),
  },
  {
    name: 'gmem-bind-lifetime',
    script: script(
      prelude,
      `g = create_gmem vm ${hex(M2)} 0`,
      'd = dup g',
      'set_region2 vm 1 4 0 0x1000 0 0 d',
      'set_region2 vm 2 4 0x100000 0x1000 0 0 g',
      'set_region2 vm 2 4 0x100000 0x1000 0 0x1000 g',
      'close g', 'close d',
      'set_region2 vm 3 4 0x200000 0x1000 0 0x2000 d',
      'set_region2 vm 1 0 0 0 0 0 0',
      'set_region2 vm 2 0 0 0 0 0 0',
      `g2 = create_gmem vm ${hex(M2)} 0`,
      'set_region2 vm 1 4 0 0x1000 0 0 g2',
      // a gmem of a VM whose fd is closed binds nowhere else
      'vm2 = create_vm kvm 0', `g3 = create_gmem vm2 ${hex(M2)} 0`, 'close vm2',
      'set_region2 vm 4 4 0x400000 0x1000 0 0 g3',
      'fallocate g3 1 0 0x1000', 'fstat g3',
    ),
  },
  {
    name: 'slot-ids',
    script: script(
      prelude,
      'check_ext vm 10',
      'm = mmap_anon 0x10000',
      ['0', '1', '32763', '32764', '32765', '0xffff', '0x10000', '0x17ffb', '0x17ffc', '0x1ffff', '0x20000', '0x30000', '0xffff0000', '0xffffffff'].map(
        (s, i) => `set_region vm ${s} 0 ${hex((i + 1) * 0x100000)} 0x1000 m`,
      ),
      'set_region vm 0x10000 0 0x100000 0x1000 m',
      'set_region2 vm 32763 0 0 0 0 0 0',
      'set_region2 vm 0x10000 0 0 0 0 0 0',
      'set_region2 vm 0x10000 0 0x100000 0 0 0 0',
      `g = create_gmem vm ${hex(M2)} 0`,
      `set_region2 vm 0x10005 4 0x40000000 0x1000 0 0 g`,
    ),
  },
  {
    name: 'many-slots',
    script: script(
      prelude,
      'check_ext vm 10',
      'm = mmap_anon 0x1000',
      range(200).map((i) => `set_region vm ${i} 0 ${hex(0x100000000 + i * 0x10000)} 0x1000 m`),
      range(100).map((i) => `set_region vm ${i + 32664} 0 ${hex(0x200000000 + i * 0x10000)} 0x1000 m`),
      range(200).map((i) => `set_region vm ${i} 0 0 0 m`),
      range(200).map((i) => `set_region vm ${i} 0 0 0 m`),
      'set_region vm 0 0 0 0x1000 m',
    ),
  },
  {
    name: 'modify-plain-slot',
    script: script(
      prelude,
      'm = mmap_anon 0x10000',
      'set_region vm 1 0 0x100000 0x4000 m',
      'set_region vm 1 0 0x100000 0x4000 m',
      'set_region vm 1 1 0x100000 0x4000 m',
      'set_region vm 1 0 0x100000 0x4000 m',
      'set_region vm 1 2 0x100000 0x4000 m',
      'set_region vm 1 0 0x100000 0x8000 m',
      'set_region vm 1 0 0x100000 0x4000 m+0x1000',
      'set_region vm 1 0 0x200000 0x4000 m',
      'set_region vm 1 1 0x300000 0x4000 m',
      'set_region2 vm 1 4 0x300000 0x4000 m 0 0',
      'set_region2 vm 1 0 0x300000 0x4000 m 0x1000 5',
      'set_region vm 2 2 0x400000 0x4000 m',
      'set_region vm 2 0 0x400000 0x4000 m',
      'set_region vm 2 2 0x500000 0x4000 m',
      'set_region vm 1 0 0 0 0',
      'set_region vm 1 0 0 0 0',
    ),
  },
  {
    // Random creates, moves, flag changes and deletes over 8 slots, one gmem and one anonymous mapping.
    name: 'random-memslots',
    script: script(prelude, 'g = create_gmem vm 0x10000 0', 'm = mmap_anon 0x10000', (() => {
      const r = rng(0x6b8b4567);
      return range(600).map(() => {
        const slot = r.int(8);
        const gpa = hex(r.pick([0, 1, 2, 3, 4, 6, 8, 12, 15, 16, 30]) * PAGE + r.pick([0, 0, 0, 0, 0, 0x800]));
        const size = hex(r.pick([0, 0, 1, 1, 2, 4, 8, 16, 17]) * PAGE + r.pick([0, 0, 0, 0, 0, 0, 1]));
        const flags = r.pick(['0', '0', '4', '4', '4', '1', '2', '5', '6', '8']);
        const uaddr = r.pick(['m', 'm', 'm+0x1000', '0', 'm+1']);
        const off = hex(r.pick([0, 1, 2, 4, 8, 15, 16]) * PAGE + r.pick([0, 0, 0, 0, 0, 0, 0x10]));
        return r.int(5) === 0 ? `set_region vm ${slot} ${r.pick(['0', '1', '2', '4'])} ${gpa} ${size} ${uaddr}` : `set_region2 vm ${slot} ${flags} ${gpa} ${size} ${uaddr} ${off} g`;
      });
    })()),
  },
];
