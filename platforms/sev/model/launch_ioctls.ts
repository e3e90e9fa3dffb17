/**
 * The SEV launch commands of KVM_MEMORY_ENCRYPT_OP (arch/x86/kvm/svm/sev.c):
 * sev_guest_init() / sev_guest_init2(), sev_launch_start(),
 * sev_launch_update_data(), sev_launch_update_vmsa(), sev_launch_measure(),
 * sev_launch_secret() and sev_launch_finish(), each over the firmware
 * command of the same name (the SEV firmware ABI's LAUNCH_* commands).
 */
import { EFAULT, EINVAL } from '../../../lib/kvm/errno.js';
import { pagesOf } from '../../../lib/platform/common.js';
import type { SevOpHandler } from '../encrypt_op.js';
import {
  KVM_SEV_ES_INIT, KVM_SEV_INIT, KVM_SEV_INIT2, KVM_SEV_LAUNCH_FINISH, KVM_SEV_LAUNCH_MEASURE, KVM_SEV_LAUNCH_SECRET, KVM_SEV_LAUNCH_START,
  KVM_SEV_LAUNCH_UPDATE_DATA, KVM_SEV_LAUNCH_UPDATE_VMSA, SEV_MEASUREMENT_LEN, SIZEOF_KVM_SEV_INIT, SIZEOF_KVM_SEV_LAUNCH_SECRET,
  SIZEOF_KVM_SEV_LAUNCH_START, SIZEOF_KVM_SEV_UADDR_LEN, decodeSevInit, decodeSevLaunchSecret, decodeSevLaunchStart, decodeUaddrLen,
  encodeUaddrLen,
} from '../uapi.js';
import type { SevVm } from './state.js';
import { sevVmsaImage } from './vmsa.js';

export function sevLaunchHandlers(vm: SevVm): Record<number, SevOpHandler> {
  const { ctx, launch, cipher } = vm;
  return {
    // sev_guest_init(): the legacy INIT commands take only a
    // KVM_X86_DEFAULT_VM; an SEV or SEV-ES VM type is initialised with INIT2.
    [KVM_SEV_INIT]: () => ({ errno: EINVAL }),
    [KVM_SEV_ES_INIT]: () => ({ errno: EINVAL }),
    [KVM_SEV_INIT2]: (op) => {
      const b = op.readData(SIZEOF_KVM_SEV_INIT);
      if (!b) return { errno: EFAULT };
      // __sev_guest_init() refuses a VM with vCPUs (kvm->created_vcpus):
      // the VMM runs INIT2 right after KVM_CREATE_VM, as the selftests'
      // kvm_arch_vm_post_create() does.
      const r = launch.init2(decodeSevInit(b), ctx.nrVcpus);
      return { errno: r.errno, fwError: r.fwError };
    },
    [KVM_SEV_LAUNCH_START]: (op) => {
      const b = op.readData(SIZEOF_KVM_SEV_LAUNCH_START);
      if (!b) return { errno: EFAULT };
      const p = decodeSevLaunchStart(b);
      let session: Uint8Array | undefined;
      if (p.sessionUaddr !== 0n && p.sessionLen > 0) {
        session = op.readHost(p.sessionUaddr, p.sessionLen);
        if (!session) return { errno: EFAULT };
      }
      return launch.start(p.policy, session);
    },
    [KVM_SEV_LAUNCH_UPDATE_DATA]: (op) => {
      const b = op.readData(SIZEOF_KVM_SEV_UADDR_LEN);
      if (!b) return { errno: EFAULT };
      const { uaddr, len } = decodeUaddrLen(b);
      // The region must be 16-byte aligned; KVM pins it with FOLL_WRITE
      // (an unmapped HVA fails the pin).
      if (len === 0 || (uaddr & 15n) !== 0n || len % 16 !== 0) return { errno: EINVAL };
      const plain = op.readHost(uaddr, len);
      if (!plain) return { errno: EFAULT };
      const r = launch.updateData(plain);
      if (r.errno) return r;
      // The firmware encrypts in place at the HPA.
      if (!op.writeHost(uaddr, cipher.encrypt(uaddr, plain))) return { errno: EFAULT };
      for (const p of pagesOf(uaddr, BigInt(len))) vm.encryptedHva.add(p);
      return r;
    },
    [KVM_SEV_LAUNCH_UPDATE_VMSA]: () => {
      if (!vm.es) return { errno: EINVAL };
      const vmsas = Array.from({ length: ctx.nrVcpus }, (_, i) => sevVmsaImage(i));
      return launch.updateVmsa(vmsas);
    },
    [KVM_SEV_LAUNCH_MEASURE]: (op) => {
      const b = op.readData(SIZEOF_KVM_SEV_UADDR_LEN);
      if (!b) return { errno: EFAULT };
      const { uaddr, len } = decodeUaddrLen(b);
      // A zero uaddr asks for the blob length.
      if (uaddr === 0n) {
        op.writeData(encodeUaddrLen(0n, SEV_MEASUREMENT_LEN));
        return { errno: 0 };
      }
      if (len < SEV_MEASUREMENT_LEN) return { errno: EINVAL };
      const r = launch.measure();
      if (r.errno || !r.blob) return r;
      if (!op.writeHost(uaddr, r.blob)) return { errno: EFAULT };
      op.writeData(encodeUaddrLen(uaddr, SEV_MEASUREMENT_LEN));
      return r;
    },
    [KVM_SEV_LAUNCH_SECRET]: (op) => {
      const b = op.readData(SIZEOF_KVM_SEV_LAUNCH_SECRET);
      if (!b) return { errno: EFAULT };
      const p = decodeSevLaunchSecret(b);
      const r = launch.secret();
      if (r.errno) return r;
      // The transport packet is decrypted by the firmware with the TEK and
      // re-encrypted with the VEK into guest memory; the model has no
      // transport crypto, so `trans` is the secret itself.
      const secret = op.readHost(p.transUaddr, p.transLen);
      if (!secret) return { errno: EFAULT };
      if (!op.writeHost(p.guestUaddr, cipher.encrypt(p.guestUaddr, secret))) return { errno: EFAULT };
      for (const pg of pagesOf(p.guestUaddr, BigInt(p.transLen))) vm.encryptedHva.add(pg);
      return r;
    },
    [KVM_SEV_LAUNCH_FINISH]: () => launch.finish(),
  };
}
