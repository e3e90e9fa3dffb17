/**
 * A VM (struct kvm): memslots, memory attributes, guest_memfd creation, the
 * enabled hypercall exits, its vCPUs, and the platform bound to its type.
 * Validation follows the kernel's order; each rule names its source.
 */

import { err, ok, type IoctlArg, type SysResult } from '../backend.js';
import { E2BIG, EBADF, EEXIST, EFAULT, EINVAL, EIO, ENOTTY, ENXIO, EOPNOTSUPP } from '../errno.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, KVM_CAP_EXIT_HYPERCALL, KVM_CAP_GUEST_MEMFD, KVM_CAP_GUEST_MEMFD_FLAGS,
  KVM_CAP_DISABLE_QUIRKS, KVM_CAP_DISABLE_QUIRKS2, KVM_SET_NR_MMU_PAGES, KVM_CREATE_IRQCHIP, KVM_GET_TSC_KHZ, KVM_CAP_IRQCHIP,
  KVM_CAP_GET_TSC_KHZ, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_MEMORY_FAULT_INFO, KVM_CAP_MULTI_ADDRESS_SPACE, KVM_CAP_NR_MEMSLOTS,
  KVM_CAP_PRE_FAULT_MEMORY, KVM_CAP_USER_MEMORY2, KVM_CAP_VM_TYPES, KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VCPU, KVM_ENABLE_CAP, KVM_HC_MAP_GPA_RANGE, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2, KVM_USER_MEM_SLOTS, PAGE_SIZE,
} from '../uapi.js';
import { KVM_CAPS_6_18 } from '../caps_uapi.js';
import {
  SIZEOF_KVM_CREATE_GUEST_MEMFD, SIZEOF_KVM_ENABLE_CAP, SIZEOF_KVM_MEMORY_ATTRIBUTES,
  SIZEOF_KVM_USERSPACE_MEMORY_REGION, SIZEOF_KVM_USERSPACE_MEMORY_REGION2,
  decodeCreateGuestMemfd, decodeEnableCap, decodeMemoryAttributes, decodeUserspaceMemoryRegion2,
} from '../structs.js';
import type { FdTable, OpenFile } from './fd_table.js';
import { KVM_MAX_IRQ_ROUTES, KVM_MAX_VCPU_IDS, KVM_MAX_VCPUS, KVM_DIRTY_RING_MAX_BYTES, KVM_X2APIC_API_USE_32BIT_IDS, KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK, KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST, KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST, capAnswer } from './caps.js';
import { Gmem, type GmemVmRef } from './gmem.js';
import type { HostAddressSpace } from './host_as.js';
import { TASK_SIZE } from './host_as.js';
import { Memslots, type Memslot } from './memslots.js';
import type { Backing, HostFaultSpec, ModelPlatform, PlatformRegistry, PlatformVm, PlatformVmContext, SlotInfo } from './platform.js';
import { gmemFlagsFor, type KernelProfile } from './profiles.js';
import { RangeMap } from './range_map.js';
import type { SparsePages } from './sparse_pages.js';

