/**
 * Layered VM constructors, one contract each (kvm_util.c):
 *
 * - `____vmCreate(shape)`: KVM_CREATE_VM and little else.
 * - `vmCreateBarebones()` / `vmCreateBarebonesType(type)`: the same, for
 *   tests that want no memory and no vCPUs.
 * - `__vmCreate(shape, nrRunnableVcpus, nrExtraPages)`: also slot 0, the
 *   anonymous memory at GPA 0 that holds what the guest needs (here the
 *   per-vCPU struct ucall array), and kvm_arch_vm_post_create():
 *   KVM_SEV_INIT2 on the SEV types, KVM_TDX_INIT_VM on a TD (before any
 *   vCPU, as the kernel requires). A test that needs other parameters for
 *   that step passes its own `postCreate`.
 * - `vmCreate(shape, nrRunnableVcpus)`: __vmCreate with no extra pages.
 * - `__vmCreateWithVcpus(shape, n, extraPages, guestCode)`,
 *   `vmCreateWithVcpus(n, guestCode)`, `vmCreateWithOneVcpu(guestCode)`,
 *   `vmCreateShapeWithOneVcpu(shape, guestCode)`: plus vCPUs 0..n-1 that
 *   start in guestCode.
 * - `kvmVmFree(vm)`: vCPUs, memslots, the VM fd and the /dev/kvm fd, closed.
 */
import {
  KVM_CAP_GET_TSC_KHZ, KVM_CAP_IMMEDIATE_EXIT, KVM_CREATE_IRQCHIP, KVM_CREATE_VM, KVM_GET_TSC_KHZ,
} from '../kvm/uapi.js';
import { __vmIoctl, vmIoctl } from './ioctl.js';
import type { GuestCode } from '../guest/builder.js';
import { postCreateCommand, takesInKernelIrqchip, vmPostCreate } from '../platform/index.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, TEST_REQUIRE } from './assert.js';
import { noteResult } from './errno_state.js';
import { GUEST_AREA_SIZE, UCALL_STRIDE } from './guest_loader.js';
import { kvmBackend, kvmHasCap, openKvmDevPathOrExit } from './kvm_dev.js';
import { VM_MEM_SRC_ANONYMOUS, __vmMemRegionDelete, vmUserspaceMemRegionAdd } from './memslots.js';
import { kvmClose } from './syscalls.js';
import { gpa as asGpa } from './types.js';
import { vmVcpuAdd } from './vcpu.js';
import { KvmVm, VM_SHAPE_DEFAULT, vmShape, type KvmVcpu, type VmShape } from './vm.js';

/** DEFAULT_GUEST_PHY_PAGES: slot 0's base size, before per-vCPU and extra pages. */
export const DEFAULT_GUEST_PHY_PAGES = 512;
/** Pages per vCPU in slot 0 (stack and ucall share; DEFAULT_STACK_PGS in C). */
export const DEFAULT_STACK_PGS = 5;
/** Where slot 0 keeps the struct ucall array (above the first 64 KiB). */
export const UCALL_POOL_GPA = 0x10000n;
/** Slot 0: kvm_util's own memory, present in every VM made by __vmCreate(). */
export const SLOT0 = 0;

/** ____vm_create(shape): open /dev/kvm, require KVM_CAP_IMMEDIATE_EXIT, KVM_CREATE_VM(type). */
export function ____vmCreate(shape: VmShape): KvmVm {
  const b = kvmBackend();
  const kvmFd = openKvmDevPathOrExit();
  TEST_REQUIRE(kvmHasCap(KVM_CAP_IMMEDIATE_EXIT), 'kvm_has_cap(KVM_CAP_IMMEDIATE_EXIT)');
  const r = noteResult(b.ioctl(kvmFd, KVM_CREATE_VM, shape.type));
  TEST_ASSERT(r.ret >= 0, KVM_IOCTL_ERROR('KVM_CREATE_VM', r.ret));
  return new KvmVm(b, kvmFd, r.ret, shape);
}

