/**
 * TDX inside the model (reference/platforms.md §2.1).
 *
 * - Marker: the shared GPA bit (GPAW−1). An access through the shared alias
 *   is shared, through the private alias private; `auto` follows the TD's
 *   own page tables (its last MapGPA/ACCEPT), else the attribute.
 * - Conversion: `tdx.map_gpa` is TDG.VP.VMCALL<MapGPA>: KVM (tdx_map_gpa())
 *   exits KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) with the bit stripped, in
 *   chunks, and returns RETRY with the next GPA in R11 when an interrupt is
 *   pending between chunks. Without KVM_CAP_EXIT_HYPERCALL the guest gets
 *   SUBFUNC_UNSUPPORTED and there is no exit.
 * - →private pages are pending until `tdx.accept` (TDG.MEM.PAGE.ACCEPT);
 *   touching one kills the TD (6.16) or exits MEMORY_FAULT with size 0.
 * - Launch: INIT_VM (once, before any vCPU: KVM_CREATE_VCPU is -EIO
 *   until then), INIT_VCPU, INIT_MEM_REGION (copy from a source buffer,
 *   MRTD extended by PAGE.ADD and, with MEASURE, MR.EXTEND), FINALIZE_VM;
 *   KVM_RUN before finalise is -EINVAL.
 * - Host access: private gmem is never mapped; the model-only
 *   KVM_TDX_MODEL_HOST_WRITE stands for a host kernel partial write, which
 *   poisons the line: the TD's next private read consumes it (#MC), which
 *   surfaces as KVM_RUN -EHWPOISON with KVM_EXIT_MEMORY_FAULT [H].
 */
import { err, ok, type IoctlArg, type SysResult } from '../../lib/kvm/backend.js';
import { E2BIG, EFAULT, EHWPOISON, EINVAL, EIO, EOPNOTSUPP } from '../../lib/kvm/errno.js';
import type {
  GuestAccess, PlatformOpOutcome, PlatformVcpuContext, PlatformVm, PlatformVmContext,
} from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import {
  KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MEMORY_ENCRYPT_OP, KVM_MEMORY_EXIT_FLAG_PRIVATE,
} from '../../lib/kvm/uapi.js';
import { GfnSet, GuestMapping, PAGE, gfnOf, isHostFault, isPageAligned, isPrivateAttr, pageBase, pagesOf, u32 } from '../../lib/platform/common.js';
import type { TdxHardware } from './hardware.js';
import { TdxLaunch, type PopulateRules } from './launch.js';
import {
  KVM_INTERRUPT, KVM_TDX_FINALIZE_VM, KVM_TDX_INIT_MEM_REGION, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_VM,
  KVM_TDX_MEASURE_MEMORY_REGION, KVM_TDX_MODEL_GET_MRTD, KVM_TDX_MODEL_HOST_READ, KVM_TDX_MODEL_HOST_WRITE, SIZEOF_KVM_TDX_CMD, SIZEOF_KVM_TDX_INIT_MEM_REGION,
  SIZEOF_KVM_TDX_INIT_VM, KVM_MAX_CPUID_ENTRIES, TDVMCALL_STATUS_INVALID_OPERAND, TDVMCALL_STATUS_RETRY, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED,
  TDVMCALL_STATUS_SUCCESS, TDX_PAGE_ALREADY_ACCEPTED, TDX_PAGE_SIZE_MISMATCH, TDX_SUCCESS, decodeCpuidEntries,
  decodeInitMemRegion, decodeTdxCmd, encodeInitMemRegion,
} from './uapi.js';

/** What a test may inspect of a TD (through `tdxVmState()`). */
export interface TdxVmState {
  readonly launch: TdxLaunch;
  readonly sharedBit: () => number;
}

const states = new WeakMap<PlatformVmContext, TdxVmState>();
export function tdxVmState(ctx: PlatformVmContext): TdxVmState | undefined {
  return states.get(ctx);
}

interface MapGpaProgress {
  next: bigint;
  end: bigint;
  toPrivate: boolean;
  /** At least one chunk went out: an interrupt is only checked between chunks. */
  started: boolean;
  error?: bigint;
}

