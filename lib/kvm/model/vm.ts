/**
 * A VM (struct kvm): its memslots, memory attributes, enabled hypercall
 * exits, vCPUs and the platform bound to its type, with the reference count
 * its files share (kvm_get_kvm()/kvm_put_kvm(), virt/kvm/kvm_main.c). The
 * ioctls live in vm/ (vm_fops.ts dispatches them), each with its rules in
 * the kernel's order.
 */

import type { HostMapping } from '../backend.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PAGE_SIZE } from '../uapi.js';
import type { FdTable, OpenFile } from './fd_table.js';
import type { Gmem, GmemVmRef } from './gmem.js';
import type { HostAddressSpace } from './host_as.js';
import { Memslots, type Memslot } from './memslots.js';
import type { Backing, HostFaultSpec, ModelPlatform, PlatformRegistry, PlatformVm, PlatformVmContext, SlotInfo } from './platform.js';
import { gmemFlagsFor, type KernelProfile } from './profiles.js';
import { RangeMap } from './range_map.js';
import type { SparsePages } from './sparse_pages.js';
import { ANON_INODE_INO, ANON_INODE_MODE, type FileOperations, type Kstat } from './vfs/file.js';
import { vmPlatformContext } from './vm/platform_ctx.js';
import { kvmVmFops } from './vm/vm_fops.js';

const PAGE = BigInt(PAGE_SIZE);
/** The model host's TSC rate (kHz), as KVM_GET_TSC_KHZ reports it; a 2.3 GHz part like the measured hosts. */
export const MODEL_TSC_KHZ = 2_300_000;
/** KVM_MAX_NR_ADDRESS_SPACES on x86 with CONFIG_KVM_SMM: the normal and the SMM address space. */
const KVM_MAX_NR_ADDRESS_SPACES = 2;

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
  /** kvm_destroy_vm(): the VM leaves the process's list of VMs. */
  vmDestroyed(vm: Vm): void;
  /**
   * Record an exception a platform hook threw. The uAPI answer stays the
   * kernel-shaped one the caller picks; the record keeps the bug visible.
   */
  noteInternalError(what: string, e: unknown): void;
}

export class Vm implements OpenFile, GmemVmRef {
  readonly kind = 'vm' as const;
  readonly fops: FileOperations<Vm> = kvmVmFops;
  /** anon_inode_getfile(): no FMODE_PREAD/PWRITE. */
  readonly fmode = 0;
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
    this.ctx = vmPlatformContext(this);
    this.pvm = platform.attach(this.ctx);
  }

  /** The anon inode's filesystem refuses exec mappings where the release says so. */
  get noexec(): boolean {
    return this.sys.profile.pseudoFsNoexec;
  }

  getattr(): Kstat {
    return { size: 0n, ino: ANON_INODE_INO, mode: ANON_INODE_MODE };
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
    this.sys.vmDestroyed(this);
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

  /** kvm_mmu_unmap_gfn_range() as the platform sees it. */
  zap(gpa: bigint, size: bigint, reason: 'punch' | 'attributes'): void {
    try { this.pvm.onZap?.(gpa, size, reason); } catch (e) { this.sys.noteInternalError('onZap', e); }
  }

  gmemReleased(g: Gmem): void {
    for (const s of this.slots.all()) if (s.gmem === g) s.gmem = null;
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

  /**
   * Which memory a guest access of `view` to `gfn` is served from, in
   * /proc/self/maps terms: the guest_memfd's inode and offset, or whatever
   * the slot's userspace_addr maps; undefined where no slot covers it.
   */
  guestBacking(gfn: number, view: Backing): HostMapping | undefined {
    const s = this.slots.find(0, gfn);
    if (!s) return undefined;
    if (view === 'private' || s.gmemOnly) {
      if (!s.gmem) return undefined;
      return { ino: s.gmem.ino, offset: BigInt(s.gmemPgoff + gfn - s.baseGfn) * PAGE, shared: true };
    }
    return this.sys.host.mappingAt(s.userspaceAddr + BigInt(gfn - s.baseGfn) * PAGE);
  }

  /** The gmem flags this VM accepts (kvm_gmem_get_supported_flags()). */
  get gmemFlags(): bigint {
    const p = this.platform.gmemFlags?.(this.sys.profile);
    if (p !== undefined) return p;
    return gmemFlagsFor(this.sys.profile, this.hasPrivateMem);
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
