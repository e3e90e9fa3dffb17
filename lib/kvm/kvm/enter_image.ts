/**
 * Pointing a real vCPU at a guest-agent image already in guest memory.
 */
import { KVM_SET_REGS } from '../uapi.js';
import { agentRegs, longModeSregs, type AgentImage } from '../x86/agent.js';
import { KVM_SET_CPUID2 } from './cpuid.js';
import type { Libc } from './libc.js';

/** _IOR/_IOW(KVMIO, 0x83/0x84, struct kvm_sregs). */
export const KVM_GET_SREGS = 0x8138ae83;
export const KVM_SET_SREGS = 0x4138ae84;
export const SIZEOF_KVM_SREGS = 312;

/**
 * Point a vCPU at a compiled image already in guest memory, as
 * vm_arch_vcpu_add() and vcpu_arch_set_entry_point() do: KVM's supported
 * CPUID (only before the first KVM_RUN, which freezes it), long-mode
 * segments, then RIP/RSP. 0, or the errno of the step that failed.
 */
export function enterImage(libc: Libc, vcpuFd: number, image: AgentImage, cpuid2: Uint8Array | undefined): number {
  if (cpuid2 && libc.ioctlPtr(vcpuFd, KVM_SET_CPUID2, cpuid2) < 0) return libc.errno();
  const sregs = new Uint8Array(SIZEOF_KVM_SREGS);
  if (libc.ioctlPtr(vcpuFd, KVM_GET_SREGS, sregs) < 0) return libc.errno();
  if (libc.ioctlPtr(vcpuFd, KVM_SET_SREGS, longModeSregs(sregs, image)) < 0) return libc.errno();
  if (libc.ioctlPtr(vcpuFd, KVM_SET_REGS, agentRegs(image)) < 0) return libc.errno();
  return 0;
}

