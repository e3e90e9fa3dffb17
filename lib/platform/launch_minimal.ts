/**
 * What a VM needs right after KVM_CREATE_VM (vmPostCreate, kvm_util's
 * kvm_arch_vm_post_create()) and the least launch before its vCPUs may run
 * (PlatformPlugin.launchMinimal), on the raw backend. Each platform states
 * its own steps (PlatformDefinition.postCreate, .launchMinimal); this file
 * finds them by VM type and runs them in order.
 */
import type { Backend, SysResult } from '../kvm/backend.js';
import { definitionManifest } from './loader.js';
import { platformDefinitions } from './registry.js';
import type { PlatformDefinition } from './types.js';

const OK: SysResult = { ret: 0, errno: 0 };

/** Run `list` in order, stopping at the first failure (its result is returned). */
export function runSteps(list: readonly (() => SysResult)[]): SysResult {
  for (const s of list) {
    const r = s();
    if (r.ret < 0) return r;
  }
  return OK;
}

/** The registered platform whose VMs have this type (the first, if plugins share one). */
function definitionOf(vmType: number): PlatformDefinition | undefined {
  return platformDefinitions().find((d) => definitionManifest(d).vmType === vmType);
}

/**
 * kvm_arch_vm_post_create() (tools/testing/selftests/kvm/lib/x86/processor.c),
 * before any vCPU exists: the platform's post-create step (KVM_SEV_INIT2
 * for the SEV types, KVM_TDX_INIT_VM for a TD); nothing for the others.
 */
export function vmPostCreate(b: Backend, vmFd: number, vmType: number): SysResult {
  return definitionOf(vmType)?.postCreate?.run(b, vmFd) ?? OK;
}

/** The command vmPostCreate() issues for a VM type, for error messages. */
export function postCreateCommand(vmType: number): string | undefined {
  return definitionOf(vmType)?.postCreate?.command;
}
