/**
 * SEV-SNP inside the model (reference/platforms.md §2.4).
 *
 * - Marker: the C-bit, as for TDX's shared bit but inverted; `auto` follows
 *   the guest's own page tables after its last page-state change.
 * - Conversion: `snp.psc_msr` (one 4K page, GHCB MSR protocol) and `snp.psc`
 *   (a GHCB list of {gfn, op, 2M?}) become KVM_EXIT_HYPERCALL(MAP_GPA_RANGE),
 *   one exit per run of contiguous entries with the same op and size
 *   (snp_begin_psc()), PAGE_SZ_2M where it applies. A non-zero hypercall.ret
 *   gives GHCB_MSR_PSC_RESP_ERROR / VMGEXIT_PSC_ERROR_GENERIC.
 * - RMP: the first private fault assigns the page (sev_gmem_prepare(),
 *   not validated); the guest must `snp.pvalidate` it before use, else #VC
 *   [H], which the guest turns into a termination request. A 4K PVALIDATE
 *   inside a 2M entry is resolved by KVM with PSMASH (sev_handle_rmp_fault()).
 * - Launch: SNP_LAUNCH_START/UPDATE/FINISH over kvm_gmem_populate().
 */
import type { SysResult } from '../../lib/kvm/backend.js';
import { EAGAIN, EEXIST, EFAULT, EINVAL, EIO, ENOTTY, EOPNOTSUPP, EPERM } from '../../lib/kvm/errno.js';
import type { GuestAccess, PlatformOpOutcome, PlatformVcpuContext, PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import {
  KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MAP_GPA_RANGE_PAGE_SZ_2M, KVM_MAP_GPA_RANGE_PAGE_SZ_4K, KVM_MEMORY_ENCRYPT_OP, KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_SYSTEM_EVENT_SEV_TERM,
} from '../../lib/kvm/uapi.js';
import { GuestMapping, PAGE, gfnOf, isPageAligned, isPrivateAttr, pagesOf } from '../../lib/platform/common.js';
import type { SnpHardware } from './hardware.js';
import { SevCipher } from '../sev/cipher.js';
import { dispatchSevOp, type SevOpHandler } from '../sev/encrypt_op.js';
import { sevVmsaImage } from '../sev/model.js';
import { ghcbMsrTermReq, KVM_SEV_INIT2, KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES, KVM_SEV_SNP_LAUNCH_FINISH, KVM_SEV_SNP_LAUNCH_START, KVM_SEV_SNP_LAUNCH_UPDATE, SEV_RET_INVALID_GUEST_STATE, SEV_RET_INVALID_PARAM, SIZEOF_KVM_SEV_INIT, decodeSevInit } from '../sev/uapi.js';
import { DEFAULT_SNP_CPUID_ALLOWED, SnpLaunch, snpCheckCpuid } from './launch.js';
import { Rmp } from './rmp.js';
import {
  GHCB_MSR_PSC_RESP, GHCB_MSR_PSC_RESP_ERROR, GHCB_MSR_TERM_REQ, KVM_SEV_MODEL_HOST_READ, KVM_SEV_MODEL_HOST_WRITE, KVM_SEV_MODEL_LAUNCH_DIGEST,
  KVM_SEV_SNP_PAGE_TYPE_CPUID, KVM_SEV_SNP_PAGE_TYPE_ZERO, PVALIDATE_FAIL_INPUT, PVALIDATE_FAIL_NOUPDATE, PVALIDATE_FAIL_SIZEMISMATCH, SIZEOF_KVM_SEV_SNP_LAUNCH_START,
  SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE, SNP_PAGE_TYPES, VMGEXIT_PSC_ERROR_GENERIC, decodeCpuidPage, decodeSnpLaunchUpdate,
  encodeCpuidPage, encodeSnpLaunchUpdate,
} from './uapi.js';

/** One GHCB PSC entry, as `snp.psc` carries them: "gfn:private|shared:4K|2M" comma-separated. */
export interface PscEntry {
  readonly gfn: bigint;
  readonly toPrivate: boolean;
  readonly huge: boolean;
}

export function parsePscEntries(s: string): PscEntry[] {
  return s.split(',').filter(Boolean).map((e) => {
    const [gfn, op, size] = e.split(':');
    return { gfn: BigInt(gfn!), toPrivate: op === 'private', huge: size === '2M' };
  });
}

export function formatPscEntries(entries: readonly PscEntry[]): string {
  return entries.map((e) => `0x${e.gfn.toString(16)}:${e.toPrivate ? 'private' : 'shared'}:${e.huge ? '2M' : '4K'}`).join(',');
}

/** snp_begin_psc(): contiguous entries with the same op and page size merge into one MAP_GPA_RANGE exit. */
export function mergePscRuns(entries: readonly PscEntry[]): { gpa: bigint; npages: bigint; toPrivate: boolean; huge: boolean }[] {
  const runs: { gpa: bigint; npages: bigint; toPrivate: boolean; huge: boolean }[] = [];
  for (const e of entries) {
    const n = e.huge ? 512n : 1n;
    const last = runs[runs.length - 1];
    if (last && last.toPrivate === e.toPrivate && last.huge === e.huge && last.gpa / PAGE + last.npages === e.gfn) {
      last.npages += n;
    } else {
      runs.push({ gpa: e.gfn * PAGE, npages: n, toPrivate: e.toPrivate, huge: e.huge });
    }
  }
  return runs;
}

export function createSnpModel(hw: SnpHardware): PlatformModel {
  const largeFolios = hw.largeFolios;
  const batch = BigInt(hw.populateBatchPages);
  const hostReadsCiphertext = hw.hostRead === 'ciphertext';
  const vmsaFeatures = BigInt(hw.vmsaFeatures);
  return {
    hasProtectedState: true,
    preFault: false,
    /** sev_dev_get_attr(): the VMSA features INIT2 accepts, shared with SEV-ES. */
    devAttr: (group, attr) => (group === KVM_X86_GRP_SEV && attr === KVM_X86_SEV_VMSA_FEATURES ? vmsaFeatures : undefined),
    attach(ctx: PlatformVmContext): PlatformVm {
      // kvm_gmem_populate()'s rules: the part's override, else the release's (7.0 GUPs a 4K-aligned source).
      const rules = hw.populateRules ?? ctx.profile.populateRules;
      const rmp = new Rmp();
      // The VM's memory encryption key, for what a host read of a guest-owned page returns.
      const cipher = SevCipher.random();
      const launch = new SnpLaunch();
      let inited = false;
      const mapping = new GuestMapping();
      const psc = new Map<number, { runs: ReturnType<typeof mergePscRuns>; i: number; error?: bigint; msr: boolean }>();
      const attrPrivate = (gpa: bigint): boolean => isPrivateAttr(ctx.attributes(gpa));

      /** sev_gmem_prepare(): the first private fault assigns the page (2M when the folio allows). */
      const prepare = (gpa: bigint): void => {
        const gfn = gfnOf(gpa);
        if (rmp.get(gfn)?.assigned) return;
        const base2M = gpa & ~0x1fffffn;
        let huge = false;
        if (largeFolios) {
          huge = true;
          for (let p = base2M; p < base2M + 0x200000n; p += PAGE) if (!attrPrivate(p) || rmp.get(gfnOf(p))?.assigned) { huge = false; break; }
        }
        rmp.makePrivate(gfn, huge);
      };

      const pscStep = (vcpu: PlatformVcpuContext): PlatformOpOutcome => {
        const st = psc.get(vcpu.vcpu)!;
        if (st.error !== undefined || st.i >= st.runs.length) {
          psc.delete(vcpu.vcpu);
          const okStatus = st.msr ? GHCB_MSR_PSC_RESP : 0n;
          return { kind: 'done', status: st.error ?? okStatus };
        }
        const run = st.runs[st.i]!;
        return {
          kind: 'exit',
          exit: {
            reason: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE),
            args: [run.gpa, run.npages, (run.toPrivate ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED) | (run.huge ? KVM_MAP_GPA_RANGE_PAGE_SZ_2M : KVM_MAP_GPA_RANGE_PAGE_SZ_4K)],
            flags: KVM_EXIT_HYPERCALL_LONG_MODE,
          },
          retry: true,
          resume: (r) => {
            if (r.hypercallRet !== 0n) {
              st.error = st.msr ? GHCB_MSR_PSC_RESP_ERROR : VMGEXIT_PSC_ERROR_GENERIC;
              return st.error;
            }
            mapping.set(run.gpa, run.npages * PAGE, run.toPrivate);
            st.i++;
            return 0n;
          },
        };
      };

      const startPsc = (vcpu: PlatformVcpuContext, entries: PscEntry[], msr: boolean): PlatformOpOutcome => {
        // Without the MAP_GPA_RANGE exit the guest gets a PSC error, no exit.
        if ((vcpu.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE))) === 0n) {
          return { kind: 'done', status: msr ? GHCB_MSR_PSC_RESP_ERROR : VMGEXIT_PSC_ERROR_GENERIC };
        }
        psc.set(vcpu.vcpu, { runs: mergePscRuns(entries), i: 0, msr });
        return pscStep(vcpu);
      };

      const pvalidate = (gpa: bigint, size2M: boolean, validate: boolean, onMismatch: string): PlatformOpOutcome => {
        const gfn = gfnOf(gpa);
        // The #NPF of a PVALIDATE on a private gfn whose slot has no gmem is
        // the common private-fault exit (kvm_mmu_faultin_pfn_private()).
        if (attrPrivate(gpa) && !ctx.slotAt(gpa)?.hasGmem) {
          return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: gfn * PAGE, size: PAGE }, retry: true };
        }
        // A PVALIDATE of a page not yet in the RMP faults it in first (a private #NPF).
        if (!rmp.get(gfn)?.assigned && attrPrivate(gpa) && ctx.slotAt(gpa)?.hasGmem) prepare(gpa);
        let r = rmp.pvalidate(gfn, size2M, validate);
        if (r === PVALIDATE_FAIL_SIZEMISMATCH && !size2M && onMismatch !== 'return') {
          // #NPF with PFERR_GUEST_SIZEM: KVM PSMASHes the 2M entry and the guest's retry succeeds.
          rmp.psmash(gfn);
          r = rmp.pvalidate(gfn, size2M, validate);
        }
        if (r === 0n) mapping.set(gpa, size2M ? 0x200000n : PAGE, true);
        return { kind: 'done', status: r };
      };

      const handlers: Record<number, SevOpHandler> = {
        [KVM_SEV_INIT2]: (op) => {
          const b = op.readData(SIZEOF_KVM_SEV_INIT);
          if (!b) return { errno: EFAULT };
          const p = decodeSevInit(b);
          // __sev_guest_init(): never once vCPUs exist (kvm->created_vcpus),
          // then as for SEV-ES, vmsa_features within sev_supported_vmsa_features.
          // A second INIT2 does not get here: vmIoctl() answers it -EPERM.
          if (ctx.nrVcpus > 0) return { errno: EINVAL };
          if (p.flags !== 0 || (p.vmsaFeatures & ~vmsaFeatures) !== 0n || p.ghcbVersion > 2) return { errno: EINVAL };
          inited = true;
          return { errno: 0 };
        },
        [KVM_SEV_SNP_LAUNCH_START]: (op) => {
          // snp_launch_start(): not an SNP guest until INIT2 → -ENOTTY, before the copy-in.
          if (!inited) return { errno: ENOTTY };
          const b = op.readData(SIZEOF_KVM_SEV_SNP_LAUNCH_START);
          if (!b) return { errno: EFAULT };
          // snp_launch_start(): one SNP context per VM (sev->snp_context
          // already set → -EINVAL, without a firmware call), also after finish.
          return launch.start(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)) ? { errno: 0 } : { errno: EINVAL };
        },
        [KVM_SEV_SNP_LAUNCH_UPDATE]: (op) => {
          const b = op.readData(SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE);
          if (!b) return { errno: EFAULT };
          const u = decodeSnpLaunchUpdate(b);
          // snp_launch_update(): a started launch, a non-zero 4K-multiple
          // length, no flags, a known page type.
          if (launch.state === 'init') return { errno: EINVAL };
          if (u.len === 0n || !isPageAligned(u.len) || u.flags !== 0 || !(SNP_PAGE_TYPES as readonly number[]).includes(u.type)) return { errno: EINVAL };
          const zero = u.type === KVM_SEV_SNP_PAGE_TYPE_ZERO;
          // Only ZERO ignores uaddr, unless 7.4's in-place conversion lets a NULL
          // source mean "the page as the VMM wrote it while shared" ("KVM: SEV:
          // Make 'uaddr' parameter optional for KVM_SEV_SNP_LAUNCH_UPDATE":
          // sev_gmem_post_populate() refuses a NULL source only without
          // gmem_in_place_conversion).
          const inPlaceSource = !zero && u.uaddr === 0n && ctx.profile.perGmemAttributes;
          if (!zero && u.uaddr === 0n && !inPlaceSource) return { errno: EINVAL };
          if (!zero && rules === '7.0' && !isPageAligned(u.uaddr)) return { errno: EINVAL };
          if (launch.state === 'finished') return { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE };
          let done = 0n;
          while (u.len > 0n) {
            if (batch > 0n && done === batch) {
              op.writeData(encodeSnpLaunchUpdate(u));
              return { errno: EAGAIN };
            }
            const gpa = u.gfnStart * PAGE;
            const slot = ctx.slotAt(gpa);
            // kvm_gmem_populate(): PRIVATE attribute and a gmem slot, else -EINVAL.
            if (!slot || !slot.hasGmem || !attrPrivate(gpa)) { op.writeData(encodeSnpLaunchUpdate(u)); return { errno: EINVAL }; }
            // sev_gmem_post_populate(): the RMP entry must still be shared.
            if (rmp.get(u.gfnStart)?.assigned) { op.writeData(encodeSnpLaunchUpdate(u)); return { errno: EEXIST }; }
            let page = zero ? new Uint8Array(4096) : inPlaceSource ? ctx.readBacking(gpa, 4096, 'private') : op.readHost(u.uaddr, 4096);
            if (!page) { op.writeData(encodeSnpLaunchUpdate(u)); return { errno: EFAULT }; }
            if (u.type === KVM_SEV_SNP_PAGE_TYPE_CPUID) {
              const chk = snpCheckCpuid(decodeCpuidPage(page), DEFAULT_SNP_CPUID_ALLOWED);
              if (!chk.ok) {
                // The firmware writes the values it expects; KVM copies them back to uaddr.
                op.writeHost(u.uaddr, encodeCpuidPage(chk.corrected));
                op.writeData(encodeSnpLaunchUpdate(u));
                return { errno: EIO, fwError: SEV_RET_INVALID_PARAM };
              }
              page = Uint8Array.from(page);
            }
            ctx.writeBacking(gpa, page, 'private');
            rmp.makePrivate(u.gfnStart);
            // The firmware validates launched pages.
            rmp.get(u.gfnStart)!.validated = true;
            mapping.set(gpa, PAGE, true);
            launch.measurePage(gpa, u.type, page);
            u.gfnStart += 1n;
            if (!zero && !inPlaceSource) u.uaddr += PAGE;
            u.len -= PAGE;
            done++;
          }
          op.writeData(encodeSnpLaunchUpdate(u));
          return { errno: 0 };
        },
        [KVM_SEV_SNP_LAUNCH_FINISH]: () =>
          launch.finish(Array.from({ length: ctx.nrVcpus }, (_, i) => sevVmsaImage(i))) ? { errno: 0 } : { errno: EINVAL },
        [KVM_SEV_MODEL_LAUNCH_DIGEST]: (op) => (op.writeData(launch.digest) ? { errno: 0 } : { errno: EFAULT }),
        [KVM_SEV_MODEL_HOST_READ]: (op) => {
          // Host reads of guest-owned pages are allowed and see ciphertext [H].
          const b = op.readData(8);
          if (!b) return { errno: EFAULT };
          const gpa = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) & ~(PAGE - 1n);
          const owned = rmp.get(gfnOf(gpa))?.assigned === true;
          const raw = ctx.readBacking(gpa, 4096, owned ? 'private' : 'shared') ?? new Uint8Array(4096);
          const page = owned && hostReadsCiphertext ? cipher.encrypt(gpa, raw) : raw;
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

      return {
        isPrivateAccess: (a: GuestAccess) => mapping.resolve(a.view, a.gpa, () => attrPrivate(a.gpa)),
        beforeGuestAccess(a, backing) {
          if (backing !== 'private') return undefined;
          prepare(a.gpa);
          if (!rmp.get(gfnOf(a.gpa))!.validated) {
            // #VC "page not validated" [H]: Linux treats it as fatal and asks
            // the host to terminate it through the GHCB MSR protocol.
            return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_SEV_TERM, data: [GHCB_MSR_TERM_REQ] } };
          }
          return undefined;
        },
        guestOp(vcpu, op): PlatformOpOutcome {
          switch (op.call) {
            case 'snp.psc_msr':
              if (psc.has(vcpu.vcpu)) return pscStep(vcpu);
              return startPsc(vcpu, [{ gfn: gfnOf(BigInt(op.args.gpa as bigint)), toPrivate: op.args.op === 'private', huge: false }], true);
            case 'snp.psc':
              if (psc.has(vcpu.vcpu)) return pscStep(vcpu);
              return startPsc(vcpu, parsePscEntries(String(op.args.entries ?? '')), false);
            case 'snp.pvalidate': {
              // The guest's loop over a range (pvalidate_pages()); the first failure ends it.
              const size2M = op.args.size === '2M';
              const step = size2M ? 0x200000n : PAGE;
              const n = BigInt((op.args.npages ?? 1) as number | bigint);
              // With `all`, every page is tried and NOUPDATE (already in that
              // state) is not a failure: a guest rescinding a whole range.
              const all = op.args.all === true;
              let out: PlatformOpOutcome = { kind: 'done', status: 0n };
              for (let i = 0n; i < n; i++) {
                const r = pvalidate(BigInt(op.args.gpa as bigint) + i * step, size2M, op.args.validate !== false, String(op.args.onSizeMismatch ?? 'npf'));
                if (r.kind !== 'done') return r;
                if (r.status === 0n || (all && (r.status === PVALIDATE_FAIL_NOUPDATE || r.status === PVALIDATE_FAIL_INPUT))) continue;
                out = r;
                if (!all) break;
              }
              return out;
            }
            case 'sev.ghcb_msr_term':
              // The GHCB MSR protocol's termination request, as for SEV-ES
              // (sev_handle_vmgexit_msr_protocol()): SEV_TERM with the MSR value.
              return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_SEV_TERM, data: [ghcbMsrTermReq(BigInt(op.args.reasonSet ?? 0n), BigInt(op.args.reasonCode ?? 0n))] } };
            default:
              return { kind: 'done', status: BigInt(-EINVAL) };
          }
        },
        vmIoctl(request, arg): SysResult | undefined {
          if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
          // sev_mem_enc_ioctl(): once INIT2 made the VM an SNP guest, only the
          // SNP commands are allowed (ids below KVM_SEV_SNP_LAUNCH_START → -EPERM,
          // INIT2 itself included).
          if (inited && arg instanceof Uint8Array && arg.length >= 4
            && new DataView(arg.buffer, arg.byteOffset).getUint32(0, true) < KVM_SEV_SNP_LAUNCH_START) {
            return { ret: -1, errno: EPERM };
          }
          return dispatchSevOp(ctx, arg, handlers);
        },
        preFaultAllowed: () => launch.state === 'finished',
        onZap(gpa, size, reason) {
          // sev_gmem_invalidate(): a freed gmem page goes back to the hypervisor.
          if (reason === 'punch') rmp.makeSharedRange(gfnOf(gpa), gfnOf(gpa + size + PAGE - 1n));
        },
        onGmemConvert(_gpa, _size, toPrivate, existing) {
          // 7.4 towards shared: kvm_arch_gmem_invalidate() (sev_gmem_invalidate())
          // makes each guest-owned page the hypervisor's again; its bytes stay
          // what the guest's key made of them, so the host now reads the
          // ciphertext of the private data [H].
          if (toPrivate) return;
          for (const pg of existing) {
            const gfn = gfnOf(pg);
            if (!rmp.get(gfn)?.assigned) continue;
            const raw = ctx.readBacking(pg, 4096, 'private');
            rmp.makeShared(gfn);
            if (raw && hostReadsCiphertext) ctx.writeBacking(pg, cipher.encrypt(pg, raw), 'shared');
          }
        },
      };
    },
  };
}
