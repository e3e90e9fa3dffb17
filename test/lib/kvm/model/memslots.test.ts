import t from 'tap';
import { anon, gmem, setup } from './helpers.js';
import { EBADF, EEXIST, EINVAL } from '../../../../lib/kvm/errno.js';
import { KVM_MEM_GUEST_MEMFD as GMEM, KVM_MEM_LOG_DIRTY_PAGES as DIRTY, KVM_MEM_READONLY as RO, PAGE_SIZE, SZ_2M } from '../../../../lib/kvm/uapi.js';

const P = PAGE_SIZE;
const GPA = 0xc0000000n;
const E = (errno: number) => ({ ret: -1, errno });
const OK = { ret: 0, errno: 0 };

t.test('#29 v1 KVM_SET_USER_MEMORY_REGION with GUEST_MEMFD (or any v2-only/unknown flag) → EINVAL', async (t) => {
  const { vm } = setup(1);
  for (let bit = 0; bit < 32; bit++) {
    const f = (1 << bit) >>> 0;
    const r = vm.__setUserMemoryRegion({ slot: 0, flags: f, guestPhysAddr: 0, memorySize: SZ_2M, userspaceAddr: 0 });
    if (f === DIRTY || f === RO) t.same(r, OK, `v1 bit ${bit} ok`);
    else t.same(r, E(EINVAL), `v1 bit ${bit}`);
    vm.__setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0 });
  }
});

t.test('#30 REGION2 with GUEST_MEMFD on a VM without gmem-slot support (6.12 default VM) → EINVAL', async (t) => {
  const e = setup(0, '6.12');
  t.same(e.vm.__setUserMemoryRegion2({ slot: 0, flags: GMEM, guestPhysAddr: 0, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: 3 }), E(EINVAL));
  const e18 = setup(0, '6.18');
  const g = gmem(e18, SZ_2M, 3);
  t.same(e18.vm.__setUserMemoryRegion2({ slot: 0, flags: GMEM, guestPhysAddr: 0, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: g.fd }), OK, '6.18 default VM accepts it');
});

t.test('#31 GUEST_MEMFD|LOG_DIRTY_PAGES and GUEST_MEMFD|READONLY → EINVAL', async (t) => {
  const e = setup(1);
  const g = gmem(e, SZ_2M);
  for (const f of [GMEM | DIRTY, GMEM | RO]) {
    t.same(e.vm.__setUserMemoryRegion2({ slot: 0, flags: f, guestPhysAddr: 0, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: g.fd }), E(EINVAL), `flags ${f}`);
  }
  t.same(setup(5).vm.__setUserMemoryRegion2({ slot: 0, flags: RO, guestPhysAddr: 0, memorySize: P, userspaceAddr: 0 }), E(EINVAL), 'READONLY on TDX (protected state)');
});

t.test('#32 REGION2 with an unknown flag bit → EINVAL', async (t) => {
  const { vm } = setup(1);
  for (let bit = 3; bit < 32; bit++) {
    t.same(vm.__setUserMemoryRegion2({ slot: 0, flags: (1 << bit) >>> 0, guestPhysAddr: 0, memorySize: SZ_2M, userspaceAddr: 0 }), E(EINVAL), `bit ${bit}`);
  }
});

t.test('#33 guest_memfd = /dev/kvm, the VM fd, a memfd, another VM gmem → EINVAL; closed/invalid → EBADF', async (t) => {
  const e = setup(1);
  const other = e.sys.__createVm(1).vm!;
  const og = other.__createGuestMemfd(SZ_2M).gmem!;
  const memfd = e.b.memfdCreate('not-gmem').ret;
  e.b.ftruncate(memfd, BigInt(SZ_2M));
  const add = (fd: number) => e.vm.__setUserMemoryRegion2({ slot: 10, flags: GMEM, guestPhysAddr: GPA, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: fd });
  t.same(add(e.sys.fd), E(EINVAL), '/dev/kvm fd');
  t.same(add(e.vm.fd), E(EINVAL), 'VM fd');
  t.same(add(memfd), E(EINVAL), 'memfd');
  t.same(add(og.fd), E(EINVAL), "another VM's gmem");
  t.same(other.__setUserMemoryRegion2({ slot: 10, flags: GMEM, guestPhysAddr: GPA, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: og.fd }), OK, 'binds to its own VM');
  const g = gmem(e, SZ_2M);
  g.__close();
  t.same(add(g.fd), E(EBADF), 'closed fd');
  t.same(add(-1), E(EBADF), 'fd -1 (u32 0xffffffff)');
  t.same(add(4000), E(EBADF), 'never opened');
});