const PAGE = BigInt(PAGE_SIZE);
/* The capabilities KVM_ENABLE_CAP takes on a VM besides the ones uapi.ts names. */
const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = KVM_CAPS_6_18.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2!;
const KVM_CAP_HALT_POLL = KVM_CAPS_6_18.KVM_CAP_HALT_POLL!;
const KVM_CAP_DIRTY_LOG_RING = KVM_CAPS_6_18.KVM_CAP_DIRTY_LOG_RING!;
const KVM_CAP_DIRTY_LOG_RING_ACQ_REL = KVM_CAPS_6_18.KVM_CAP_DIRTY_LOG_RING_ACQ_REL!;
const KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP = KVM_CAPS_6_18.KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP!;
const KVM_CAP_SPLIT_IRQCHIP = KVM_CAPS_6_18.KVM_CAP_SPLIT_IRQCHIP!;
const KVM_CAP_X2APIC_API = KVM_CAPS_6_18.KVM_CAP_X2APIC_API!;
const KVM_CAP_X86_DISABLE_EXITS = KVM_CAPS_6_18.KVM_CAP_X86_DISABLE_EXITS!;
const KVM_CAP_MSR_PLATFORM_INFO = KVM_CAPS_6_18.KVM_CAP_MSR_PLATFORM_INFO!;
const KVM_CAP_EXCEPTION_PAYLOAD = KVM_CAPS_6_18.KVM_CAP_EXCEPTION_PAYLOAD!;
const KVM_CAP_X86_TRIPLE_FAULT_EVENT = KVM_CAPS_6_18.KVM_CAP_X86_TRIPLE_FAULT_EVENT!;
const KVM_CAP_X86_USER_SPACE_MSR = KVM_CAPS_6_18.KVM_CAP_X86_USER_SPACE_MSR!;
const KVM_CAP_X86_BUS_LOCK_EXIT = KVM_CAPS_6_18.KVM_CAP_X86_BUS_LOCK_EXIT!;
const KVM_CAP_EXIT_ON_EMULATION_FAILURE = KVM_CAPS_6_18.KVM_CAP_EXIT_ON_EMULATION_FAILURE!;
const KVM_CAP_PMU_CAPABILITY = KVM_CAPS_6_18.KVM_CAP_PMU_CAPABILITY!;
const KVM_CAP_MAX_VCPU_ID = KVM_CAPS_6_18.KVM_CAP_MAX_VCPU_ID!;
const KVM_CAP_VM_DISABLE_NX_HUGE_PAGES = KVM_CAPS_6_18.KVM_CAP_VM_DISABLE_NX_HUGE_PAGES!;
const KVM_CAP_X86_APIC_BUS_CYCLES_NS = KVM_CAPS_6_18.KVM_CAP_X86_APIC_BUS_CYCLES_NS!;
const KVM_CAP_SGX_ATTRIBUTE = KVM_CAPS_6_18.KVM_CAP_SGX_ATTRIBUTE!;
/** The model host's TSC rate (kHz), as KVM_GET_TSC_KHZ reports it; a 2.3 GHz part like the measured hosts. */
export const MODEL_TSC_KHZ = 2_300_000;
const U64 = (1n << 64n) - 1n;
/** KVM_HC_MAP_GPA_RANGE is the only hypercall that can exit (KVM_EXIT_HYPERCALL_VALID_MASK). */
export const KVM_EXIT_HYPERCALL_VALID_MASK = 1n << BigInt(KVM_HC_MAP_GPA_RANGE);
/** KVM_MEM_MAX_NR_PAGES on x86 ((1UL << 31) - 1). */
const KVM_MEM_MAX_NR_PAGES = (1n << 31n) - 1n;
/** KVM_MAX_NR_ADDRESS_SPACES on x86 with CONFIG_KVM_SMM: the normal and the SMM address space. */
const KVM_MAX_NR_ADDRESS_SPACES = 2;
export { KVM_MAX_VCPU_IDS, KVM_MAX_VCPUS } from './caps.js';

/** What a VM needs from the process it lives in. */
export interface VmHost {
  readonly fds: FdTable;
  readonly host: HostAddressSpace;
  readonly profile: KernelProfile;
  readonly platforms: PlatformRegistry;
  /** Guest physical address bits (kvm_mmu_max_gfn()). */
  readonly maxPhysBits: number;
  /** Create a vCPU's open file (vcpu.ts), returning it. */
  createVcpu(vm: Vm, id: number): OpenFile;
  /**
   * Record an exception a platform hook threw. The uAPI answer stays the
   * kernel-shaped one the caller picks; the record keeps the bug visible.
   */
  noteInternalError(what: string, e: unknown): void;
}

/** An ioctl's struct argument, or undefined when the pointer is bad (EFAULT). */
export function structArg(arg: IoctlArg | undefined, size: number): Uint8Array | undefined {
  return arg instanceof Uint8Array && arg.byteLength >= size ? arg : undefined;
}

/**
 * KVM_CHECK_EXTENSION's argument: kvm_vm_ioctl_check_extension_generic() and
 * the arch hook take it as a `long` and switch on all 64 bits, so a value
 * with high bits set names no capability (-1 here, which answers 0).
 */
export function capArg(arg: IoctlArg | undefined): number {
  const c = BigInt.asIntN(64, intArg(arg));
  return c >= 0n && c <= 0x7fffffffn ? Number(c) : -1;
}

/** An _IO ioctl's integer argument as an unsigned long. */
export function intArg(arg: IoctlArg | undefined): bigint {
  if (arg === undefined) return 0n;
  if (arg instanceof Uint8Array) return 0x7f0000001000n; // a pointer value: never a valid small integer
  try {
    return BigInt.asUintN(64, BigInt(arg));
  } catch {
    return U64;
  }
}

export class Vm implements OpenFile, GmemVmRef {
  readonly kind = 'vm' as const;
  readonly pvm: PlatformVm;
  readonly slots = new Memslots();
  readonly attrs = new RangeMap();
  readonly ctx: PlatformVmContext;
  exitHypercallMask = 0n;
  /** kvm->arch.disabled_quirks. */
  disabledQuirks = 0n;
  /** An in-kernel irqchip (KVM_CREATE_IRQCHIP). */
  irqchip = false;
  /** KVM_CAP_SPLIT_IRQCHIP enabled: the LAPIC in the kernel, the IOAPIC in userspace (irqchip_split()). */
  irqchipSplit = false;
  /** kvm->arch.max_vcpu_ids: 0 until KVM_CAP_MAX_VCPU_ID or the first vCPU fixes it (kvm_arch_vcpu_precreate()). */
  maxVcpuIds = 0;
  /** kvm->dirty_ring_size (KVM_CAP_DIRTY_LOG_RING / _ACQ_REL), 0 without a ring. */
  dirtyRingSize = 0;
  /** x2APIC API flags enabled (kvm->arch.x2apic_format etc., as one mask). */
  x2apicApi = 0;
  private refs = 0;
  destroyed = false;
  readonly vcpuIds = new Set<number>();
  readonly vcpus: OpenFile[] = [];