/** `hw.gpaw` is the part's GPAW; KVM_TDX_INIT_VM's CPUID can change it per TD. */
export function createTdxModel(hw: TdxHardware): PlatformModel {
  const defaultGpaw: number = hw.gpaw;
  const chunk = BigInt(hw.mapGpaChunkBytes);
  const pendingAccess = hw.pendingAccess;
  const hostReadsZeros = hw.hostRead === 'zeros';
  return {
    hasProtectedState: true,
    preFault: false,
    attach(ctx: PlatformVmContext): PlatformVm {
      // kvm_gmem_populate()'s rules: the part's override, else the release's (7.0 dropped -EEXIST).
      const rules: PopulateRules = hw.populateRules ?? ctx.profile.populateRules;
      const launch = new TdxLaunch();
      let gpaw = defaultGpaw;
      const sharedBit = (): number => gpaw - 1;
      states.set(ctx, { launch, sharedBit });
      const mapping = new GuestMapping();
      // Runs, not per-page sets: a zap of 2^24 pages must cost O(log n + runs).
      const accepted = new GfnSet();
      const poisoned = new GfnSet();
      const irqPending = new Set<number>();
      const progress = new Map<number, MapGpaProgress>();
      const attrPrivate = (gpa: bigint): boolean => isPrivateAttr(ctx.attributes(gpa));
      const strip = (gpa: bigint): bigint => gpa & ~(1n << BigInt(sharedBit()));
      const isAccepted = (gfn: bigint): boolean => accepted.has(gfn) || launch.added.has(gfn);

      /** One step of MapGPA: an exit for the next chunk, or the final status. */
      const mapGpaStep = (vcpu: PlatformVcpuContext): PlatformOpOutcome => {
        const p = progress.get(vcpu.vcpu)!;
        if (p.error !== undefined) {
          progress.delete(vcpu.vcpu);
          vcpu.setReg('r11', p.next);
          return { kind: 'done', status: p.error };
        }
        if (p.next >= p.end) {
          progress.delete(vcpu.vcpu);
          return { kind: 'done', status: TDVMCALL_STATUS_SUCCESS };
        }
        // tdx_complete_vmcall_map_gpa(): between chunks, a pending interrupt
        // ends the call with RETRY and the next GPA in R11.
        if (irqPending.has(vcpu.vcpu) && p.started) {
          irqPending.delete(vcpu.vcpu);
          vcpu.setReg('r11', p.next);
          return { kind: 'done', status: TDVMCALL_STATUS_RETRY };
        }
        p.started = true;
        const size = p.end - p.next < chunk ? p.end - p.next : chunk;
        const at = p.next;
        return {
          kind: 'exit',
          exit: {
            reason: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE),
            args: [at, size / PAGE, p.toPrivate ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED],
            flags: KVM_EXIT_HYPERCALL_LONG_MODE,
          },
          retry: true,
          resume: (run) => {
            if (run.hypercallRet !== 0n) {
              p.error = TDVMCALL_STATUS_INVALID_OPERAND;
              return p.error;
            }
            // The guest switches its own mapping once the VMM agreed.
            mapping.set(at, size, p.toPrivate);
            if (!p.toPrivate) accepted.setRange(at, size, false);
            p.next = at + size;
            return TDVMCALL_STATUS_SUCCESS;
          },
        };
      };

      const startMapGpa = (vcpu: PlatformVcpuContext, rawGpa: bigint, size: bigint): PlatformOpOutcome => {
        if ((vcpu.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE))) === 0n) {
          return { kind: 'done', status: TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED };
        }
        const bit = 1n << BigInt(sharedBit());
        const toPrivate = (rawGpa & bit) === 0n;
        const end = rawGpa + size;
        // tdx_map_gpa(): alignment, overflow, and both ends on the same side of the shared bit.
        if (!isPageAligned(rawGpa) || !isPageAligned(size) || size === 0n || ((end - 1n) & bit) !== (rawGpa & bit)) {
          vcpu.setReg('r11', rawGpa);
          return { kind: 'done', status: TDVMCALL_STATUS_INVALID_OPERAND };
        }
        progress.set(vcpu.vcpu, { next: strip(rawGpa), end: strip(rawGpa) + size, toPrivate, started: false });
        return mapGpaStep(vcpu);
      };

      const accept = (gpa: bigint, size: bigint, level: string): PlatformOpOutcome => {
        // KVM maps private memory at 4K only (tdx_gmem_max_mapping_level()):
        // a 2M accept finds a 4K S-EPT leaf and fails with a size mismatch.
        if (level !== '4K') return { kind: 'done', status: TDX_PAGE_SIZE_MISMATCH };
        let already = false;
        for (const pg of pagesOf(strip(gpa), size)) {
          const gfn = gfnOf(pg);
          if (isAccepted(gfn)) { already = true; continue; }
          // The EPT violation of an ACCEPT on a gfn the VMM keeps shared (a
          // mismatch), or on a private gfn without gmem, is a private fault
          // KVM cannot serve: KVM_EXIT_MEMORY_FAULT(PRIVATE).
          if (!attrPrivate(pg) || !ctx.slotAt(pg)?.hasGmem) {
            return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pg, size: PAGE }, retry: true };
          }
          accepted.add(gfn);
          mapping.set(pg, PAGE, true);
        }
        return { kind: 'done', status: already ? TDX_PAGE_ALREADY_ACCEPTED : TDX_SUCCESS };
      };

      const readCmd = (arg: IoctlArg | undefined) =>
        arg instanceof Uint8Array && arg.length >= SIZEOF_KVM_TDX_CMD ? decodeTdxCmd(arg) : undefined;

      const initMemRegion = (vcpu: PlatformVcpuContext, flags: number, data: bigint): SysResult => {
        if (flags & ~KVM_TDX_MEASURE_MEMORY_REGION) return err(EINVAL);
        if (launch.state !== 'initialized' || !launch.vcpusInit.has(vcpu.vcpu)) return err(EINVAL);
        const rb = ctx.hostRead(data, SIZEOF_KVM_TDX_INIT_MEM_REGION);
        if (isHostFault(rb)) return err(EFAULT);
        const r = decodeInitMemRegion(rb);
        // tdx_vcpu_init_mem_region(): page-aligned source and GPA, non-empty,
        // no wrap, and a private (shared-bit clear) GPA.
        // 7.4 in-place conversion: a NULL source adds the page with what the VMM
        // wrote into the gmem while it was shared ("KVM: TDX: Make source page
        // optional for KVM_TDX_INIT_MEM_REGION": tdx_gmem_post_populate() uses
        // the destination pfn when gmem_in_place_conversion).
        const inPlaceSource = r.sourceAddr === 0n && ctx.profile.perGmemAttributes;
        if (!isPageAligned(r.sourceAddr) || !isPageAligned(r.gpa) || r.nrPages === 0n ||
            r.gpa + r.nrPages * PAGE <= r.gpa || (r.gpa & (1n << BigInt(sharedBit()))) !== 0n) return err(EINVAL);
        let { sourceAddr, gpa, nrPages } = r;
        let e = 0;
        while (nrPages > 0n) {
          // kvm_gmem_populate(): the gfn must already be PRIVATE and gmem-backed.
          const slot = ctx.slotAt(gpa);
          if (!attrPrivate(gpa) || !slot || !slot.hasGmem) { e = EINVAL; break; }
          e = launch.checkAdd(gfnOf(gpa), rules);
          if (e) break;
          const src = inPlaceSource ? ctx.readBacking(gpa, Number(PAGE), 'private') : ctx.hostRead(sourceAddr, Number(PAGE));
          if (src === undefined || isHostFault(src)) { e = EFAULT; break; }
          // TDH.MEM.PAGE.ADD copies the source into the private page.
          if (!ctx.writeBacking(gpa, src, 'private')) { e = EINVAL; break; }
          launch.add(gfnOf(gpa), gpa, src, (flags & KVM_TDX_MEASURE_MEMORY_REGION) !== 0);
          mapping.set(gpa, PAGE, true);
          if (!inPlaceSource) sourceAddr += PAGE;
          gpa += PAGE;
          nrPages -= 1n;
        }
        ctx.hostWrite?.(data, encodeInitMemRegion({ sourceAddr, gpa, nrPages }));
        return e ? err(e) : ok();
      };

      return {
        isPrivateAccess: (a: GuestAccess) => mapping.resolve(a.view, a.gpa, () => attrPrivate(a.gpa)),
        beforeGuestAccess(a, backing) {
          if (backing !== 'private') return undefined;
          const gfn = gfnOf(a.gpa);
          if (poisoned.has(gfn)) {
            // #MC on consumption; memory_failure() poisons the gmem folio and
            // the fault path reports -EHWPOISON.
            return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: PAGE, errno: EHWPOISON } };
          }
          if (!isAccepted(gfn)) {
            return pendingAccess === 'vm-dead'
              ? { kind: 'fatal', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: 0n, errno: EIO } }
              : { kind: 'fatal', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: 0n } };
          }
          return undefined;
        },
        guestOp(vcpu, op): PlatformOpOutcome {
          const n = (k: string, d = 0n): bigint => (op.args[k] === undefined ? d : BigInt(op.args[k] as bigint | number));
          switch (op.call) {
            case 'tdx.map_gpa':
              if (progress.has(vcpu.vcpu)) return mapGpaStep(vcpu);
              return startMapGpa(vcpu, n('gpa'), n('size'));
            case 'tdx.map_gpa_resume': {
              if (progress.has(vcpu.vcpu)) return mapGpaStep(vcpu);
              return { kind: 'done', status: TDVMCALL_STATUS_INVALID_OPERAND };
            }
            case 'tdx.accept':
              return accept(n('gpa'), n('size', PAGE), String(op.args.level ?? '4K'));
            default:
              return { kind: 'done', status: TDVMCALL_STATUS_INVALID_OPERAND };
          }
        },
        vmIoctl(request, arg) {
          if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
          const c = readCmd(arg);
          if (!c) return err(EFAULT);
          switch (c.id) {
            case KVM_TDX_INIT_VM: {
              // tdx_td_init(): the state first, so a second INIT_VM is
              // -EINVAL whatever it carries and leaves the GPAW as it was.
              if (launch.state !== 'created') return err(EINVAL);
              const b = ctx.hostRead(c.data, SIZEOF_KVM_TDX_INIT_VM);
              if (isHostFault(b)) return err(EFAULT);
              const nent = u32(b, 256);
              // tdx_td_init(): get_user(cpuid.nent), then -E2BIG above
              // KVM_MAX_CPUID_ENTRIES, before anything is copied; then the
              // reserved[12] words (bytes 160..255) must be zero.
              if (nent > KVM_MAX_CPUID_ENTRIES) return err(E2BIG);
              if (b.subarray(160, 256).some((x) => x !== 0)) return err(EINVAL);
              const eb = nent ? ctx.hostRead(c.data + BigInt(SIZEOF_KVM_TDX_INIT_VM), nent * 40) : new Uint8Array(0);
              if (isHostFault(eb)) return err(EFAULT);
              // setup_tdparams_eptp_controls(): GPAW from CPUID.0x80000008.EAX[23:16]; only 48 and 52.
              const leaf = decodeCpuidEntries(eb, nent).find((e) => e.fn === 0x80000008);
              if (leaf) {
                const w = (leaf.eax >>> 16) & 0xff || leaf.eax & 0xff;
                if (w !== 48 && w !== 52) return err(EINVAL);
                gpaw = w;
              }
              const e = launch.initVm();
              return e ? err(e) : ok();
            }
            case KVM_TDX_FINALIZE_VM: {
              const e = launch.finalize();
              return e ? err(e) : ok();
            }
            case KVM_TDX_MODEL_GET_MRTD:
              return ctx.hostWrite?.(c.data, launch.mrtd.value) === undefined ? ok() : err(EFAULT);
            case KVM_TDX_MODEL_HOST_READ: {
              // A non-TD read of a TD-private line returns zeros (the TD-owner bit) [H].
              const gb = ctx.hostRead(c.data, 8);
              if (isHostFault(gb)) return err(EFAULT);
              const gpa = pageBase(new DataView(gb.buffer, gb.byteOffset).getBigUint64(0, true));
              const page = attrPrivate(gpa)
                ? (hostReadsZeros ? new Uint8Array(Number(PAGE)) : ctx.readBacking(gpa, Number(PAGE), 'private') ?? new Uint8Array(Number(PAGE)))
                : ctx.readBacking(gpa, Number(PAGE), 'shared') ?? new Uint8Array(Number(PAGE));
              return ctx.hostWrite?.(c.data + 8n, page) === undefined ? ok() : err(EFAULT);
            }
            case KVM_TDX_MODEL_HOST_WRITE: {
              // A host partial write to a private line: silent poison [H].
              const gpa = pageBase(c.data);
              if (!attrPrivate(gpa)) return err(EINVAL);
              poisoned.add(gfnOf(gpa));
              return ok();
            }
            default:
              return err(EINVAL);
          }
        },
        // tdx_vcpu_create(): -EIO unless KVM_TDX_INIT_VM ran and FINALIZE_VM did not.
        vcpuCreate: () => launch.vcpuCreate() || undefined,
        vcpuIoctl(vcpu, request, arg) {
          if (request === KVM_INTERRUPT) {
            irqPending.add(vcpu.vcpu);
            return ok();
          }
          if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
          const c = readCmd(arg);
          if (!c) return err(EFAULT);
          switch (c.id) {
            case KVM_TDX_INIT_VCPU: {
              const e = launch.initVcpu(vcpu.vcpu);
              return e ? err(e) : ok();
            }
            case KVM_TDX_INIT_MEM_REGION:
              return initMemRegion(vcpu, c.flags, c.data);
            default:
              return err(EINVAL);
          }
        },
        beforeRun: () => (launch.state === 'runnable' ? undefined : EINVAL),
        preFaultAllowed: () => launch.state === 'runnable',
        onZap(gpa, size) {
          // The S-EPT leaf is removed (TDH.MEM.PAGE.REMOVE): the page must be
          // AUG'ed and accepted again; the poison is cleared by tdx_clear_page().
          accepted.setRange(gpa, size, false);
          launch.added.setRange(gpa, size, false);
          poisoned.setRange(gpa, size, false);
        },
        onGmemConvert(_gpa, _size, toPrivate, existing) {
          // 7.4: towards shared the private page was removed from the S-EPT,
          // and tdx_sept_remove_private_spte() cleared it (tdx_clear_page()):
          // what the page held as private does not survive into the shared view.
          if (toPrivate) return;
          for (const pg of existing) ctx.writeBacking(pg, new Uint8Array(Number(PAGE)), 'shared');
        },
      };
    },
  };
}