t.test('#34 guest_memfd_offset 1..PAGE-1 → EINVAL, 0 → success', async (t) => {
  const e = setup(1);
  const g = gmem(e, SZ_2M);
  let bad = 0;
  for (let off = 1; off < P; off++) {
    if (e.vm.__setUserMemoryRegion2({ slot: 10, flags: GMEM, guestPhysAddr: GPA, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: g.fd, guestMemfdOffset: off }).errno !== EINVAL) bad++;
  }
  t.equal(bad, 0);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 10, flags: GMEM, guestPhysAddr: GPA, memorySize: SZ_2M, userspaceAddr: 0, guestMemfd: g.fd, guestMemfdOffset: 0 }), OK);
});

t.test('#35 guest_memfd_offset + memory_size > gmem size → EINVAL (also offset+size wrap)', async (t) => {
  const e = setup(1);
  const g = gmem(e, SZ_2M);
  const add = (off: bigint, size: bigint) => e.vm.__setUserMemoryRegion2({ slot: 10, flags: GMEM, guestPhysAddr: GPA, memorySize: size, userspaceAddr: 0, guestMemfd: g.fd, guestMemfdOffset: off });
  t.same(add(BigInt(P), BigInt(SZ_2M)), E(EINVAL));
  t.same(add(0n, BigInt(SZ_2M + P)), E(EINVAL));
  t.same(add((1n << 64n) - 4096n, 8192n), E(EINVAL), 'offset + size wraps');
  t.same(add(BigInt(SZ_2M - P), BigInt(P)), OK);
});

t.test('#36 binding a gmem range already bound to another slot → EINVAL', async (t) => {
  const e = setup(1);
  const g = gmem(e, 4 * SZ_2M);
  const add = (slot: number, gpa: bigint, off: number) => e.vm.__setUserMemoryRegion2({ slot, flags: GMEM, guestPhysAddr: gpa, memorySize: 2 * SZ_2M, userspaceAddr: 0, guestMemfd: g.fd, guestMemfdOffset: off });
  t.same(add(10, GPA, 0), OK);
  t.same(add(11, 0x200000000n, SZ_2M), E(EINVAL), 'overlapping gmem range, disjoint GPA');
  t.same(add(11, 0x200000000n, 2 * SZ_2M), OK, 'disjoint gmem range');
});

t.test('#37 a slot whose GPA range overlaps another slot → EEXIST (gmem ranges disjoint)', async (t) => {
  const e = setup(1);
  const g = gmem(e, 4 * SZ_2M);
  const M4 = BigInt(2 * SZ_2M);
  const add = (slot: number, gpa: bigint, off: bigint, size = M4) => e.vm.__setUserMemoryRegion2({ slot, flags: GMEM, guestPhysAddr: gpa, memorySize: size, userspaceAddr: 0, guestMemfd: slot < 0 ? -1 : g.fd, guestMemfdOffset: off });
  t.same(add(10, 0xc0000000n, 0n), OK);
  t.same(add(11, 0x180000000n, M4), OK);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 10, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0, guestMemfd: -1 }), OK, 'delete slot 10');
  t.same(add(10, 0x180000000n - BigInt(SZ_2M), 0n), E(EEXIST));
  t.same(add(10, 0x180000000n + BigInt(SZ_2M), 0n), E(EEXIST));
  const hva = anon(e, SZ_2M);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 12, flags: 0, guestPhysAddr: 0x180000000n, memorySize: SZ_2M, userspaceAddr: hva }), E(EEXIST), 'plain slot overlapping too');
});

t.test('#38 gmem slots are immutable; delete works and unbinds the range', async (t) => {
  const e = setup(1);
  const g = gmem(e, SZ_2M);
  const base = { slot: 10, flags: GMEM, guestPhysAddr: GPA, memorySize: SZ_2M, userspaceAddr: 0n, guestMemfd: g.fd } as const;
  t.same(e.vm.__setUserMemoryRegion2(base), OK);
  t.same(e.vm.__setUserMemoryRegion2({ ...base, guestPhysAddr: GPA + BigInt(SZ_2M) }), E(EINVAL), 'move');
  t.same(e.vm.__setUserMemoryRegion2({ ...base, userspaceAddr: 0x100000n }), E(EINVAL), 'new address');
  t.same(e.vm.__setUserMemoryRegion2({ ...base, flags: 0 }), E(EINVAL), 'drop GUEST_MEMFD');
  t.same(e.vm.__setUserMemoryRegion2({ ...base, flags: GMEM | DIRTY }), E(EINVAL), 'add LOG_DIRTY');
  t.same(e.vm.__setUserMemoryRegion2(base), E(EINVAL), 'identical re-add is a modification of a gmem slot');
  t.same(e.vm.__setUserMemoryRegion2({ ...base, memorySize: 0 }), OK, 'delete');
  t.same(e.vm.__setUserMemoryRegion2({ ...base, memorySize: 0 }), E(EINVAL), 'delete a missing slot');
  t.same(e.vm.__setUserMemoryRegion2({ ...base, slot: 11, guestPhysAddr: 0x200000000n }), OK, 'the range binds again');
});