/** vm_create_barebones(): a default VM with no memory and no vCPUs (KVM_CREATE_VM only). */
export const vmCreateBarebones = (): KvmVm => ____vmCreate(VM_SHAPE_DEFAULT);
/** vm_create_barebones_type(type): the same for VM type `type`, without the post-create step (KVM_SEV_INIT2 and the like). */
export const vmCreateBarebonesType = (type: number): KvmVm => ____vmCreate(vmShape(type));

/**
 * vm_nr_pages_required(): slot 0's size for n vCPUs and the extra pages
 * asked for. The guest code areas (one per vCPU, GUEST_AREA_SIZE each)
 * follow the DEFAULT_GUEST_PHY_PAGES that hold the ucall pool.
 */
function slot0Pages(nrRunnableVcpus: number, nrExtraPages: number): number {
  const ucallPages = Math.ceil(Number(UCALL_POOL_GPA) / 4096 + (Math.max(nrRunnableVcpus, 1) * Number(UCALL_STRIDE)) / 4096);
  const areaPages = Math.max(nrRunnableVcpus, 1) * Number(GUEST_AREA_SIZE / 4096n);
  return DEFAULT_GUEST_PHY_PAGES + nrRunnableVcpus * DEFAULT_STACK_PGS + nrExtraPages + ucallPages + areaPages;
}

/** Where the guest code areas start in slot 0: after the default pages (2 MiB, 2 MiB aligned). */
export const GUEST_AREA_GPA = BigInt(DEFAULT_GUEST_PHY_PAGES) * 4096n;

/**
 * kvm_arch_vm_post_create() (lib/x86/processor.c): the in-kernel irqchip
 * (a halting vCPU then blocks in KVM instead of exiting with
 * KVM_EXIT_HLT), KVM_SEV_INIT2 for the SEV types, which the kernel refuses
 * once the VM has vCPUs (__sev_guest_init()), KVM_TDX_INIT_VM for a TD,
 * without which it creates no vCPU (tdx_vcpu_create()), and the guest's TSC
 * rate. A platform that refuses KVM_CREATE_IRQCHIP (a TD: split irqchip
 * only) says so (PlatformDefinition.inKernelIrqchip).
 * Non-x86 VM types (the Arm platforms) have none of these steps.
 */
export function kvmArchVmPostCreate(vm: KvmVm): void {
  const x86 = vm.type >>> 0 < 32;
  if (x86) {
    TEST_ASSERT(kvmHasCap(KVM_CAP_GET_TSC_KHZ), 'Require KVM_GET_TSC_KHZ to provide udelay() to guest.');
    if (takesInKernelIrqchip(vm.shape.type)) vmCreateIrqchip(vm);
  }
  const r = noteResult(vmPostCreate(vm.backend, vm.fd, vm.shape.type));
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR(postCreateCommand(vm.shape.type) ?? 'kvm_arch_vm_post_create', r.ret, r.errno));
  if (x86) {
    const tsc = __vmIoctl(vm, KVM_GET_TSC_KHZ);
    TEST_ASSERT(tsc.ret > 0, 'KVM_GET_TSC_KHZ did not provide a valid TSC frequency.');
    vm.guestTscKhz = tsc.ret;
  }
}

/** vm_create_irqchip(). */
export function vmCreateIrqchip(vm: KvmVm): void {
  vmIoctl(vm, KVM_CREATE_IRQCHIP);
  vm.hasIrqchip = true;
}

/** What runs between KVM_CREATE_VM (plus slot 0) and the first vCPU. */
export type VmPostCreate = (vm: KvmVm) => void;

