/**
 * kvm_vcpu_fops (virt/kvm/kvm_main.c): the file KVM_CREATE_VCPU returns.
 * kvm_vcpu_ioctl() answers the register, MP state and TSC ioctls and
 * KVM_PRE_FAULT_MEMORY, then gives the platform its vendor ioctls; KVM_RUN
 * is the backend's asynchronous kvmRun() (run.ts). mmap is kvm_vcpu_mmap():
 * kvm_run, then the PIO page (kvm_vcpu_fault()), SIGBUS beyond; release is
 * kvm_vcpu_release(); llseek is noop_llseek().
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { EFAULT, EINVAL, ENOTTY } from '../../errno.js';
import {
  KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_TSC_KHZ, KVM_MP_STATE_AP_RESET_HOLD, KVM_MP_STATE_HALTED, KVM_MP_STATE_INIT_RECEIVED,
  KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_SIPI_RECEIVED, KVM_MP_STATE_UNINITIALIZED, KVM_PRE_FAULT_MEMORY, KVM_RUN, KVM_SET_MP_STATE,
  KVM_SET_REGS, KVM_VCPU_MMAP_SIZE, PAGE_SIZE, SIZEOF_KVM_REGS,
} from '../../uapi.js';
import { kvm_mp_state, kvm_regs } from '../../structs.js';
import { structArg } from '../ioctl_args.js';
import { SparsePages } from '../sparse_pages.js';
import type { FileOperations } from '../vfs/file.js';
import { noopLlseek } from '../vfs/read_write.js';
import { REG_NAMES, type Vcpu } from '../vcpu.js';
import { MODEL_TSC_KHZ } from '../vm.js';
import { kvmVcpuPreFaultMemory } from './pre_fault.js';

export const kvmVcpuFops: FileOperations<Vcpu> = {
  name: 'kvm_vcpu_fops (virt/kvm/kvm_main.c)',
  release: (v) => v.release(),
  // The vCPU's ioctls on a VM that is gone answer EINVAL.
  unlocked_ioctl: (v, cmd, arg) => (v.vm.destroyed ? err(EINVAL) : kvmVcpuIoctl(v, cmd, arg)),
  mmap: (v) => {
    const store = new RunPages(v.runBytes);
    return { vmOps: { resolve: (pgoff) => (pgoff < KVM_VCPU_MMAP_SIZE / PAGE_SIZE ? { store, index: pgoff } : { signal: 'SIGBUS', code: 'BUS_ADRERR' }) } };
  },
  llseek: noopLlseek,
};

export function kvmVcpuIoctl(v: Vcpu, request: number, arg: IoctlArg | undefined): SysResult {
  switch (request) {
    case KVM_GET_REGS: {
      const b = structArg(arg, SIZEOF_KVM_REGS);
      if (!b) return err(EFAULT);
      kvm_regs.encodeInto(b, 0, Object.fromEntries(REG_NAMES.map((n, i) => [n, v.regs[i]!])));
      return ok();
    }
    case KVM_SET_REGS: {
      const b = structArg(arg, SIZEOF_KVM_REGS);
      if (!b) return err(EFAULT);
      const regs = kvm_regs.decode(b);
      REG_NAMES.forEach((n, i) => { v.regs[i] = regs[n]; });
      return ok();
    }
    case KVM_PRE_FAULT_MEMORY: return kvmVcpuPreFaultMemory(v, arg);
    // vcpu->arch.virtual_tsc_khz, the VM's default unless KVM_SET_TSC_KHZ changed it.
    case KVM_GET_TSC_KHZ: return ok(MODEL_TSC_KHZ);
    case KVM_GET_MP_STATE: {
      const b = structArg(arg, kvm_mp_state.size);
      if (!b) return err(EFAULT);
      kvm_mp_state.encodeInto(b, 0, { mpState: v.mpState });
      return ok();
    }
    case KVM_SET_MP_STATE: return kvmVcpuSetMpState(v, arg);
    default: {
      try {
        const r = v.vm.pvm.vcpuIoctl?.(v.ctx, request, arg);
        if (r) return r;
      } catch (e) {
        v.vm.sys.noteInternalError('vcpuIoctl', e);
        return err(EINVAL);
      }
      // kvm_vcpu_ioctl(): a request unknown to the arch is EINVAL. KVM_RUN
      // reaches the model only as the backend's asynchronous kvmRun().
      return err(request === KVM_RUN ? ENOTTY : EINVAL);
    }
  }
}

/**
 * kvm_arch_vcpu_ioctl_set_mpstate() (arch/x86/kvm/x86.c): RUNNABLE always;
 * the wait states only with the in-kernel local APIC; SIPI_RECEIVED is
 * stored as INIT_RECEIVED with the SIPI pending (here: runnable at once).
 */
function kvmVcpuSetMpState(v: Vcpu, arg: IoctlArg | undefined): SysResult {
  const b = structArg(arg, kvm_mp_state.size);
  if (!b) return err(EFAULT);
  const s = kvm_mp_state.decode(b).mpState;
  switch (s) {
    case KVM_MP_STATE_RUNNABLE:
      break;
    case KVM_MP_STATE_UNINITIALIZED:
    case KVM_MP_STATE_HALTED:
    case KVM_MP_STATE_AP_RESET_HOLD:
    case KVM_MP_STATE_INIT_RECEIVED:
    case KVM_MP_STATE_SIPI_RECEIVED:
      if (!v.vm.irqchip) return err(EINVAL);
      break;
    default:
      return err(EINVAL);
  }
  v.mpState = s === KVM_MP_STATE_SIPI_RECEIVED ? KVM_MP_STATE_RUNNABLE : s;
  return ok();
}

/** The vCPU mmap: kvm_run's pages as a page store (writes land in the live struct). */
class RunPages extends SparsePages {
  constructor(private readonly bytes: Uint8Array) {
    super();
  }
  override peek(index: number): Uint8Array {
    return this.bytes.subarray(index * PAGE_SIZE, (index + 1) * PAGE_SIZE);
  }
  override touch(index: number): Uint8Array {
    return this.peek(index);
  }
}