  constructor(readonly sys: VmHost, readonly type: number, readonly platform: ModelPlatform) {
    this.get();
    const vm = this;
    this.ctx = {
      vmType: type,
      profile: sys.profile,
      attributes: (gpa) => vm.attributesAt(Number(BigInt.asUintN(64, gpa) / PAGE)),
      setAttributes: (gpa, size, attributes) => vm.applyAttributes(Number(gpa / PAGE), Number((gpa + size) / PAGE), attributes),
      slotAt: (gpa) => {
        const s = vm.slots.find(0, Number(BigInt.asUintN(64, gpa) / PAGE));
        return s ? vm.slotInfo(s) : undefined;
      },
      readBacking: (gpa, len, backing) => {
        const r = vm.backingPage(Number(gpa / PAGE), backing, false);
        if (!r || 'signal' in r) return undefined;
        const inPage = Number(gpa % PAGE);
        return r.store.peek(r.index).slice(inPage, inPage + len);
      },
      writeBacking: (gpa, data, backing) => {
        const r = vm.backingPage(Number(gpa / PAGE), backing, true);
        if (!r || 'signal' in r) return false;
        r.store.touch(r.index).set(data, Number(gpa % PAGE));
        return true;
      },
      hostRead: (hva, len) => {
        const out = new Uint8Array(len);
        const f = sys.host.forEach(hva, len, false, (st, idx, inPage, chunk, done) => out.set(st.peek(idx).subarray(inPage, inPage + chunk), done));
        return f ?? out;
      },
      hostWrite: (hva, data) => {
        const f = sys.host.forEach(hva, data.length, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(data.subarray(done, done + chunk), inPage));
        return f;
      },
      get exitHypercallMask() { return vm.exitHypercallMask; },
      get nrVcpus() { return vm.vcpus.length; },
    };
    this.pvm = platform.attach(this.ctx);
  }

  get hasPrivateMem(): boolean {
    return this.platform.hasPrivateMem;
  }

  /** kvm_arch_has_readonly_mem(): not for VMs with protected state (SEV-ES, SNP, TDX). */
  get hasProtectedState(): boolean {
    return this.platform.hasProtectedState ?? false;
  }

  get(): void {
    this.refs++;
  }

  /** kvm_put_kvm(): the last reference destroys the VM and its memslots. */
  put(): void {
    if (--this.refs > 0) return;
    this.destroyed = true;
    for (const s of this.slots.all()) s.gmem?.unbind(s);
    this.slots.clear();
    this.attrs.clear();
    // A plugin's teardown error must not escape close().
    try { this.pvm.onDestroy?.(); } catch (e) { this.sys.noteInternalError('onDestroy', e); }
  }

  release(): void {
    this.put();
  }

  /** kvm_gmem_punch_hole() → kvm_gmem_invalidate_begin(): zap the GFNs of every bound slot in range. */
  gmemPunched(g: Gmem, first: number, end: number): void {
    if (this.destroyed || !this.pvm.onZap) return;
    for (const b of g.bindings) {
      const s = b.owner as Memslot;
      const a = Math.max(first, b.start);
      const e = Math.min(end, b.end);
      if (a >= e) continue;
      const gfn = s.baseGfn + a - s.gmemPgoff;
      this.zap(BigInt(gfn) * PAGE, BigInt(e - a) * PAGE, 'punch');
    }
  }

  private zap(gpa: bigint, size: bigint, reason: 'punch' | 'attributes'): void {
    try { this.pvm.onZap?.(gpa, size, reason); } catch (e) { this.sys.noteInternalError('onZap', e); }
  }

  gmemReleased(g: Gmem): void {
    for (const s of this.slots.all()) if (s.gmem === g) s.gmem = null;
  }

  slotInfo(s: Memslot): SlotInfo {
    return {
      slot: s.asId * 0x10000 + s.id, gpa: BigInt(s.baseGfn) * PAGE, size: BigInt(s.npages) * PAGE,
      flags: s.flags, userspaceAddr: s.userspaceAddr, hasGmem: s.hasGmemFlag, gmemOnly: s.gmemOnly,
    };
  }

  /**
   * kvm_supported_vm_mem_attributes(): PRIVATE only for VMs with private
   * memory, and nothing at all when PRIVATE lives in guest_memfd (7.4,
   * gmem_in_place_conversion: "KVM: guest_memfd: Wire up core
   * private/shared attribute interfaces").
   */
  get supportedAttributes(): bigint {
    if (this.sys.profile.perGmemAttributes) return 0n;
    return this.hasPrivateMem ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n;
  }

