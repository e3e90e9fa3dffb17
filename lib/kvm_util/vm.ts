/**
 * struct kvm_vm and struct kvm_vcpu of kvm_util: what the library tracks
 * about a VM it created (fds, memslots with their shared HVA and
 * guest_memfd, vCPUs) plus the host's own record of the memory attributes
 * and guest_memfd holes it asked for, used only to describe failures.
 */
import type { Backend, SlotRecord } from '../kvm/backend.js';

export type { SlotRecord };
import type { KvmRun } from '../kvm/kvm_run.js';
import type { GuestProgram } from '../kvm/guest_program.js';
import type { GuestCode } from '../guest/builder.js';
import type { Gpa, Hva, GmemOffset } from './types.js';
import { kvmGetCpuAddressWidth, vmComputeMaxGfn } from './x86_cpu.js';

/** struct vm_shape: the VM type KVM_CREATE_VM takes, and the guest mode. */
export interface VmShape {
  readonly type: number;
  /** VM_MODE_*; only VM_MODE_PXXV48_4K (x86-64, 4 KiB pages) exists here. */
  readonly mode: number;
}

/** VM_MODE_PXXV48_4K: x86-64, 48-bit virtual addresses, 4 KiB pages. */
export const VM_MODE_PXXV48_4K = 4;
/** VM_TYPE_DEFAULT: KVM_X86_DEFAULT_VM. */
export const VM_TYPE_DEFAULT = 0;
/** VM_SHAPE_DEFAULT: the default VM type in the default mode. */
export const VM_SHAPE_DEFAULT: VmShape = { type: VM_TYPE_DEFAULT, mode: VM_MODE_PXXV48_4K };
/** VM_SHAPE(type): a shape of VM type `type` (a platform's `vmType`) in the default mode. */
export const vmShape = (type: number): VmShape => ({ type, mode: VM_MODE_PXXV48_4K });

/** struct userspace_mem_region: one memslot and its backing. */
export interface MemRegion {
  readonly slot: number;
  flags: number;
  gpa: Gpa;
  readonly size: bigint;
  /** userspace_addr: the shared backing (0 for a gmem-only slot). */
  readonly hva: Hva;
  /** Bytes of HVA this library mmap'ed for the slot (0 when the caller gave the HVA). */
  readonly mmapSize: bigint;
  /** The fd the HVA maps (a dup of a mappable guest_memfd, or a shmem memfd), or -1 for anonymous memory. */
  readonly fd: number;
  /** The slot's guest_memfd (kvm_util's own dup), or -1. */
  readonly guestMemfd: number;
  readonly guestMemfdOffset: GmemOffset;
}

/** One recorded host action on memory state, newest last (for page-state maps in failures). */
export type MemEvent =
  /** An attribute change; `gmemIno` when it went through that guest_memfd (7.4), not the VM. */
  | { readonly kind: 'attr'; readonly gpa: bigint; readonly size: bigint; readonly private: boolean; readonly gmemIno?: bigint }
  | { readonly kind: 'gmem'; readonly fd: number; readonly ino: bigint; readonly offset: bigint; readonly len: bigint; readonly punch: boolean };

/**
 * struct kvm_vm: a VM this library created (vmCreate() and friends), with what it
 * tracks: its fds, memslots (`regions`), vCPUs and the memory-state requests
 * failure messages describe. Free it with kvmVmFree().
 */
export class KvmVm {
  readonly regions = new Map<number, MemRegion>();
  readonly vcpus: KvmVcpu[] = [];
  readonly memEvents: MemEvent[] = [];
  /**
   * Every memslot KVM holds for this VM, from any KVM_SET_USER_MEMORY_REGION(2)
   * made through kvm_util, raw calls included (regions holds only what
   * vm_mem_add() set up): what failure messages say about an address.
   */
  readonly slotRecord = new Map<number, SlotRecord>();
  readonly pageSize = 4096;
  readonly pageShift = 12;
  /** Guest physical address bits (kvm_get_cpu_address_width()). */
  readonly paBits: number;
  /** The highest GFN tests may use (vm_compute_max_gfn()). */
  readonly maxGfn: bigint;
  /** GPA of the per-vCPU struct ucall array in slot 0 (0 until __vmCreate adds slot 0). */
  ucallPoolGpa: Gpa | 0n = 0n;
  /** GPA of the per-vCPU guest code areas in slot 0 (guest_loader.ts), once __vmCreate set them aside. */
  guestAreaGpa: bigint | undefined;
  /** How many vCPUs slot 0 has code areas for. */
  guestAreaVcpus = 0;
  /** vm->has_irqchip: KVM_CREATE_IRQCHIP was issued. */
  hasIrqchip = false;
  /** guest_tsc_khz: the VM's TSC rate, from KVM_GET_TSC_KHZ after creation. */
  guestTscKhz = 0;
  freed = false;

  constructor(
    readonly backend: Backend,
    readonly kvmFd: number,
    readonly fd: number,
    readonly shape: VmShape,
  ) {
    this.paBits = kvmGetCpuAddressWidth(backend).paBits;
    this.maxGfn = vmComputeMaxGfn(backend, this.paBits, this.pageShift);
  }

  get type(): number {
    return this.shape.type;
  }
}

/**
 * struct kvm_vcpu: a vCPU of a KvmVm, with its fd, its `struct kvm_run`
 * (`run`: exit reason and payload after each KVM_RUN) and its guest code.
 */
export class KvmVcpu {
  /** Arguments from vcpuArgsSet (RDI, RSI, RDX, RCX, R8, R9). */
  args: bigint[] = [];
  /** The program attached to the vCPU (recorded on first run, or after vcpuArgsSet). */
  program: GuestProgram | undefined;
  attached = false;

  constructor(
    readonly vm: KvmVm,
    readonly id: number,
    readonly fd: number,
    readonly run: KvmRun,
    public guestCode: GuestCode | undefined,
  ) {}
}