/** __vm_create(shape, nr_runnable_vcpus, nr_extra_pages): the VM plus slot 0 at GPA 0. */
export function __vmCreate(shape: VmShape, nrRunnableVcpus: number, nrExtraPages: number, postCreate: VmPostCreate = kvmArchVmPostCreate): KvmVm {
  const vm = ____vmCreate(shape);
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, 0n, SLOT0, slot0Pages(nrRunnableVcpus, nrExtraPages), 0);
  vm.ucallPoolGpa = asGpa(UCALL_POOL_GPA);
  vm.guestAreaGpa = GUEST_AREA_GPA;
  vm.guestAreaVcpus = Math.max(nrRunnableVcpus, 1);
  postCreate(vm);
  return vm;
}

/** vm_create(shape, n): __vmCreate() without extra pages: slot 0 sized for `n` vCPUs, no vCPUs yet. */
export function vmCreate(shape: VmShape, nrRunnableVcpus: number): KvmVm {
  return __vmCreate(shape, nrRunnableVcpus, 0);
}

/** __vm_create_with_vcpus(shape, n, extra_pages, guest_code, vcpus[]). */
export function __vmCreateWithVcpus(
  shape: VmShape, nrVcpus: number, extraPages: number, guestCode?: GuestCode, postCreate?: VmPostCreate,
): { vm: KvmVm; vcpus: KvmVcpu[] } {
  TEST_ASSERT(nrVcpus > 0, 'Must create at least one vCPU');
  const vm = __vmCreate(shape, nrVcpus, extraPages, postCreate);
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < nrVcpus; i++) vcpus.push(vmVcpuAdd(vm, i, guestCode));
  return { vm, vcpus };
}

/** vm_create_with_vcpus(n, guest_code): a default VM with `n` vCPUs starting in `guestCode`. */
export function vmCreateWithVcpus(nrVcpus: number, guestCode?: GuestCode): { vm: KvmVm; vcpus: KvmVcpu[] } {
  return __vmCreateWithVcpus(VM_SHAPE_DEFAULT, nrVcpus, 0, guestCode);
}

/** __vm_create_shape_with_one_vcpu(shape, extra_pages, guest_code): one vCPU, `extraPages` more pages in slot 0. */
export function __vmCreateShapeWithOneVcpu(shape: VmShape, extraPages: number, guestCode?: GuestCode): { vm: KvmVm; vcpu: KvmVcpu } {
  const { vm, vcpus } = __vmCreateWithVcpus(shape, 1, extraPages, guestCode);
  return { vm, vcpu: vcpus[0]! };
}

/**
 * vm_create_shape_with_one_vcpu(shape, guest_code): a VM of `shape` with one vCPU starting in `guestCode`.
 *
 * @example
 * ```ts
 * const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(KVM_X86_SW_PROTECTED_VM), (g) => g.done());
 * await vcpuRun(vcpu);
 * TEST_ASSERT_EQ(getUcall(vcpu).cmd, UCALL_DONE);
 * kvmVmFree(vm);
 * ```
 */
export function vmCreateShapeWithOneVcpu(shape: VmShape, guestCode?: GuestCode): { vm: KvmVm; vcpu: KvmVcpu } {
  return __vmCreateShapeWithOneVcpu(shape, 0, guestCode);
}

/** vm_create_with_one_vcpu(&vcpu, guest_code): a default VM with one vCPU. */
export function vmCreateWithOneVcpu(guestCode?: GuestCode): { vm: KvmVm; vcpu: KvmVcpu } {
  return __vmCreateShapeWithOneVcpu(VM_SHAPE_DEFAULT, 0, guestCode);
}

/** kvm_vm_free(): close the vCPUs, delete every memslot, close the VM and /dev/kvm fds. */
export function kvmVmFree(vm: KvmVm): void {
  if (vm.freed) return;
  for (const vcpu of vm.vcpus.splice(0)) kvmClose(vcpu.fd);
  for (const region of [...vm.regions.values()]) __vmMemRegionDelete(vm, region);
  kvmClose(vm.fd);
  kvmClose(vm.kvmFd);
  vm.freed = true;
}