  /**
   * kvm_mem_is_private()'s source of truth for a GFN. Per-VM mode: the VM's
   * xarray (kvm_get_vm_memory_attributes()). Per-guest_memfd mode (7.4):
   * kvm_gmem_is_private(), the attribute tree of the gmem bound to the GFN's
   * slot; a GFN with no slot, or a slot without a live gmem, is shared, so
   * deleting a slot makes its GFNs shared.
   */
  attributesAt(gfn: number): bigint {
    if (this.sys.profile.perGmemAttributes) {
      const s = this.slots.find(0, gfn);
      if (!s || !s.gmem) return 0n;
      return s.gmem.attrs.get(s.gmemPgoff + gfn - s.baseGfn);
    }
    return this.attrs.get(gfn);
  }

  isPrivateGfn(gfn: number): boolean {
    return this.hasPrivateMem && (this.attributesAt(gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;
  }

  /** KVM_SET_MEMORY_ATTRIBUTES after validation: replace the per-VM attributes of GFNs [start, end). */
  applyAttributes(start: number, end: number, value: bigint): void {
    // kvm_vm_set_mem_attributes() (virt/kvm/kvm_main.c): nothing to do, and
    // nothing unmapped, when the whole range has the attributes already.
    if (this.attrs.uniform(start, end, value)) return;
    this.attrs.set(start, end, value);
    // kvm_vm_set_mem_attributes() unmaps the changed GFNs.
    this.zap(BigInt(start) * PAGE, BigInt(end - start) * PAGE, 'attributes');
  }

  /**
   * KVM_SET_MEMORY_ATTRIBUTES2 changed gmem pages [first, end)
   * (__kvm_gmem_set_attributes()): kvm_gmem_invalidate_start() zaps every
   * bound slot's GFNs, and the platform's invalidate hook sees the GPAs of
   * the pages that exist (kvm_gmem_invalidate() walks folios, not indexes).
   */
  gmemConverted(g: Gmem, first: number, end: number, toPrivate: boolean): void {
    if (this.destroyed) return;
    for (const b of g.bindings) {
      const s = b.owner as Memslot;
      const a = Math.max(first, b.start);
      const e = Math.min(end, b.end);
      if (a >= e) continue;
      const gpa = BigInt(s.baseGfn + a - s.gmemPgoff) * PAGE;
      const size = BigInt(e - a) * PAGE;
      this.zap(gpa, size, 'attributes');
      if (!this.pvm.onGmemConvert) continue;
      const existing = g.pages.indexesIn(a, e).map((i) => BigInt(s.baseGfn + i - s.gmemPgoff) * PAGE);
      try { this.pvm.onGmemConvert(gpa, size, toPrivate, existing); } catch (x) { this.sys.noteInternalError('onGmemConvert', x); }
    }
  }

  /**
   * The page backing a GFN. 'private' is the slot's guest_memfd page;
   * 'shared' is the gmem page for a KVM_MEMSLOT_GMEM_ONLY slot, otherwise the
   * userspace_addr page in the host address space.
   */
  backingPage(gfn: number, backing: Backing, write: boolean): { store: SparsePages; index: number } | HostFaultSpec | undefined {
    const s = this.slots.find(0, gfn);
    if (!s) return undefined;
    if (backing === 'private' || s.gmemOnly) {
      if (!s.gmem) return undefined;
      return { store: s.gmem.pages, index: s.gmemPgoff + gfn - s.baseGfn };
    }
    const r = this.sys.host.resolve(s.userspaceAddr + BigInt(gfn - s.baseGfn) * PAGE, write);
    return r;
  }

  ioctl(request: number, arg: IoctlArg | undefined): SysResult {
    // kvm_vm_ioctl(): a dead VM answers EIO to everything.
    if (this.destroyed) return err(EIO);
    switch (request) {
      case KVM_CHECK_EXTENSION: return ok(this.checkExtension(capArg(arg)));
      case KVM_CREATE_VCPU: return this.createVcpu(intArg(arg));
      case KVM_ENABLE_CAP: return this.enableCap(arg);
      case KVM_CREATE_GUEST_MEMFD: return this.createGuestMemfd(arg);
      case KVM_SET_USER_MEMORY_REGION: return this.setUserMemoryRegion(arg, false);
      case KVM_SET_USER_MEMORY_REGION2: return this.setUserMemoryRegion(arg, true);
      case KVM_SET_MEMORY_ATTRIBUTES: return this.setMemoryAttributes(arg);
      // kvm_vm_ioctl_set_nr_mmu_pages(): below KVM_MIN_ALLOC_MMU_PAGES (64) is EINVAL.
      case KVM_SET_NR_MMU_PAGES: return intArg(arg) < 64n ? err(EINVAL) : ok();
      // kvm_arch_vm_ioctl(): one irqchip per VM (EEXIST), and only before any vCPU (EINVAL).
      case KVM_CREATE_IRQCHIP:
        if (this.irqchip) return err(EEXIST);
        if (this.vcpus.length > 0) return err(EINVAL);
        this.irqchip = true;
        return ok();
      // kvm->arch.default_tsc_khz: the host's TSC rate unless KVM_SET_TSC_KHZ changed it.
      case KVM_GET_TSC_KHZ: return ok(MODEL_TSC_KHZ);
      default: {
        const own = this.pvm.vmIoctl?.(request, arg);
        if (own) return own;
        for (const p of this.sys.platforms.all()) {
          if (p === this.platform || !p.foreignVmIoctl) continue;
          const r = p.foreignVmIoctl(this.ctx, request, arg);
          if (r) return r;
        }
        // kvm_arch_vm_ioctl(): unknown requests are ENOTTY.
        return err(ENOTTY);
      }
    }
  }

  /** kvm_vm_ioctl_check_extension_generic() + kvm_vm_ioctl_check_extension() at VM scope. */
  checkExtension(cap: number): number {
    const own = this.pvm.checkExtension?.(cap);
    if (own !== undefined) return own;
    return capValue(cap, this.sys, this);
  }

  /**
   * kvm_vm_ioctl_create_vcpu() (virt/kvm/kvm_main.c): an id at or past
   * KVM_MAX_VCPU_IDS, or created_vcpus already at max_vcpus (KVM_MAX_VCPUS),
   * is EINVAL; then kvm_arch_vcpu_precreate() (arch/x86/kvm/x86.c) fixes
   * kvm->arch.max_vcpu_ids on first use and refuses an id at or past it
   * (EINVAL), then the vendor's precreate (the platform), then the id must
   * be unused (EEXIST).
   */
  private createVcpu(id: bigint): SysResult {
    if (id >= BigInt(KVM_MAX_VCPU_IDS)) return err(EINVAL);
    if (this.vcpus.length >= KVM_MAX_VCPUS) return err(EINVAL);
    if (!this.maxVcpuIds) this.maxVcpuIds = KVM_MAX_VCPU_IDS;
    if (id >= BigInt(this.maxVcpuIds)) return err(EINVAL);
    const n = Number(id);
    const refused = this.pvm.vcpuCreate?.(n);
    if (refused) return err(refused);
    if (this.vcpuIds.has(n)) return err(EEXIST);
    this.vcpuIds.add(n);
    const f = this.sys.createVcpu(this, n);
    this.vcpus.push(f);
    this.get();
    try { this.pvm.onVcpuCreate?.(n); } catch (e) { this.sys.noteInternalError('onVcpuCreate', e); }
    return ok(this.sys.fds.install(f));
  }

  /**
   * KVM_ENABLE_CAP on a VM: kvm_vm_ioctl_enable_cap_generic()
   * (virt/kvm/kvm_main.c) first, whose cases check flags themselves (the
   * dirty ring not at all), then arch/x86/kvm/x86.c kvm_vm_ioctl_enable_cap(),
   * which refuses any flags and any capability it does not list (EINVAL).
   * Every capability a host accepts at VM scope is here; the ones whose
   * argument is another VM's fd or an SGX provisioning fd have no such fd in
   * the model and fail as a bad fd does (EINVAL / EBADF).
   */
  private enableCap(arg: IoctlArg | undefined): SysResult {
    const b = structArg(arg, SIZEOF_KVM_ENABLE_CAP);
    if (!b) return err(EFAULT);
    const c = decodeEnableCap(b);
    const a0 = c.args[0]!;
    const created = this.vcpus.length > 0;
    switch (c.cap) {
      case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: {
        // MANUAL_PROTECT_ENABLE alone, or with INITIALLY_SET (KVM_DIRTY_LOG_MANUAL_CAPS).
        const allowed = a0 & 1n ? 3n : 1n;
        return c.flags || a0 & ~allowed ? err(EINVAL) : ok();
      }
      case KVM_CAP_HALT_POLL:
        // max_halt_poll_ns is an unsigned int.
        return c.flags || a0 > 0xffffffffn ? err(EINVAL) : ok();
      case KVM_CAP_DIRTY_LOG_RING:
      case KVM_CAP_DIRTY_LOG_RING_ACQ_REL: {
        // kvm_vm_ioctl_enable_dirty_log_ring() (as a u32): a power of two of
        // at least a page, at most the largest ring (E2BIG), once, before any vCPU.
        const size = Number(a0 & 0xffffffffn);
        if (!size || size & (size - 1) || size < PAGE_SIZE) return err(EINVAL);
        if (size > KVM_DIRTY_RING_MAX_BYTES) return err(E2BIG);
        if (this.dirtyRingSize || created) return err(EINVAL);
        this.dirtyRingSize = size;
        return ok();
      }
      case KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP:
        // Only with CONFIG_NEED_KVM_DIRTY_RING_WITH_BITMAP (arm64), never on x86.
        return err(EINVAL);
      default:
        break;
    }
    if (c.flags) return err(EINVAL);
    switch (c.cap) {
      case KVM_CAP_EXIT_HYPERCALL:
        if (a0 & ~KVM_EXIT_HYPERCALL_VALID_MASK) return err(EINVAL);
        this.exitHypercallMask = a0;
        return ok();
      case KVM_CAP_DISABLE_QUIRKS2:
        // Unknown quirk bits are refused; the legacy KVM_CAP_DISABLE_QUIRKS silently masks them.
        if (a0 & ~BigInt(this.sys.profile.supportedQuirks)) return err(EINVAL);
        this.disabledQuirks |= a0 & BigInt(this.sys.profile.supportedQuirks);
        return ok();
      case KVM_CAP_DISABLE_QUIRKS:
        this.disabledQuirks |= a0 & BigInt(this.sys.profile.supportedQuirks);
        return ok();
      case KVM_CAP_SPLIT_IRQCHIP:
        // At most MAX_NR_RESERVED_IOAPIC_PINS reserved pins; EEXIST with an irqchip or a vCPU.
        if (a0 > BigInt(KVM_MAX_IRQ_ROUTES)) return err(EINVAL);
        if (this.irqchip || this.irqchipSplit || created) return err(EEXIST);
        this.irqchipSplit = true;
        return ok();
      case KVM_CAP_X2APIC_API: {
        const valid = capValue(KVM_CAP_X2APIC_API, this.sys);
        if (a0 & ~BigInt(valid)) return err(EINVAL);
        // 6.18.y: the suppress-EOI-broadcast modes exclude each other, and ENABLE needs a split irqchip.
        const en = (a0 & BigInt(KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST)) !== 0n;
        if (en && a0 & BigInt(KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST)) return err(EINVAL);
        if (en && !this.irqchipSplit) return err(EINVAL);
        this.x2apicApi |= Number(a0) & (KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK | KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST | KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST);
        return ok();
      }
      case KVM_CAP_X86_DISABLE_EXITS:
        // 6.12: any of KVM_X86_DISABLE_VALID_EXITS (MWAIT silently ignored where
        // the host cannot); later releases refuse what the host does not allow
        // (kvm_get_allowed_disable_exits(), the KVM_CHECK_EXTENSION answer).
        if (a0 & ~BigInt(!this.sys.profile.disableExitsAllowedOnly ? 0xf : capValue(KVM_CAP_X86_DISABLE_EXITS, this.sys))) return err(EINVAL);
        return ok();
      case KVM_CAP_MSR_PLATFORM_INFO:
      case KVM_CAP_EXCEPTION_PAYLOAD:
      case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
        // Booleans taken as given.
        return ok();
      case KVM_CAP_X86_USER_SPACE_MSR:
        // KVM_MSR_EXIT_REASON_VALID_MASK: INVAL | UNKNOWN | FILTER.
        return a0 & ~7n ? err(EINVAL) : ok();
      case KVM_CAP_X86_BUS_LOCK_EXIT:
        // OFF or EXIT (KVM_BUS_LOCK_DETECTION_VALID_MODE), not both; EXIT is ignored without host support.
        return a0 & ~3n || a0 === 3n ? err(EINVAL) : ok();
      case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
        return a0 & ~1n ? err(EINVAL) : ok();
      case KVM_CAP_PMU_CAPABILITY:
        // KVM_CAP_PMU_VALID_MASK (KVM_PMU_CAP_DISABLE), before any vCPU.
        return a0 & ~1n || created ? err(EINVAL) : ok();
      case KVM_CAP_MAX_VCPU_ID:
        // At most KVM_MAX_VCPU_IDS; settable once (the same value again is fine),
        // and the first vCPU fixes it at KVM_MAX_VCPU_IDS. bsp_vcpu_id is 0 here.
        if (a0 > BigInt(KVM_MAX_VCPU_IDS)) return err(EINVAL);
        if (BigInt(this.maxVcpuIds) === a0) return ok();
        if (this.maxVcpuIds) return err(EINVAL);
        this.maxVcpuIds = Number(a0);
        return ok();
      case KVM_CAP_VM_DISABLE_NX_HUGE_PAGES:
        // capable(CAP_SYS_BOOT) holds for the model's process; the argument must be 0, before any vCPU.
        return a0 || created ? err(EINVAL) : ok();
      case KVM_CAP_X86_APIC_BUS_CYCLES_NS:
        // Non-zero, no overflow of U32_MAX * 128 * ns in tmict_to_ns(); ENXIO without an in-kernel LAPIC.
        if (!a0 || a0 > ((1n << 64n) - 1n) / (0xffffffffn * 128n)) return err(EINVAL);
        if (!this.irqchip && !this.irqchipSplit) return err(ENXIO);
        return created ? err(EINVAL) : ok();
      case KVM_CAP_SGX_ATTRIBUTE:
        // sgx_set_attribute(): args[0] must be an fd of /dev/sgx_provision; the model has none.
        return err(EINVAL);
      default:
        // KVM_CAP_X86_NOTIFY_VMEXIT (no host support on this CPU), the
        // encryption-context moves (another SEV VM's fd), KVM_CAP_MEMORY_FAULT_INFO
        // and every capability that is not enabled per VM: EINVAL.
        return err(EINVAL);
    }
  }

  /** The gmem flags this VM accepts (kvm_gmem_get_supported_flags()). */
  get gmemFlags(): bigint {
    const p = this.platform.gmemFlags?.(this.sys.profile);
    if (p !== undefined) return p;
    return gmemFlagsFor(this.sys.profile, this.hasPrivateMem);
  }

  /** kvm_gmem_create(): unsupported flags, then size <= 0 or unaligned; reserved is not checked. */
  private createGuestMemfd(arg: IoctlArg | undefined): SysResult {
    const b = structArg(arg, SIZEOF_KVM_CREATE_GUEST_MEMFD);
    if (!b) return err(EFAULT);
    const a = decodeCreateGuestMemfd(b);
    if (a.flags & ~this.gmemFlags) return err(EINVAL);
    const size = BigInt.asIntN(64, a.size);
    if (size <= 0n || size % PAGE !== 0n) return err(EINVAL);
    const initShared = (a.flags & GUEST_MEMFD_FLAG_INIT_SHARED) !== 0n;
    const g = new Gmem(this, size, a.flags, !initShared, this.sys.profile.gmemMempolicy);
    return ok(this.sys.fds.install(g));
  }

  /**
   * KVM_SET_USER_MEMORY_REGION(2): kvm_vm_ioctl() (v1 flag sanity),
   * kvm_vm_ioctl_set_memory_region() (user slot id), then
   * kvm_set_memory_region() in order, and kvm_gmem_bind().
   */
  private setUserMemoryRegion(arg: IoctlArg | undefined, v2: boolean): SysResult {
    const b = structArg(arg, v2 ? SIZEOF_KVM_USERSPACE_MEMORY_REGION2 : SIZEOF_KVM_USERSPACE_MEMORY_REGION);
    if (!b) return err(EFAULT);
    const m = decodeUserspaceMemoryRegion2(v2 ? b.subarray(0, SIZEOF_KVM_USERSPACE_MEMORY_REGION2) : b.subarray(0, SIZEOF_KVM_USERSPACE_MEMORY_REGION));
    // kvm_vm_ioctl(): the v1 ioctl knows only LOG_DIRTY_PAGES and READONLY.
    if (!v2 && (m.flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))) return err(EINVAL);
    // kvm_vm_ioctl_set_memory_region(): (u16)slot must be a user slot.
    const id = m.slot & 0xffff;
    const asId = m.slot >>> 16;
    if (id >= KVM_USER_MEM_SLOTS) return err(EINVAL);
    // check_memory_region_flags().
    let valid = KVM_MEM_LOG_DIRTY_PAGES;
    if (this.sys.profile.memslotGmemFlag === 'always' || this.hasPrivateMem) valid |= KVM_MEM_GUEST_MEMFD;
    const wantsGmem = (m.flags & KVM_MEM_GUEST_MEMFD) !== 0;
    // Dirty logging of private memory is not supported.
    if (wantsGmem) valid &= ~KVM_MEM_LOG_DIRTY_PAGES;
    // READONLY: x86 has it except for protected-state VMs, and never with GUEST_MEMFD.
    if (!this.hasProtectedState && !wantsGmem) valid |= KVM_MEM_READONLY;
    if (m.flags & ~valid) return err(EINVAL);
    // General sanity checks: alignment, access_ok() of the user range.
    if (m.memorySize % PAGE !== 0n) return err(EINVAL);
    if (m.guestPhysAddr % PAGE !== 0n) return err(EINVAL);
    if (m.userspaceAddr % PAGE !== 0n || m.userspaceAddr + m.memorySize > TASK_SIZE) return err(EINVAL);
    if (wantsGmem && (m.guestMemfdOffset % PAGE !== 0n || m.guestMemfdOffset + m.memorySize > U64)) return err(EINVAL);
    // Then, as __kvm_set_memory_region() orders them: the address space id, a GPA range that wraps, the slot size limit.
    if (asId >= this.nrAddressSpaces) return err(EINVAL);
    if (m.guestPhysAddr + m.memorySize > U64) return err(EINVAL);
    if (m.memorySize / PAGE > KVM_MEM_MAX_NR_PAGES) return err(EINVAL);
    const old = this.slots.get(asId, id);
    if (m.memorySize === 0n) {
      if (!old) return err(EINVAL);
      this.deleteSlot(old);
      return ok();
    }
    const baseGfn = Number(m.guestPhysAddr / PAGE);
    const npages = Number(m.memorySize / PAGE);
    let change: 'create' | 'move' | 'flags';
    if (!old) {
      change = 'create';
    } else {
      // Private memslots are immutable: they can only be deleted.
      if (wantsGmem) return err(EINVAL);
      if (m.userspaceAddr !== old.userspaceAddr || npages !== old.npages ||
        ((m.flags ^ old.flags) & (KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD))) return err(EINVAL);
      if (baseGfn !== old.baseGfn) change = 'move';
      else if (m.flags !== old.flags) change = 'flags';
      else return ok();
    }
    if (change !== 'flags' && this.slots.overlaps(asId, id, baseGfn, baseGfn + npages)) return err(EEXIST);
    // kvm_arch_prepare_memory_region() (x86): the slot must end below kvm_mmu_max_gfn().
    // kvm_set_memory_region() binds the guest_memfd first, so a bind error wins over this one.
    const pastMaxGfn = change !== 'flags' && BigInt(baseGfn + npages - 1) > (1n << BigInt(this.sys.maxPhysBits - 12)) - 1n;
    if (pastMaxGfn && !wantsGmem) return err(EINVAL);
    if (change === 'move') {
      this.slots.move(old!, baseGfn);
      return ok();
    }
    if (change === 'flags') {
      old!.flags = m.flags;
      return ok();
    }
    let gmem: Gmem | null = null;
    let pgoff = 0;
    if (wantsGmem) {
      // kvm_gmem_bind(): EBADF for no file, EINVAL for anything else wrong.
      const f = this.sys.fds.get(m.guestMemfd | 0);
      if (!f) return err(EBADF);
      if (!(f instanceof Gmem) || f.vm !== this) return err(EINVAL);
      const off = BigInt.asIntN(64, m.guestMemfdOffset);
      if (off < 0n || off % PAGE !== 0n || off + m.memorySize > f.size) return err(EINVAL);
      pgoff = Number(off / PAGE);
      if (f.rangeBound(pgoff, pgoff + npages)) return err(EINVAL);
      gmem = f;
      // kvm_set_memslot() fails after the bind, which is undone (out_unbind).
      if (pastMaxGfn) return err(EINVAL);
    }
    const slot: Memslot = {
      asId, id, flags: m.flags, baseGfn, npages, userspaceAddr: m.userspaceAddr, gmem,
      hasGmemFlag: wantsGmem, gmemPgoff: pgoff, gmemOnly: this.gmemOnlySlot(gmem),
    };
    gmem?.bind({ start: pgoff, end: pgoff + npages, owner: slot });
    this.slots.insert(slot);
    return ok();
  }

  /**
   * KVM_MEMSLOT_GMEM_ONLY: 6.18 serves every fault of a slot bound to an
   * mmap-able gmem from the gmem; with per-gmem attributes (7.4) every gmem
   * slot does ("KVM: guest_memfd: Always fault from guest_memfd if in-place
   * conversion is enabled"), as shared and private pages are one page.
   */
  private gmemOnlySlot(gmem: Gmem | null): boolean {
    if (!gmem) return false;
    if (this.sys.profile.perGmemAttributes) return true;
    return this.sys.profile.gmemOnlySlots && gmem.mmapable;
  }

  deleteSlot(s: Memslot): void {
    // kvm_gmem_unbind() on delete: the gmem range can be bound again.
    s.gmem?.unbind(s);
    this.slots.remove(s);
  }

  /** kvm_vm_ioctl_set_mem_attributes() (virt/kvm/kvm_main.c). */
  private setMemoryAttributes(arg: IoctlArg | undefined): SysResult {
    const b = structArg(arg, SIZEOF_KVM_MEMORY_ATTRIBUTES);
    if (!b) return err(EFAULT);
    const a = decodeMemoryAttributes(b);
    if (a.flags) return err(EINVAL);
    if (a.attributes & ~this.supportedAttributes) return err(EINVAL);
    if (a.size === 0n || a.address + a.size > U64) return err(EINVAL);
    if (a.address % PAGE !== 0n || a.size % PAGE !== 0n) return err(EINVAL);
    this.applyAttributes(Number(a.address / PAGE), Number((a.address + a.size) / PAGE), a.attributes);
    return ok();
  }

  /**
   * kvm_arch_nr_memslot_as_ids() (arch/x86/include/asm/kvm_host.h, CONFIG_KVM_SMM):
   * SMM's second address space, except for VMs with private memory, where SMM
   * is unsupported (SW_PROTECTED, SNP, TDX get one).
   */
  get nrAddressSpaces(): number {
    return this.hasPrivateMem ? 1 : KVM_MAX_NR_ADDRESS_SPACES;
  }

  /** Whether KVM_PRE_FAULT_MEMORY is allowed (kvm->arch.pre_fault_allowed). */
  get preFaultAllowed(): boolean {
    return this.pvm.preFaultAllowed?.() ?? this.platform.preFault;
  }
}

/**
 * KVM_CHECK_EXTENSION answers shared by /dev/kvm (vm undefined) and VM fds:
 * the audited table of caps.ts (kvm_vm_ioctl_check_extension_generic(),
 * arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension()).
 */
export function capValue(cap: number, sys: Pick<VmHost, 'profile' | 'platforms'>, vm?: Vm): number {
  return capAnswer(cap, { profile: sys.profile, vmTypesMask: sys.platforms.vmTypesMask(), vm });
}
