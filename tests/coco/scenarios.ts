/**
 * Scenarios of reference/platforms.md §5 that several platforms share (31,
 * 32, 34, 36), written once and run by each collection with what its platform
 * needs around the shared steps. A collection keeps the TEST() so its test
 * names stay in its own file.
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { EHWPOISON, EINVAL } from '../../lib/kvm/errno.js';
import { encodeMemoryAttributes2 } from '../../lib/kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2,
  MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_DONE, UCALL_SYNC,
} from '../../lib/kvm/uapi.js';
import { ASSERT_EQ } from '../../lib/harness/index.js';
import { __vmCreateGuestMemfd, vmCheckCap, vmGuestMemPunchHole, requireModel, vmIoctl, vmMemSetPrivate } from '../../lib/kvm_util/index.js';
import { KVM_MODEL_INJECT_POISON, encodePoisonArg } from '../../lib/platform/poison.js';
import {
  COCO_TEST_SLOT, cocoVmCreate, runToMemoryFault, runToUcall, useModelKernel, type CocoVm,
} from '../../lib/kvm_util/coco.js';

/** What a platform adds to the shared private-memory scenarios. */
export interface PrivateMemoryPlatform {
  readonly name: string;
  /**
   * Guest steps before it touches pages the VMM made private, repeated
   * after a punch hands it new pages: TDX ACCEPT, SNP PVALIDATE; nothing
   * where the attribute alone decides (SW_PROTECTED, CCA's RIPAS RAM).
   */
  readonly accept?: (g: GuestBuilder, gpa: bigint, size: number) => void;
  /** VMM steps between creating the VM and its first KVM_RUN (building a TD). */
  readonly launch?: (c: CocoVm) => void;
}

/** A VM whose guest runs `body` over private pages the VMM set up before the first run. */
function privateVm(p: PrivateMemoryPlatform, size: number, body: (g: GuestBuilder, base: bigint) => void): CocoVm {
  const c = cocoVmCreate(p.name, (g, base) => {
    p.accept?.(g, base, size);
    body(g, base);
    g.done();
  });
  p.launch?.(c);
  vmMemSetPrivate(c.vm, c.gpa, size);
  return c;
}

/**
 * Scenario 31: PUNCH_HOLE on private memory the guest has mapped zaps the
 * mapping (kvm_gmem_punch_hole() → kvm_gmem_invalidate_begin()); the next
 * access faults a fresh, zeroed page in.
 */
export async function punchHoleInMappedPrivateMemory(p: PrivateMemoryPlatform): Promise<void> {
  const { vm, vcpu, gpa } = privateVm(p, 4096, (g, base) => {
    g.memset(base, 4096, 0x31, { view: 'private' });
    g.sync(1);
    // A new page: accepted/validated again (not "already accepted"), then zeros.
    p.accept?.(g, base, 4096);
    g.memcmp(base, 4096, 0, { view: 'private' });
  });
  await runToUcall(vcpu, UCALL_SYNC);
  vmGuestMemPunchHole(vm, gpa, 4096);
  await runToUcall(vcpu, UCALL_DONE);
}

/**
 * Scenario 32: every guest_memfd flag that KVM_CAP_GUEST_MEMFD_FLAGS does
 * not report is EINVAL (kvm_vm_ioctl_create_guest_memfd() checks the flags
 * against kvm_gmem_get_supported_flags()). Returns the reported flags.
 */
export function gmemFlagsAboveReported(name: string): bigint {
  const { vm } = cocoVmCreate(name, undefined, { npages: 0 });
  const supported = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  for (let bit = 0n; bit < 64n; bit++) {
    const flag = 1n << bit;
    if (supported & flag) continue;
    const r = __vmCreateGuestMemfd(vm, 4096, flag);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  }
  return supported;
}

/**
 * Scenario 36: a memory error on one private page. kvm_gmem_get_pfn() finds
 * the folio hardware-poisoned: KVM_RUN is -1/EHWPOISON with a private
 * memory-fault exit for that page; the neighbour keeps working and the slot
 * stays.
 */
export async function poisonedGmemPage(p: PrivateMemoryPlatform): Promise<void> {
  const { vm, vcpu, gpa } = privateVm(p, 8192, (g, base) => {
    g.memset(base, 8192, 0x36, { view: 'private' });
    g.sync(1);
    g.memcmp(base + 4096n, 4096, 0x36, { view: 'private' });
    g.read(base, 8, { view: 'private' });
  });
  await runToUcall(vcpu, UCALL_SYNC);
  requireModel('memory poison injection');
  vmIoctl(vm, KVM_MODEL_INJECT_POISON, encodePoisonArg(gpa));
  await runToMemoryFault(vcpu, { errno: EHWPOISON, flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa, size: 4096n });
  ASSERT_EQ(vm.regions.has(COCO_TEST_SLOT), true);
}

/** The launch of a platform that populates private memory before its first run (SNP, TDX). */
export interface InPlaceLaunch {
  readonly name: string;
  /** Up to the point where pages may be populated (SNP_LAUNCH_START; TDX INIT_VM and INIT_VCPU). */
  readonly start: (c: CocoVm) => void;
  /** Populate the first page from itself: a NULL source (SNP uaddr 0, TDX source_addr 0). */
  readonly populateInPlace: (c: CocoVm) => void;
  /** SNP_LAUNCH_FINISH, KVM_TDX_FINALIZE_VM. */
  readonly finish: (c: CocoVm) => void;
}

/**
 * Scenario 34 as 7.4 queues it: with per-guest_memfd attributes an SNP or
 * TDX VM may have an INIT_SHARED guest_memfd ("KVM: guest_memfd: Enable
 * INIT_SHARED on guest_memfd for x86 Coco VMs"); a page the VMM wrote while
 * shared is converted to private and populated from itself (a NULL source:
 * "KVM: SEV: Make 'uaddr' parameter optional for KVM_SEV_SNP_LAUNCH_UPDATE",
 * "KVM: TDX: Make source page optional for KVM_TDX_INIT_MEM_REGION"); the
 * guest reads it after launch, and the page converts back to shared, the
 * host no longer seeing what the guest had there.
 */
export async function inplacePopulateBeforeLaunch(p: InPlaceLaunch): Promise<void> {
  const b = useModelKernel('7.4', false);
  const c = cocoVmCreate(p.name, (g, base) => {
    g.memcmp(base, 4096, 0x34, { view: 'private' });
    g.done();
  }, { gmemFlags: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED });
  p.start(c);
  const gmem = c.region!.guestMemfd;
  const setAttributes2 = (offset: number, attributes: bigint) =>
    b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset, size: 4096, attributes }));
  const m = b.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0n);
  ASSERT_EQ(m.errno, 0);
  b.hostFill(m.addr, 4096, 0x34);
  ASSERT_EQ(setAttributes2(0, KVM_MEMORY_ATTRIBUTE_PRIVATE).ret, 0);
  p.populateInPlace(c);
  p.finish(c);
  await runToUcall(c.vcpu, UCALL_DONE);
  ASSERT_EQ(setAttributes2(0, 0n).ret, 0);
  const back = b.hostRead(m.addr, 4096);
  ASSERT_EQ(back.every((x) => x === 0x34), false);
  b.munmap(m.addr, 4096n);
}
