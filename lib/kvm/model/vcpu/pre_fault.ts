/**
 * KVM_PRE_FAULT_MEMORY: kvm_vcpu_pre_fault_memory() (virt/kvm/kvm_main.c)
 * validates the range, then maps page by page through
 * kvm_arch_vcpu_pre_fault_memory() → kvm_tdp_map_page()
 * (arch/x86/kvm/mmu/mmu.c), the MMU fault-in path a guest access takes,
 * with a fault that is private exactly when the GFN is. No memslot
 * (emulation) is ENOENT, a memory fault EFAULT, a VM that does not allow
 * pre-faulting EOPNOTSUPP. The answer is 0 once anything was mapped, with
 * the unmapped rest written back to gpa/size.
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { EFAULT, EINVAL, ENOENT, EOPNOTSUPP } from '../../errno.js';
import { putU64 } from '../../layout.js';
import { SIZEOF_KVM_PRE_FAULT_MEMORY, decodePreFaultMemory, kvm_pre_fault_memory } from '../../structs.js';
import { PAGE_SIZE } from '../../uapi.js';
import { structArg } from '../ioctl_args.js';
import type { Vcpu } from '../vcpu.js';
import { kvmMemIsPrivate } from '../vm/mem_attributes.js';
import { kvmMmuFaultIn } from './mmu.js';

const PAGE = BigInt(PAGE_SIZE);
const U64 = (1n << 64n) - 1n;

export function kvmVcpuPreFaultMemory(v: Vcpu, arg: IoctlArg | undefined): SysResult {
  const b = structArg(arg, SIZEOF_KVM_PRE_FAULT_MEMORY);
  if (!b) return err(EFAULT);
  const r = decodePreFaultMemory(b);
  if (r.flags) return err(EINVAL);
  if (r.gpa % PAGE !== 0n || r.size % PAGE !== 0n || r.gpa + r.size <= r.gpa || r.gpa + r.size > U64) return err(EINVAL);
  let { gpa, size } = r;
  const full = size;
  let e = 0;
  while (size > 0n) {
    if (!v.vm.preFaultAllowed) { e = EOPNOTSUPP; break; }
    const gfn = Number(gpa / PAGE);
    const f = kvmMmuFaultIn(v.vm, { gfn, isPrivate: kvmMemIsPrivate(v.vm, gfn), write: false });
    if (f.kind === 'emulate') { e = ENOENT; break; }
    if (f.kind !== 'mapped') { e = EFAULT; break; }
    gpa += PAGE;
    size -= PAGE;
  }
  // The progress goes back in the caller's struct (gpa, size), the rest as it was.
  putU64(b, kvm_pre_fault_memory.offsets.gpa, gpa);
  putU64(b, kvm_pre_fault_memory.offsets.size, size);
  return full !== size ? ok() : err(e);
}
