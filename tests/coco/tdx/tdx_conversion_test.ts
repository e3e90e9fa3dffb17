/**
 * TDX conversions and wrong-state accesses (reference/platforms.md §2.1 b, c;
 * scenarios 10, 11, 12, 13): MapGPA reaching the VMM as
 * KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE), RETRY on a pending interrupt,
 * the shared-bit/attribute mismatch and the unaccepted page.
 */
import type { GuestView } from '../../../lib/kvm/guest_program.js';
import { EFAULT, EINVAL, EIO } from '../../../lib/kvm/errno.js';
import {
  KVM_EXIT_HYPERCALL, KVM_EXIT_IO, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_ENCRYPTED, KVM_MEMORY_EXIT_FLAG_PRIVATE, UCALL_DONE,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, __vmSetMemoryAttributes, _vcpuRun, getUcall, vcpuIoctl, vmMemSetPrivate, vmSetMemoryAttributes,
} from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, runToMemoryFault, runToUcall, type CocoVm, type CocoVmOptions } from '../../../lib/kvm_util/coco.js';
import { __tdxInitVm, tdxFinalizeVm, tdxInitAndFinalize, tdxInitVcpu, tdxInitVm } from '../../../platforms/tdx/host.js';
import { tdxAccept, tdxMapGpa, tdxMapGpaResume } from '../../../platforms/tdx/guest.js';
import { KVM_INTERRUPT, TDVMCALL_STATUS_RETRY, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED } from '../../../platforms/tdx/uapi.js';

/** A finalised TD whose guest reads its first page, which the VMM made private and the guest never ACCEPTed. */
function tdReadingUnacceptedPage(view: GuestView, opts: CocoVmOptions = {}): CocoVm {
  const c = cocoVmCreate('tdx', (g, base) => {
    g.read(base, 8, { view });
    g.done();
  }, opts);
  tdxInitAndFinalize(c.vm);
  vmMemSetPrivate(c.vm, c.gpa, 4096);
  return c;
}

/**
 * A private page that the guest converts to shared with MapGPA: the exit
 * carries the GPA with the shared bit stripped (whatever bit the TD's GPAW
 * makes it) and DECRYPTED; the VMM converts and the guest finishes.
 */
async function expectMapGpaToShared(c: CocoVm): Promise<void> {
  const { vm, vcpu, gpa } = c;
  vmMemSetPrivate(vm, gpa, 4096);
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_HYPERCALL);
  ASSERT_EQ(vcpu.run.hypercallArg(0), gpa);
  ASSERT_EQ(vcpu.run.hypercallArg(2) & KVM_MAP_GPA_RANGE_ENCRYPTED, 0n);
  vmSetMemoryAttributes(vm, gpa, 4096, 0n);
  vcpu.run.hypercallRet = 0n;
  await runToUcall(vcpu, UCALL_DONE);
}

TEST('scenario_10_shared_bit_on_private_gfn', async () => {
  const { vcpu, gpa } = tdReadingUnacceptedPage('shared');
  // The GPA comes with the shared bit stripped.
  await runToMemoryFault(vcpu, { errno: EFAULT, flags: 0n, gpa, size: 4096n });
});

TEST('scenario_11_access_before_accept_kills_the_td', async () => {
  const { vcpu } = tdReadingUnacceptedPage('private');
  // 6.16: "Guest access before accepting", the VM is dead: -EIO, and again on every later KVM_RUN.
  for (let i = 0; i < 2; i++) {
    const r = await _vcpuRun(vcpu);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EIO);
  }
});

TEST('scenario_11_access_before_accept_memory_fault_size_0', async () => {
  const { vm, vcpu } = tdReadingUnacceptedPage('private', { hardware: { pendingAccess: 'memory-fault-size0' } });
  await runToMemoryFault(vcpu, { errno: EFAULT, flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, size: 0n });
  // A VMM converting "size 0" gets EINVAL from KVM_SET_MEMORY_ATTRIBUTES.
  const s = __vmSetMemoryAttributes(vm, vcpu.run.memoryFaultGpa, vcpu.run.memoryFaultSize, 0n);
  ASSERT_EQ(s.ret, -1);
  ASSERT_EQ(s.errno, EINVAL);
});

