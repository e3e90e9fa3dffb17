/**
 * CCA realms inside the model (reference/platforms.md §2.6).
 *
 * - Marker: the top IPA bit (BIT(ia_bits-1)) selects the unprotected alias.
 * - RIPAS per granule: RAM for every guest_memfd-backed gfn at activation
 *   (RMI_RTT_INIT_RIPAS), EMPTY otherwise. A protected access to EMPTY makes
 *   the RMM inject an SEA into the realm, which the realm cannot survive.
 * - Conversion: RSI_IPA_STATE_SET exits the REC with RIPAS_CHANGE, which KVM
 *   turns into KVM_EXIT_MEMORY_FAULT {base, size, PRIVATE iff RAM}
 *   (rec_exit_ripas_change()). At the next KVM_RUN the model accepts the
 *   change if the VMM's attributes now match it and rejects it otherwise
 *   (REC_ENTER_FLAG_RIPAS_RESPONSE), leaving RIPAS unchanged.
 * - Launch: KVM_ARM_RMI_POPULATE before the first run, copying the source
 *   into guest_memfd and extending the RIM when MEASURE is set; the realm is
 *   activated on its first KVM_RUN, after which populate is refused.
 */
import type { SysResult } from '../../lib/kvm/backend.js';
import { EEXIST, EFAULT, EINVAL, EOPNOTSUPP, EPERM } from '../../lib/kvm/errno.js';
import type { GuestAccess, PlatformOpOutcome, PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import { KVM_MEMORY_EXIT_FLAG_PRIVATE } from '../../lib/kvm/uapi.js';
import { GfnSet, GuestMapping, PAGE, gfnOf, isHostFault, isPageAligned, isPrivateAttr, pageBase, pagesOf } from '../../lib/platform/common.js';
import { RangeMap } from '../../lib/kvm/model/range_map.js';
import { ExtendRegister, le64, sha, tag } from '../../lib/platform/digest.js';
import type { CcaHardware } from './hardware.js';
import {
  KVM_ARM_MODEL_GET_RIM, KVM_ARM_RMI_POPULATE, KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, KVM_SYSTEM_EVENT_CRASH, RSI_ACCEPT, RSI_ERROR_INPUT,
  RSI_REJECT, SIZEOF_KVM_ARM_RMI_POPULATE, decodeRmiPopulate,
} from './uapi.js';

type Ripas = 'ram' | 'empty';

/** One RIM extension for a populated granule (RMI_DATA_CREATE's measurement descriptor). */
export function rimDataDescriptor(ipa: bigint, flags: number, data: Uint8Array): Uint8Array {
  const d = new Uint8Array(16 + 8 + 8 + 32);
  d.set(tag('DATA', 16), 0);
  d.set(le64(ipa), 16);
  d.set(le64(BigInt(flags)), 24);
  if (flags & KVM_ARM_RMI_POPULATE_FLAGS_MEASURE) d.set(sha('sha256', data), 32);
  return d;
}

export function rimRecDescriptor(vcpu: number): Uint8Array {
  const d = new Uint8Array(24);
  d.set(tag('REC', 16), 0);
  d.set(le64(BigInt(vcpu)), 16);
  return d;
}

export interface CcaVmState {
  readonly rim: ExtendRegister;
  readonly active: () => boolean;
}
const states = new WeakMap<PlatformVmContext, CcaVmState>();
export function ccaVmState(ctx: PlatformVmContext): CcaVmState | undefined {
  return states.get(ctx);
}

export function createCcaModel(hw: CcaHardware): PlatformModel {
  const sharedBit = 1n << BigInt(hw.ipaBits - 1);
  return {
    preFault: false,
    attach(ctx: PlatformVmContext): PlatformVm {
      const rim = new ExtendRegister('sha256');
      let active = false;
      states.set(ctx, { rim, active: () => active });
      // RIPAS as runs (1 = RAM, 2 = EMPTY, unset = the slot's default): a
      // state change over a huge range is one store, not one per granule.
      const ripas = new RangeMap();
      const populated = new GfnSet();
      const mapping = new GuestMapping();
      const attrPrivate = (gpa: bigint): boolean => isPrivateAttr(ctx.attributes(gpa));
      const ripasOf = (gpa: bigint): Ripas => {
        const v = ripas.get(Number(gfnOf(gpa)));
        return v === 1n ? 'ram' : v === 2n ? 'empty' : ctx.slotAt(gpa)?.hasGmem ? 'ram' : 'empty';
      };
      const setRipas = (gpa: bigint, size: bigint, r: Ripas): void =>
        ripas.set(Number(gfnOf(gpa)), Number(gfnOf(gpa + size + PAGE - 1n)), r === 'ram' ? 1n : 2n);

      const populate = (arg: unknown): SysResult => {
        if (!(arg instanceof Uint8Array) || arg.length < SIZEOF_KVM_ARM_RMI_POPULATE) return { ret: -1, errno: EFAULT };
        const p = decodeRmiPopulate(arg);
        if (active) return { ret: -1, errno: EPERM };
        if (p.flags & ~KVM_ARM_RMI_POPULATE_FLAGS_MEASURE) return { ret: -1, errno: EINVAL };
        if (p.sourceUaddr === 0n) return { ret: -1, errno: EOPNOTSUPP };
        if (!isPageAligned(p.base) || !isPageAligned(p.size) || p.size === 0n || !isPageAligned(p.sourceUaddr)) return { ret: -1, errno: EINVAL };
        let src = p.sourceUaddr;
        for (const gpa of pagesOf(p.base, p.size)) {
          const slot = ctx.slotAt(gpa);
          if (!slot || !slot.hasGmem || !attrPrivate(gpa)) return { ret: -1, errno: EINVAL };
          if (populated.has(gfnOf(gpa))) return { ret: -1, errno: EEXIST };
          const data = ctx.hostRead(src, Number(PAGE));
          if (isHostFault(data)) return { ret: -1, errno: EFAULT };
          ctx.writeBacking(gpa, data, 'private');
          populated.add(gfnOf(gpa));
          rim.extend(rimDataDescriptor(gpa, p.flags, data));
          setRipas(gpa, PAGE, 'ram');
          src += PAGE;
        }
        return { ret: 0, errno: 0 };
      };

      return {
        isPrivateAccess: (a: GuestAccess) => {
          const protectedIpa = mapping.resolve(a.view, a.gpa, () => attrPrivate(a.gpa));
          // A protected access to RIPAS EMPTY never reaches KVM's fault path:
          // the RMM injects the SEA first (beforeGuestAccess), so it must not
          // be reported as an attribute mismatch.
          if (protectedIpa && ripasOf(a.gpa) === 'empty' && !attrPrivate(a.gpa)) return false;
          return protectedIpa;
        },
        beforeRun() {
          if (!active) {
            // RMI_REC_CREATE (measured) for each vCPU, RIPAS init, RMI_REALM_ACTIVATE.
            for (let i = 0; i < ctx.nrVcpus; i++) rim.extend(rimRecDescriptor(i));
            active = true;
          }
          return undefined;
        },
        beforeGuestAccess(a) {
          const protectedIpa = mapping.resolve(a.view, a.gpa, () => attrPrivate(a.gpa));
          if (protectedIpa && ripasOf(a.gpa) === 'empty') {
            // Protected IPA with RIPAS EMPTY: the RMM injects an SEA into the realm.
            return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_CRASH, data: [pageBase(a.gpa)] } };
          }
          return undefined;
        },
        guestOp(_vcpu, op): PlatformOpOutcome {
          if (op.call !== 'cca.rsi_ipa_state_set') return { kind: 'done', status: RSI_ERROR_INPUT };
          const base = BigInt(op.args.base as bigint) & ~sharedBit;
          const top = BigInt(op.args.top as bigint) & ~sharedBit;
          const toRam = op.args.ripas === 'ram';
          if (!isPageAligned(base) || !isPageAligned(top) || top <= base) return { kind: 'done', status: RSI_ERROR_INPUT };
          return {
            kind: 'exit',
            exit: { reason: 'memory_fault', flags: toRam ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n, gpa: base, size: top - base },
            resume: () => {
              for (const p of pagesOf(base, top - base)) if (attrPrivate(p) !== toRam) return RSI_REJECT;
              setRipas(base, top - base, toRam ? 'ram' : 'empty');
              mapping.set(base, top - base, toRam);
              return RSI_ACCEPT;
            },
          };
        },
        vmIoctl(request, arg) {
          if (request === KVM_ARM_MODEL_GET_RIM) {
            if (!(arg instanceof Uint8Array) || arg.length < 32) return { ret: -1, errno: EFAULT };
            arg.set(rim.digest);
            return { ret: 0, errno: 0 };
          }
          return request === KVM_ARM_RMI_POPULATE ? populate(arg) : undefined;
        },
        onZap(gpa, size, reason) {
          if (reason === 'punch') populated.setRange(gpa, size, false);
        },
      };
    },
  };
}
