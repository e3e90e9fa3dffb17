/**
 * What a VM needs right after KVM_CREATE_VM (vmPostCreate, kvm_util's
 * kvm_arch_vm_post_create()) and the least launch before its vCPUs may run
 * (PlatformPlugin.launchMinimal), on the raw backend. Each platform states
 * its own steps (PlatformDefinition.postCreate, .launchMinimal); this file
 * finds them by VM type and runs them in order.
 */
import type { Backend, SysResult } from '../kvm/backend.js';
import { definitionForVmType as definitionOf } from './loader.js';

const OK: SysResult = { ret: 0, errno: 0 };

/** Run `list` in order, stopping at the first failure (its result is returned). */
export function runSteps(list: readonly (() => SysResult)[]): SysResult {
  for (const s of list) {
    const r = s();
    if (r.ret < 0) return r;
  }
  return OK;
}

/**
 * kvm_arch_vm_post_create() (tools/testing/selftests/kvm/lib/x86/processor.c),
 * before any vCPU exists: the platform's post-create step (KVM_SEV_INIT2
 * for the SEV types, KVM_TDX_INIT_VM for a TD); nothing for the others.
 */
export function vmPostCreate(b: Backend, vmFd: number, vmType: number): SysResult {
  return definitionOf(vmType)?.postCreate?.run(b, vmFd) ?? OK;
}

/**
 * Whether kvm_arch_vm_post_create() gives a VM of this type the in-kernel
 * irqchip (KVM_CREATE_IRQCHIP); false where the platform refuses one
 * (PlatformDefinition.inKernelIrqchip).
 */
export function takesInKernelIrqchip(vmType: number): boolean {
  return definitionOf(vmType)?.inKernelIrqchip !== false;
}

/** The command vmPostCreate() issues for a VM type, for error messages. */
export function postCreateCommand(vmType: number): string | undefined {
  return definitionOf(vmType)?.postCreate?.command;
}
