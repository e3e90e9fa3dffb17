/**
 * TEST_ASSERT_SAME_BACKING(vm, gpa): the page a test reads and writes as
 * "shared" through addr_gpa2hva() is the very page the guest uses as
 * "private", i.e. the guest_memfd page bound at `gpa`. An in-place
 * conversion test that checks bytes through any other page (a separate
 * anonymous or shmem backing, the wrong offset) passes without testing
 * anything; the in-place series' own TDX run once did exactly that (v8
 * cover letter: "the shared memory being tested is actually in a completely
 * different host physical page"). Every conversion test calls this on the
 * pages it converts.
 *
 * What is checked:
 * 1. the GPA lies in a KVM_MEM_GUEST_MEMFD slot;
 * 2. the host address for it maps that guest_memfd (same inode, as fstat()
 *    of the slot's guest_memfd says) MAP_SHARED at the slot's guest_memfd
 *    offset plus the GPA's offset in the slot — read from the backend's
 *    /proc/self/maps view, not from kvm_util's own bookkeeping;
 * 3. on the model, also that KVM serves both the guest's private and shared
 *    accesses to `gpa` from that page (a real KVM does so by construction
 *    of the memslot: a GMEM_ONLY slot, 7.4's kvm_gmem_is_private()).
 */
import type { HostMapping } from '../kvm/backend.js';
import { KVM_MEM_GUEST_MEMFD } from '../kvm/uapi.js';
import { failureSite, testAssertFail } from './assert.js';
import { kvmBackend } from './kvm_dev.js';
import { addrGpa2Hva, memRegionFind } from './memslots.js';
import { fstat } from './syscalls.js';
import { hex } from './types.js';
import type { KvmVm } from './vm.js';

const SELF = ['lib/kvm_util/backing.ts'];

const describe = (m: HostMapping | undefined): string =>
  m === undefined ? 'nothing mapped' : m.ino === 0n ? 'anonymous memory' : `inode ${m.ino} offset ${hex(m.offset)}${m.shared ? '' : ' (MAP_PRIVATE)'}`;

/**
 * TEST_ASSERT_SAME_BACKING(): the page the host reaches at the slot's HVA
 * for `gpa` and the page the guest's private view uses are one page (the
 * same guest_memfd inode and offset in /proc/self/maps terms), so a
 * conversion test cannot pass on memory that is not the guest's.
 */
export function TEST_ASSERT_SAME_BACKING(vm: KvmVm, gpa: bigint | number): void {
  const g = BigInt(gpa) & ~BigInt(vm.pageSize - 1);
  const expr = `shared and private views of gpa ${hex(g)} share one page`;
  const fail = (msg: string): never => testAssertFail(failureSite(SELF), expr, msg);
  const region = memRegionFind(vm, g, g);
  if (!region || !(region.flags & KVM_MEM_GUEST_MEMFD) || region.guestMemfd < 0) {
    return fail(`gpa ${hex(g)} is not in a guest_memfd memslot: there is no private page to compare`);
  }
  const ino = fstat(region.guestMemfd).stat?.ino;
  if (ino === undefined) return fail(`fstat() of the slot's guest_memfd (fd ${region.guestMemfd}) failed`);
  const offset = region.guestMemfdOffset + (g - region.gpa);
  const want = `guest_memfd inode ${ino} offset ${hex(offset)}`;
  const b = kvmBackend();
  if (!b.mappingAt) return fail(`backend ${b.name} cannot say what a host address maps`);
  const hva = addrGpa2Hva(vm, g);
  const host = b.mappingAt(hva);
  if (!host || host.ino !== ino || host.offset !== offset || !host.shared) {
    fail(`the host's view of gpa ${hex(g)} (hva ${hex(hva)}) is ${describe(host)}, but the guest's private page is ${want}: ` +
      'checks through that address would not see the memory the guest converts');
  }
  const m = b.model;
  if (!m) return;
  for (const view of ['private', 'shared'] as const) {
    const k = m.guestBackingOf(vm.fd, g, view);
    if (!k || k.ino !== ino || k.offset !== offset) fail(`KVM serves the guest's ${view} accesses to gpa ${hex(g)} from ${describe(k)}, not ${want}`);
  }
}