t.test('#39 userspace_addr = 0 is accepted for a gmem slot', async (t) => {
  const e = setup(0);
  const g = gmem(e, P, 3);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: 1n << 32n, memorySize: P, userspaceAddr: 0, guestMemfd: g.fd }), OK);
});

t.test('memslot checks in kernel order: slot id, alignment, address space, wrap, max gfn; moves and flags', async (t) => {
  const e = setup(0);
  const hva = anon(e, 4 * SZ_2M);
  const r = (o: Partial<Parameters<typeof e.vm.__setUserMemoryRegion2>[0]>) =>
    e.vm.__setUserMemoryRegion2({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: SZ_2M, userspaceAddr: hva, ...o });
  t.same(r({ slot: 32764 }), E(EINVAL), 'slot id = KVM_USER_MEM_SLOTS');
  t.same(r({ slot: 32764, flags: 1 << 20 }), E(EINVAL), 'slot id checked first');
  t.same(r({ memorySize: SZ_2M + 1 }), E(EINVAL), 'unaligned size');
  t.same(r({ guestPhysAddr: 1 }), E(EINVAL), 'unaligned gpa');
  t.same(r({ userspaceAddr: hva + 1n }), E(EINVAL), 'unaligned hva');
  t.same(r({ userspaceAddr: 0x7ffffffff000n }), E(EINVAL), 'hva range beyond TASK_SIZE');
  t.same(r({ slot: 2 << 16 }), E(EINVAL), 'address space 2');
  t.same(r({ guestPhysAddr: (1n << 64n) - 4096n }), E(EINVAL), 'GPA wrap');
  t.same(r({ guestPhysAddr: 1n << 52n }), E(EINVAL), 'past the max GFN');
  t.same(r({}), OK);
  t.same(r({}), OK, 'no change is 0');
  t.same(r({ flags: DIRTY }), OK, 'flags-only change');
  t.same(r({ guestPhysAddr: BigInt(SZ_2M) * 8n, flags: DIRTY }), OK, 'move');
  t.same(r({ memorySize: 2 * SZ_2M }), E(EINVAL), 'resize');
  t.same(r({ slot: 1 << 16 }), OK, 'SMM address space 1 is separate');
  t.same(r({ slot: 1, guestPhysAddr: BigInt(SZ_2M) * 8n }), E(EEXIST));
  t.same(e.vm.__ioctl(0x40a0ae49, new Uint8Array(100)), E(14), 'short struct → EFAULT');
});

t.test('up to 32764 slots; one more id → EINVAL', async (t) => {
  const e = setup(0);
  let bad = 0;
  for (let s = 0; s < 32764; s++) {
    if (e.vm.__setUserMemoryRegion2({ slot: s, flags: 0, guestPhysAddr: BigInt(s) * 4096n, memorySize: P, userspaceAddr: 0 }).ret !== 0) bad++;
  }
  t.equal(bad, 0, '32764 slots created');
  t.same(e.vm.__setUserMemoryRegion2({ slot: 32764, flags: 0, guestPhysAddr: 1n << 40n, memorySize: P, userspaceAddr: 0 }), E(EINVAL));
});

t.test('address space 1 (SMM) exists only for VMs without private memory (kvm_arch_nr_memslot_as_ids())', async (t) => {
  for (const [type, ok] of [[0, true], [1, false], [2, true], [3, true], [4, false], [5, false]] as const) {
    const e = setup(type);
    const r = e.vm.__setUserMemoryRegion({ slot: 1 << 16, flags: 0, guestPhysAddr: 0, memorySize: P, userspaceAddr: 0 });
    t.same(r, ok ? OK : E(EINVAL), `type ${type}: as_id 1 ${ok ? 'accepted' : 'EINVAL'}`);
  }
});

t.test('kvm_set_memory_region() order: GPA overlap (EEXIST), then kvm_gmem_bind() (EBADF), then the arch max-GFN check (oracle)', async (t) => {
  const e = setup(0);
  const g = gmem(e, SZ_2M);
  t.same(e.vm.__setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 0, memorySize: P, userspaceAddr: 0 }), OK);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 2, flags: GMEM, guestPhysAddr: 0, memorySize: P, userspaceAddr: 0, guestMemfd: 999 }), E(EEXIST));
  t.same(e.vm.__setUserMemoryRegion2({ slot: 2, flags: GMEM, guestPhysAddr: 1n << 52n, memorySize: P, userspaceAddr: 0, guestMemfd: 999 }), E(EBADF));
  t.same(e.vm.__setUserMemoryRegion2({ slot: 2, flags: GMEM, guestPhysAddr: 1n << 52n, memorySize: P, userspaceAddr: 0, guestMemfd: g.fd }), E(EINVAL));
  t.same(e.vm.__setUserMemoryRegion2({ slot: 2, flags: GMEM, guestPhysAddr: P, memorySize: P, userspaceAddr: 0, guestMemfd: g.fd }), OK, 'the failed bind was undone');
});
