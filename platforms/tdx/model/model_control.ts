/**
 * Model-only KVM_MEMORY_ENCRYPT_OP commands on a TD: the MRTD the TDX
 * module would report (TDX module spec, TDH.MR.FINALIZE / TDREPORT), and
 * the host kernel's own reads and writes of a TD private page, which real
 * hosts only do from kernel code (reference/platforms.md §2.1).
 */
import { err, ok, type SysResult } from '../../../lib/kvm/backend.js';
import { EFAULT, EINVAL } from '../../../lib/kvm/errno.js';
import { PAGE, gfnOf, isHostFault, pageBase } from '../../../lib/platform/common.js';
import { KVM_TDX_MODEL_GET_MRTD, KVM_TDX_MODEL_HOST_READ, KVM_TDX_MODEL_HOST_WRITE } from '../uapi.js';
import type { TdxVm } from './state.js';

/** The answer to a model command, or undefined when `id` is none of them. */
export function tdxModelControl(vm: TdxVm, id: number, data: bigint): SysResult | undefined {
  const { ctx } = vm;
  switch (id) {
    case KVM_TDX_MODEL_GET_MRTD:
      return ctx.hostWrite?.(data, vm.launch.mrtd.value) === undefined ? ok() : err(EFAULT);
    case KVM_TDX_MODEL_HOST_READ: {
      // A non-TD read of a TD-private line returns zeros (the TD-owner bit) [H].
      const gb = ctx.hostRead(data, 8);
      if (isHostFault(gb)) return err(EFAULT);
      const gpa = pageBase(new DataView(gb.buffer, gb.byteOffset).getBigUint64(0, true));
      const page = vm.attrPrivate(gpa)
        ? (vm.hostReadsZeros ? new Uint8Array(Number(PAGE)) : ctx.readBacking(gpa, Number(PAGE), 'private') ?? new Uint8Array(Number(PAGE)))
        : ctx.readBacking(gpa, Number(PAGE), 'shared') ?? new Uint8Array(Number(PAGE));
      return ctx.hostWrite?.(data + 8n, page) === undefined ? ok() : err(EFAULT);
    }
    case KVM_TDX_MODEL_HOST_WRITE: {
      // A host partial write to a private line: silent poison [H].
      const gpa = pageBase(data);
      if (!vm.attrPrivate(gpa)) return err(EINVAL);
      vm.poisoned.add(gfnOf(gpa));
      return ok();
    }
    default:
      return undefined;
  }
}
