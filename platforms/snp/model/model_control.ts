/**
 * Model-only KVM_MEMORY_ENCRYPT_OP commands for an SNP VM: the launch
 * digest the firmware would sign into an attestation report (SEV-SNP
 * firmware ABI, MSG_REPORT_REQ's MEASUREMENT), and the host kernel's own
 * reads and writes of a guest page, which real hosts only do from kernel
 * code (reference/platforms.md §2.4).
 */
import { EFAULT } from '../../../lib/kvm/errno.js';
import { PAGE, gfnOf } from '../../../lib/platform/common.js';
import type { SevOpHandler } from '../../sev/encrypt_op.js';
import { KVM_SEV_MODEL_HOST_READ, KVM_SEV_MODEL_HOST_WRITE, KVM_SEV_MODEL_LAUNCH_DIGEST } from '../uapi.js';
import type { SnpVmState } from './state.js';

export function snpModelControl(vm: SnpVmState): Record<number, SevOpHandler> {
  const { ctx, rmp } = vm;
  return {
    [KVM_SEV_MODEL_LAUNCH_DIGEST]: (op) => (op.writeData(vm.launch.digest) ? { errno: 0 } : { errno: EFAULT }),
    [KVM_SEV_MODEL_HOST_READ]: (op) => {
      // Host reads of guest-owned pages are allowed and see ciphertext [H].
      const b = op.readData(8);
      if (!b) return { errno: EFAULT };
      const gpa = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) & ~(PAGE - 1n);
      const owned = rmp.get(gfnOf(gpa))?.assigned === true;
      const raw = ctx.readBacking(gpa, 4096, owned ? 'private' : 'shared') ?? new Uint8Array(4096);
      const page = owned && vm.hostReadsCiphertext ? vm.cipher.encrypt(gpa, raw) : raw;
      return op.writeHost(op.dataHva + 8n, page) ? { errno: 0 } : { errno: EFAULT };
    },
    [KVM_SEV_MODEL_HOST_WRITE]: (op) => {
      // A host kernel write to a guest-owned page takes an RMP #PF (an
      // oops on real hosts); the model refuses it with EFAULT.
      const b = op.readData(8);
      if (!b) return { errno: EFAULT };
      const gpa = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
      return rmp.get(gfnOf(gpa))?.assigned ? { errno: EFAULT } : { errno: 0 };
    },
  };
}
