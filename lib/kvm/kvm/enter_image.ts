/**
 * Pointing a real vCPU at a guest-agent image already in guest memory.
 */
import { KVM_GET_SREGS, KVM_SET_CPUID2, KVM_SET_REGS, KVM_SET_SREGS } from '../uapi.js';
import { agentRegs, longModeSregs, type AgentImage } from '../x86/agent.js';
import { SIZEOF_KVM_SREGS } from '../x86/segments.js';
import type { Libc } from './libc.js';

export { KVM_GET_SREGS, KVM_SET_SREGS } from '../uapi.js';
export { SIZEOF_KVM_SREGS } from '../x86/segments.js';

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