TEST('scenario_12_map_gpa_without_exit_hypercall', async () => {
  const { vm, vcpu } = cocoVmCreate('tdx', (g, base) => {
    tdxMapGpa(g, base, 4096, { expect: TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED });
    g.done();
  }, { exitHypercall: false });
  tdxInitAndFinalize(vm);
  // No KVM_EXIT_HYPERCALL: the guest sees SUBFUNC_UNSUPPORTED and finishes.
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_13_map_gpa_large_range_retry_on_pending_irq', async () => {
  const size = 4n << 20n;
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxMapGpa(g, base, size, { expect: TDVMCALL_STATUS_RETRY });
    tdxMapGpaResume(g);
    tdxAccept(g, base, size);
    g.memset(base, 4096, 0x42, { view: 'private' });
    g.memcmp(base, 4096, 0x42, { view: 'private' });
    g.done();
  }, { npages: 1024 });
  tdxInitAndFinalize(vm);

  const chunks: bigint[] = [];
  for (;;) {
    const r = await _vcpuRun(vcpu);
    ASSERT_EQ(r.ret, 0);
    if (vcpu.run.exitReason !== KVM_EXIT_HYPERCALL) break;
    ASSERT_EQ(vcpu.run.hypercallNr, BigInt(KVM_HC_MAP_GPA_RANGE));
    ASSERT_EQ(vcpu.run.hypercallArg(2) & KVM_MAP_GPA_RANGE_ENCRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED);
    const at = vcpu.run.hypercallArg(0);
    const n = vcpu.run.hypercallArg(1);
    chunks.push(at);
    vmSetMemoryAttributes(vm, at, n * 4096n, 8n);
    vcpu.run.hypercallRet = 0n;
    // An interrupt arrives while the first chunk is handled: the TD gets RETRY.
    if (chunks.length === 1) vcpuIoctl(vcpu, KVM_INTERRUPT, new Uint8Array(4));
  }
  ASSERT_EQ(chunks.length, 2);
  ASSERT_EQ(chunks[0], gpa);
  ASSERT_EQ(chunks[1], gpa + (2n << 20n));
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
  const uc = getUcall(vcpu);
  if (uc.cmd !== UCALL_DONE) REPORT_GUEST_ASSERT(uc, vcpu);
});

TEST('shared_bit_follows_gpaw_from_init_vm', async () => {
  // CPUID.0x80000008.EAX[23:16] = 52 in KVM_TDX_INIT_VM: the shared bit is 51.
  // INIT_VM runs once and before the first vCPU (tdx_td_init(),
  // tdx_vcpu_create()), so this TD is created without kvm_util's default
  // INIT_VM and gets this one instead, then its vCPU.
  const c = cocoVmCreate('tdx', (g, base) => {
    tdxMapGpa(g, base, 4096, { shared: true, sharedBit: 51 });
    g.done();
  }, {
    postCreate: (td) => {
      // Only 48 and 52 are valid widths (setup_tdparams_eptp_controls()),
      // and a refused INIT_VM leaves the TD uninitialised.
      ASSERT_EQ(__tdxInitVm(td, { gpaw: 50 }).errno, EINVAL);
      tdxInitVm(td, { gpaw: 52 });
    },
  });
  tdxInitVcpu(c.vcpu);
  tdxFinalizeVm(c.vm);
  // Stripped of bit 51.
  await expectMapGpaToShared(c);
});

TEST('refused_second_init_vm_keeps_the_gpaw', async () => {
  // tdx_td_init() looks at the TD's state before the struct: a second
  // KVM_TDX_INIT_VM asking for GPAW 52 is -EINVAL and the shared bit stays 47.
  const c = cocoVmCreate('tdx', (g, base) => {
    tdxMapGpa(g, base, 4096, { shared: true, sharedBit: 47 });
    g.done();
  });
  const r = __tdxInitVm(c.vm, { gpaw: 52 });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
  tdxInitAndFinalize(c.vm);
  await expectMapGpaToShared(c);
});

void TEST_HARNESS_MAIN();
