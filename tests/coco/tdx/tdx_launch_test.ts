/**
 * TDX launch: the order of KVM_TDX_INIT_VM and KVM_CREATE_VCPU,
 * KVM_TDX_INIT_MEM_REGION and KVM_TDX_FINALIZE_VM
 * (reference/platforms.md §2.1 d; scenarios 3, 4, 7, 8, 9).
 */
import type { GuestCode } from '../../../lib/guest/builder.js';
import { EEXIST, EINVAL, EIO } from '../../../lib/kvm/errno.js';
import { KVM_CREATE_VCPU, UCALL_DONE } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_NE, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { __vmIoctl, kvmVmFree, vmCreateBarebonesType, vmMemSetPrivate, vmVcpuAdd } from '../../../lib/kvm_util/index.js';
import { toHex } from '../../../lib/platform/digest.js';
import type { HardwareParams } from '../../../lib/platform/manifest.js';
import { cocoVmCreate, runToUcall, sourcePage, usePlatform, type CocoVm } from '../../../lib/kvm_util/coco.js';
import {
  __tdxInitMemRegion, __tdxInitVm, tdxFinalizeVm, tdxInitAndFinalize, tdxInitMemRegion, tdxInitVcpu, tdxInitVm, tdxModelMrtd,
} from '../../../platforms/tdx/host.js';
import { expectedMrtd } from '../../../platforms/tdx/mrtd.js';

/** A TD after KVM_TDX_INIT_VM (kvm_util's post-create step) and INIT_VCPU of its vCPU. */
function tdReadyForPopulate(guest?: GuestCode, hardware?: HardwareParams): CocoVm {
  const c = cocoVmCreate('tdx', guest, hardware ? { hardware } : {});
  tdxInitVcpu(c.vcpu);
  return c;
}

TEST('vcpu_create_before_init_vm_refused', () => {
  // tdx_vcpu_create(): no vCPU until KVM_TDX_INIT_VM made the TD
  // TD_STATE_INITIALIZED, -EIO; the VMM initialises the TD right after
  // KVM_CREATE_VM (kvm_arch_vm_post_create()).
  const vm = vmCreateBarebonesType(usePlatform('tdx').vmType);
  try {
    const r = __vmIoctl(vm, KVM_CREATE_VCPU, 0);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EIO);
    // The refusal left no vCPU 0 behind: after INIT_VM the same id is created.
    tdxInitVm(vm);
    tdxInitVcpu(vmVcpuAdd(vm, 0));
  } finally {
    kvmVmFree(vm);
  }
});

TEST('init_vm_twice_refused', () => {
  // tdx_td_init(): only an uninitialised TD takes KVM_TDX_INIT_VM; the one
  // kvm_util issued after KVM_CREATE_VM was the TD's only one.
  const { vm } = cocoVmCreate('tdx', undefined);
  const r = __tdxInitVm(vm);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
  // ... and still -EINVAL once the TD is finalised.
  tdxInitAndFinalize(vm);
  ASSERT_EQ(__tdxInitVm(vm).errno, EINVAL);
});

TEST('vcpu_create_after_finalize_refused', () => {
  // tdx_vcpu_create() wants TD_STATE_INITIALIZED exactly: a finalised
  // (runnable) TD takes no new vCPU either, -EIO.
  const { vm } = cocoVmCreate('tdx', undefined);
  tdxInitAndFinalize(vm);
  const r = __vmIoctl(vm, KVM_CREATE_VCPU, 1);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EIO);
});

TEST('scenario_03_populate_without_private_attribute', () => {
  const { vcpu, gpa } = tdReadyForPopulate();
  const r = __tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure: true });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
});

TEST('scenario_04_populate_same_gfn_twice', () => {
  const { vm, vcpu, gpa } = tdReadyForPopulate();
  vmMemSetPrivate(vm, gpa, 4096);
  tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure: false });
  const r = __tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure: false });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EEXIST);
});

TEST('scenario_04_populate_same_gfn_twice_7_0_rules', () => {
  // 7.0 dropped the prepared tracking: TDH.MEM.PAGE.ADD itself refuses.
  const { vm, vcpu, gpa } = tdReadyForPopulate(undefined, { populateRules: '7.0' });
  vmMemSetPrivate(vm, gpa, 4096);
  tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure: false });
  const r = __tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure: false });
  ASSERT_EQ(r.errno, EIO);
});

async function launchAndRead(measure: boolean): Promise<Uint8Array> {
  const c = tdReadyForPopulate((g, base) => {
    g.memcmp(base, 4096, 0x5a, { view: 'private' });
    g.done();
  });
  const { vm, vcpu, gpa } = c;
  vmMemSetPrivate(vm, gpa, 4096);
  tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure });
  tdxFinalizeVm(vm);
  await runToUcall(vcpu, UCALL_DONE);
  const mrtd = tdxModelMrtd(vm);
  ASSERT_EQ(toHex(mrtd), toHex(expectedMrtd([{ gpa, data: new Uint8Array(4096).fill(0x5a), measure }])));
  return mrtd;
}

TEST('scenario_07_init_mem_region_with_and_without_measure', async () => {
  const measured = await launchAndRead(true);
  const unmeasured = await launchAndRead(false);
  ASSERT_NE(toHex(measured), toHex(unmeasured));
});

TEST('scenario_08_populate_source_not_4k_aligned', () => {
  const { vm, vcpu, gpa } = tdReadyForPopulate();
  vmMemSetPrivate(vm, gpa, 4096);
  const r = __tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a, 2) + 16n, gpa, nrPages: 1n, measure: true });
  ASSERT_EQ(r.errno, EINVAL);
});

TEST('scenario_09_populate_after_finalize', () => {
  const { vm, vcpu, gpa } = tdReadyForPopulate();
  vmMemSetPrivate(vm, gpa, 8192);
  tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa, nrPages: 1n, measure: true });
  tdxFinalizeVm(vm);
  const r = __tdxInitMemRegion(vcpu, { sourceAddr: sourcePage(0x5a), gpa: gpa + 4096n, nrPages: 1n, measure: true });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
});

void TEST_HARNESS_MAIN();
