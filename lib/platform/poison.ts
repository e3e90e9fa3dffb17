/**
 * Memory-error injection for every platform's model behaviour (scenario 36):
 * a model-only VM ioctl marks the guest_memfd page behind a GPA as
 * hardware-poisoned, standing in for MADV_HWPOISON / the hwpoison injector
 * on the gmem folio. A later private access then fails the way
 * kvm_gmem_get_pfn() reports a poisoned folio: KVM_RUN -1/EHWPOISON with
 * KVM_EXIT_MEMORY_FAULT for that page; nothing else in the slot changes.
 */
import type { IoctlArg } from '../kvm/backend.js';
import { EHWPOISON, EINVAL } from '../kvm/errno.js';
import type { ModelPlatform, PlatformVm } from '../kvm/model/platform.js';
import { _IOW } from '../kvm/ioctl.js';
import { u64 } from '../kvm/layout.js';
import { KVMIO, KVM_MEMORY_EXIT_FLAG_PRIVATE } from '../kvm/uapi.js';
import { PAGE, gfnOf, pageBase, pagesOf } from './common.js';
import { gpaArg as encodeGpaArg } from './encrypt_op.js';

/** Takes the __u64 gpa; model-only, not part of any kernel's uAPI. */
export const KVM_MODEL_INJECT_POISON = _IOW(KVMIO, 0xff, u64);

export function encodePoisonArg(gpa: bigint): Uint8Array {
  return encodeGpaArg(gpa);
}

function gpaArg(arg: IoctlArg | undefined): bigint | undefined {
  if (arg instanceof Uint8Array && arg.length >= 8) return new DataView(arg.buffer, arg.byteOffset).getBigUint64(0, true);
  return undefined;
}

export function withPoisonInjection(p: ModelPlatform): ModelPlatform {
  return {
    ...p,
    attach(ctx) {
      const inner: PlatformVm = p.attach(ctx);
      const poisoned = new Set<bigint>();
      return {
        ...inner,
        isPrivateAccess: (a) => inner.isPrivateAccess(a),
        beforeGuestAccess(a, backing) {
          if (backing === 'private' && poisoned.has(gfnOf(a.gpa))) {
            return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: PAGE, errno: EHWPOISON } };
          }
          return inner.beforeGuestAccess?.(a, backing);
        },
        vmIoctl(request, arg) {
          if (request === KVM_MODEL_INJECT_POISON) {
            const gpa = gpaArg(arg);
            const slot = gpa === undefined ? undefined : ctx.slotAt(gpa);
            if (gpa === undefined || !slot?.hasGmem) return { ret: -1, errno: EINVAL };
            poisoned.add(gfnOf(gpa));
            return { ret: 0, errno: 0 };
          }
          return inner.vmIoctl?.(request, arg);
        },
        onZap(gpa, size, reason) {
          // Truncating the page (punch) frees the poisoned folio.
          if (reason === 'punch') for (const pg of pagesOf(gpa, size)) poisoned.delete(gfnOf(pg));
          inner.onZap?.(gpa, size, reason);
        },
      };
    },
  };
}
