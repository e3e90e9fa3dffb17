/**
 * SEV and SEV-ES inside the model (reference/platforms.md §2.2, §2.3).
 *
 * - No private memory for KVM (`has_private_mem = false`, svm_vm_init()):
 *   every access is "shared" to the fault path, attributes are refused by
 *   common code, and nothing ever exits MEMORY_FAULT.
 * - The C-bit is the guest's: a C=1 store lands as ciphertext in the very
 *   page the VMM mapped (same HPA, two views), a C=1 load decrypts whatever
 *   is there. So host reads see ciphertext, host writes decrypt to garbage,
 *   and a C=0 read of encrypted memory returns ciphertext — all without a
 *   fault (§2.2 c).
 * - The launch encrypts in place at the VMM's HVA (LAUNCH_UPDATE_DATA), and
 *   those pages are mapped C=1 by the guest afterwards.
 */
import type { SysResult } from '../../lib/kvm/backend.js';
import { EFAULT, EINVAL, ENOTTY } from '../../lib/kvm/errno.js';
import type { GuestAccess, PlatformOpOutcome, PlatformVcpuContext, PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import {
  KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MEMORY_ENCRYPT_OP, KVM_ENOSYS, KVM_SYSTEM_EVENT_SEV_TERM, KVM_X86_DEFAULT_VM,
} from '../../lib/kvm/uapi.js';
import { GuestMapping, PAGE, pageBase, pagesOf } from '../../lib/platform/common.js';
import type { SevHardware } from './hardware.js';
import { SevCipher } from './cipher.js';
import { dispatchSevOp, type SevOpHandler } from './encrypt_op.js';
import { SevLaunch } from './launch.js';
import {
  KVM_SEV_ES_INIT, KVM_SEV_INIT, KVM_SEV_INIT2, KVM_SEV_LAUNCH_FINISH, KVM_SEV_LAUNCH_MEASURE, KVM_SEV_LAUNCH_SECRET, KVM_SEV_LAUNCH_START,
  KVM_SEV_LAUNCH_UPDATE_DATA, KVM_SEV_LAUNCH_UPDATE_VMSA, SEV_MEASUREMENT_LEN, SIZEOF_KVM_SEV_INIT,
  SIZEOF_KVM_SEV_LAUNCH_SECRET, SIZEOF_KVM_SEV_LAUNCH_START, SIZEOF_KVM_SEV_UADDR_LEN, decodeSevInit,
  decodeSevLaunchSecret, decodeSevLaunchStart, decodeUaddrLen, encodeUaddrLen, ghcbMsrTermReq, KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES,
} from './uapi.js';

/** The synthetic VMSA page LAUNCH_UPDATE_VMSA measures for a vCPU: its id, then zeros. */
export function sevVmsaImage(vcpu: number): Uint8Array {
  const v = new Uint8Array(4096);
  new DataView(v.buffer).setUint32(0, vcpu, true);
  return v;
}

let vmSerial = 0;

/** The commands sev_mem_enc_ioctl() takes on a VM that is not an SEV guest yet. */
const INIT_COMMANDS: ReadonlySet<number> = new Set([KVM_SEV_INIT, KVM_SEV_ES_INIT, KVM_SEV_INIT2]);

/** State of one SEV VM, reachable by tests through `sevVmState()`. */
export interface SevVmState {
  readonly launch: SevLaunch;
  readonly cipher: SevCipher;
}

const states = new WeakMap<PlatformVmContext, SevVmState>();

export function sevVmState(ctx: PlatformVmContext): SevVmState | undefined {
  return states.get(ctx);
}

/**
 * `hw.vmsaFeatures` is sev_supported_vmsa_features [H]: the VMSA features
 * KVM_SEV_INIT2 accepts for SEV-ES (and KVM_X86_SEV_VMSA_FEATURES reports).
 */
export function createSevModel(name: 'sev' | 'sev_es', hw: SevHardware): PlatformModel {
  const es = name === 'sev_es';
  const seed = hw.keySeed;
  const vmsaFeatures = BigInt(hw.vmsaFeatures);
  return {
    hasProtectedState: name === 'sev_es',
    preFault: false,
    /**
     * SVM's KVM_MEMORY_ENCRYPT_OP on an x86 VM of another type
     * (sev_mem_enc_ioctl()): KVM_SEV_INIT2 is refused by sev_guest_init2()
     * with -EINVAL (the VM type is not SEV/SEV-ES), everything else is
     * -ENOTTY because the VM is not an SEV guest (sev_init2_tests).
     * The legacy KVM_SEV_INIT / KVM_SEV_ES_INIT (sev_guest_init()) take
     * only a KVM_X86_DEFAULT_VM, and __sev_guest_init() refuses one that
     * already has vCPUs: -EINVAL in both cases. Turning a default VM without
     * vCPUs into an SEV guest is not modelled; that request stays -ENOTTY.
     */
    foreignVmIoctl(ctx, request, arg) {
      if (request !== KVM_MEMORY_ENCRYPT_OP || ctx.vmType >= 32) return undefined;
      if (!(arg instanceof Uint8Array) || arg.length < 4) return { ret: -1, errno: EFAULT };
      const id = new DataView(arg.buffer, arg.byteOffset).getUint32(0, true);
      if (id === KVM_SEV_INIT || id === KVM_SEV_ES_INIT) {
        return { ret: -1, errno: ctx.vmType !== KVM_X86_DEFAULT_VM || ctx.nrVcpus > 0 ? EINVAL : ENOTTY };
      }
      return { ret: -1, errno: id === KVM_SEV_INIT2 ? EINVAL : ENOTTY };
    },
    /**
     * sev_dev_get_attr(): KVM_X86_SEV_VMSA_FEATURES is
     * sev_supported_vmsa_features, which stays 0 without SEV-ES.
     */
    devAttr(group, attr) {
      if (group !== KVM_X86_GRP_SEV || attr !== KVM_X86_SEV_VMSA_FEATURES) return undefined;
      return es ? vmsaFeatures : 0n;
    },
    attach(ctx: PlatformVmContext): PlatformVm {
      const cipher = seed !== undefined ? SevCipher.fromSeed(`${seed}:${vmSerial++}`) : SevCipher.random();
      const launch = new SevLaunch(es, undefined, vmsaFeatures);
      states.set(ctx, { launch, cipher });
      const cbit = new GuestMapping();
      /** Host pages the launch encrypted: the guest maps them C=1. */
      const encryptedHva = new Set<bigint>();

      const hvaOf = (gpa: bigint): bigint | undefined => {
        const s = ctx.slotAt(gpa);
        return s ? s.userspaceAddr + (gpa - s.gpa) : undefined;
      };
      const cbitSet = (a: GuestAccess): boolean =>
        cbit.resolve(a.view, a.gpa, () => {
          const hva = hvaOf(a.gpa);
          return hva !== undefined && encryptedHva.has(pageBase(hva));
        });

      const handlers: Record<number, SevOpHandler> = {
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
          // sev_launch_update_data(): the region must be 16-byte aligned; KVM
          // pins it with FOLL_WRITE (an unmapped HVA fails the pin).
          if (len === 0 || (uaddr & 15n) !== 0n || len % 16 !== 0) return { errno: EINVAL };
          const plain = op.readHost(uaddr, len);
          if (!plain) return { errno: EFAULT };
          const r = launch.updateData(plain);
          if (r.errno) return r;
          // The firmware encrypts in place at the HPA.
          if (!op.writeHost(uaddr, cipher.encrypt(uaddr, plain))) return { errno: EFAULT };
          for (const p of pagesOf(uaddr, BigInt(len))) encryptedHva.add(p);
          return r;
        },
        [KVM_SEV_LAUNCH_UPDATE_VMSA]: () => {
          if (!es) return { errno: EINVAL };
          const vmsas = Array.from({ length: ctx.nrVcpus }, (_, i) => sevVmsaImage(i));
          return launch.updateVmsa(vmsas);
        },
        [KVM_SEV_LAUNCH_MEASURE]: (op) => {
          const b = op.readData(SIZEOF_KVM_SEV_UADDR_LEN);
          if (!b) return { errno: EFAULT };
          const { uaddr, len } = decodeUaddrLen(b);
          // A zero uaddr asks for the blob length (sev_launch_measure()).
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
          for (const pg of pagesOf(p.guestUaddr, BigInt(p.transLen))) encryptedHva.add(pg);
          return r;
        },
        [KVM_SEV_LAUNCH_FINISH]: () => launch.finish(),
      };

      return {
        isPrivateAccess: () => false,
        encodeGuestWrite(a, _backing, data) {
          const hva = hvaOf(a.gpa);
          return hva !== undefined && cbitSet(a) ? cipher.encrypt(hva, data) : data;
        },
        decodeGuestRead(a, _backing, data) {
          const hva = hvaOf(a.gpa);
          return hva !== undefined && cbitSet(a) ? cipher.decrypt(hva, data) : data;
        },
        guestOp(vcpu: PlatformVcpuContext, op): PlatformOpOutcome {
          if (op.call === 'sev.ghcb_msr_term') {
            // SEV-ES: the MSR protocol's termination request ends the run
            // with SEV_TERM and the MSR value as written
            // (sev_handle_vmgexit_msr_protocol(), GHCB_MSR_TERM_REQ). KVM
            // would re-enter the guest if asked, but a terminating guest
            // halts forever (sev_es_terminate()), so the vCPU stays stopped.
            // Plain SEV has no GHCB: KVM intercepts MSR_AMD64_SEV_ES_GHCB
            // for non-ES guests and knows no such MSR, so the WRMSR takes
            // #GP; a guest without a #GP handler triple-faults, and for a
            // non-ES guest shutdown_interception() reports KVM_EXIT_SHUTDOWN.
            if (!es) return { kind: 'fatal', exit: { reason: 'shutdown' } };
            const msr = ghcbMsrTermReq(BigInt(op.args.reasonSet ?? 0n), BigInt(op.args.reasonCode ?? 0n));
            return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_SEV_TERM, data: [msr] } };
          }
          if (op.call !== 'sev.set_cbit') return { kind: 'done', status: BigInt(-EINVAL) };
          const gpa = BigInt(op.args.gpa ?? 0n);
          const size = BigInt(op.args.size ?? PAGE);
          const enc = op.args.encrypted === true;
          cbit.set(gpa, size, enc);
          // Linux guests report the flip with KVM_HC_MAP_GPA_RANGE only for
          // migration bookkeeping (hypercalls.rst §8); optional here.
          if (op.args.notify !== true) return { kind: 'done', status: 0n };
          if ((vcpu.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE))) === 0n) {
            return { kind: 'done', status: -BigInt(KVM_ENOSYS) };
          }
          return {
            kind: 'exit',
            exit: {
              reason: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE),
              args: [gpa, size / PAGE, enc ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED],
              flags: KVM_EXIT_HYPERCALL_LONG_MODE,
            },
            resume: (run) => run.hypercallRet,
          };
        },
        vmIoctl(request, arg): SysResult | undefined {
          if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
          // Before INIT2 the VM is no SEV guest: every command but the INIT
          // ones is -ENOTTY (sev_launch_start() and the rest: !sev_guest()).
          if (launch.state === 'uninit' && arg instanceof Uint8Array && arg.length >= 4
            && !INIT_COMMANDS.has(new DataView(arg.buffer, arg.byteOffset).getUint32(0, true))) {
            return { ret: -1, errno: ENOTTY };
          }
          return dispatchSevOp(ctx, arg, handlers);
        },
      };
    },
  };
}
