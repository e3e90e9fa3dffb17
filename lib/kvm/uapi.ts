/**
 * The KVM uAPI surface used by the private-memory selftests, x86-64 values.
 *
 * Numbers and layouts are those of include/uapi/linux/kvm.h and
 * arch/x86/include/uapi/asm/kvm.h (6.12, plus the 6.18 guest_memfd flags);
 * every backend, model or real, speaks exactly these values.
 */
import { _IO, _IOR, _IOW, _IOWR, ioctlNames } from './ioctl.js';
import { u64 } from './layout.js';
import {
  kvm_cpuid2, kvm_create_guest_memfd, kvm_device_attr, kvm_enable_cap, kvm_interrupt, kvm_memory_attributes,
  kvm_memory_attributes2, kvm_mp_state, kvm_pre_fault_memory, kvm_regs, kvm_sregs, kvm_userspace_memory_region,
  kvm_userspace_memory_region2, ucall,
} from './structs.js';

/** The ioctl type of every KVM request (include/uapi/linux/kvm.h). */
export const KVMIO = 0xae;

/*
 * Request numbers, each from its _IO/_IOR/_IOW/_IOWR and argument layout
 * (structs.ts) as include/uapi/linux/kvm.h declares it; ioctl.ts encodes
 * them as include/uapi/asm-generic/ioctl.h does.
 */
export const KVM_GET_API_VERSION = _IO(KVMIO, 0x00);
export const KVM_CREATE_VM = _IO(KVMIO, 0x01);
export const KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = _IO(KVMIO, 0x04);
/** x86: the CPUID leaves KVM can expose; `nent` entries follow the header, E2BIG when they do not fit. */
export const KVM_GET_SUPPORTED_CPUID = _IOWR(KVMIO, 0x05, kvm_cpuid2);
export const KVM_CREATE_VCPU = _IO(KVMIO, 0x41);
/** x86's shadow MMU page budget for the VM. */
export const KVM_SET_NR_MMU_PAGES = _IO(KVMIO, 0x44);
export const KVM_SET_USER_MEMORY_REGION = _IOW(KVMIO, 0x46, kvm_userspace_memory_region);
export const KVM_SET_USER_MEMORY_REGION2 = _IOW(KVMIO, 0x49, kvm_userspace_memory_region2);
/** The in-kernel PIC, IOAPIC and local APICs. */
export const KVM_CREATE_IRQCHIP = _IO(KVMIO, 0x60);
export const KVM_RUN = _IO(KVMIO, 0x80);
export const KVM_GET_REGS = _IOR(KVMIO, 0x81, kvm_regs);
export const KVM_SET_REGS = _IOW(KVMIO, 0x82, kvm_regs);
export const KVM_GET_SREGS = _IOR(KVMIO, 0x83, kvm_sregs);
export const KVM_SET_SREGS = _IOW(KVMIO, 0x84, kvm_sregs);
/** Queue an external interrupt (no in-kernel irqchip). */
export const KVM_INTERRUPT = _IOW(KVMIO, 0x86, kvm_interrupt);
/** x86: load the guest's CPUID; refused after the first KVM_RUN. */
export const KVM_SET_CPUID2 = _IOW(KVMIO, 0x90, kvm_cpuid2);
export const KVM_GET_MP_STATE = _IOR(KVMIO, 0x98, kvm_mp_state);
export const KVM_SET_MP_STATE = _IOW(KVMIO, 0x99, kvm_mp_state);
export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_UNINITIALIZED = 1;
export const KVM_MP_STATE_INIT_RECEIVED = 2;
export const KVM_MP_STATE_HALTED = 3;
export const KVM_MP_STATE_SIPI_RECEIVED = 4;
export const KVM_MP_STATE_AP_RESET_HOLD = 9;
export const KVM_ENABLE_CAP = _IOW(KVMIO, 0xa3, kvm_enable_cap);
/** The TSC frequency in kHz (VM scope since 6.4, and vCPU scope); shares 0xa3 with KVM_ENABLE_CAP, told apart by direction and size. */
export const KVM_GET_TSC_KHZ = _IO(KVMIO, 0xa3);
/** The argument is declared `unsigned long` (a pointer to the vendor's command struct): 8 bytes on LP64. */
export const KVM_MEMORY_ENCRYPT_OP = _IOWR(KVMIO, 0xba, u64);
export const KVM_SET_MEMORY_ATTRIBUTES = _IOW(KVMIO, 0xd2, kvm_memory_attributes);
export const KVM_CREATE_GUEST_MEMFD = _IOWR(KVMIO, 0xd4, kvm_create_guest_memfd);
export const KVM_PRE_FAULT_MEMORY = _IOWR(KVMIO, 0xd5, kvm_pre_fault_memory);
/**
 * [7.4] the guest_memfd ioctl of the in-place conversion series (v8 patch
 * 13/46 "KVM: guest_memfd: Add base support for KVM_SET_MEMORY_ATTRIBUTES2",
 * queued in kvm-x86 for 7.4, linux-next 2026-09-23). It shares 0xd2 with the
 * VM ioctl; the size and direction bits keep the two numbers apart.
 */
export const KVM_SET_MEMORY_ATTRIBUTES2 = _IOWR(KVMIO, 0xd2, kvm_memory_attributes2);
/**
 * On /dev/kvm, x86's system attributes (kvm_arch_dev_ioctl()). Both are
 * _IOW although GET writes the value: it goes to the user address in
 * `addr`, not into the struct.
 */
export const KVM_GET_DEVICE_ATTR = _IOW(KVMIO, 0xe2, kvm_device_attr);
export const KVM_HAS_DEVICE_ATTR = _IOW(KVMIO, 0xe3, kvm_device_attr);
/** sizeof(struct kvm_device_attr). */
export const SIZEOF_KVM_DEVICE_ATTR = kvm_device_attr.size;

/** Human names for request numbers, for KVM_IOCTL_ERROR-style messages. */
export const IOCTL_NAMES = ioctlNames({
  KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID,
  KVM_CREATE_VCPU, KVM_SET_NR_MMU_PAGES, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
  KVM_CREATE_IRQCHIP, KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_INTERRUPT,
  KVM_SET_CPUID2, KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_ENABLE_CAP, KVM_GET_TSC_KHZ, KVM_MEMORY_ENCRYPT_OP,
  KVM_SET_MEMORY_ATTRIBUTES, KVM_CREATE_GUEST_MEMFD, KVM_PRE_FAULT_MEMORY, KVM_SET_MEMORY_ATTRIBUTES2,
  KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR,
});

/* Capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) */
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_NR_MEMSLOTS = 10;
export const KVM_CAP_GET_TSC_KHZ = 61;
export const KVM_CAP_DISABLE_QUIRKS = 116;
export const KVM_CAP_DISABLE_QUIRKS2 = 213;
export const KVM_CAP_MULTI_ADDRESS_SPACE = 118;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
export const KVM_CAP_EXIT_HYPERCALL = 201;
export const KVM_CAP_USER_MEMORY2 = 231;
export const KVM_CAP_MEMORY_FAULT_INFO = 232;
export const KVM_CAP_MEMORY_ATTRIBUTES = 233;
export const KVM_CAP_GUEST_MEMFD = 234;
export const KVM_CAP_VM_TYPES = 235;
export const KVM_CAP_PRE_FAULT_MEMORY = 236;
export const KVM_CAP_GUEST_MEMFD_FLAGS = 244;
/**
 * [7.4] KVM_SET_MEMORY_ATTRIBUTES2 on guest_memfd is available and these are
 * its attributes (v8 patch 17/46 "KVM: guest_memfd: Advertise
 * KVM_SET_MEMORY_ATTRIBUTES2 ioctl", include/uapi/linux/kvm.h: 250, after the
 * s390 caps 245..249 of 6.19/7.x).
 */
export const KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES = 250;

export const CAP_NAMES: Readonly<Record<number, string>> = {
  [KVM_CAP_IRQCHIP]: 'KVM_CAP_IRQCHIP',
  [KVM_CAP_NR_MEMSLOTS]: 'KVM_CAP_NR_MEMSLOTS',
  [KVM_CAP_GET_TSC_KHZ]: 'KVM_CAP_GET_TSC_KHZ',
  [KVM_CAP_DISABLE_QUIRKS]: 'KVM_CAP_DISABLE_QUIRKS',
  [KVM_CAP_DISABLE_QUIRKS2]: 'KVM_CAP_DISABLE_QUIRKS2',
  [KVM_CAP_MULTI_ADDRESS_SPACE]: 'KVM_CAP_MULTI_ADDRESS_SPACE',
  [KVM_CAP_IMMEDIATE_EXIT]: 'KVM_CAP_IMMEDIATE_EXIT',
  [KVM_CAP_EXIT_HYPERCALL]: 'KVM_CAP_EXIT_HYPERCALL',
  [KVM_CAP_USER_MEMORY2]: 'KVM_CAP_USER_MEMORY2',
  [KVM_CAP_MEMORY_FAULT_INFO]: 'KVM_CAP_MEMORY_FAULT_INFO',
  [KVM_CAP_MEMORY_ATTRIBUTES]: 'KVM_CAP_MEMORY_ATTRIBUTES',
  [KVM_CAP_GUEST_MEMFD]: 'KVM_CAP_GUEST_MEMFD',
  [KVM_CAP_VM_TYPES]: 'KVM_CAP_VM_TYPES',
  [KVM_CAP_PRE_FAULT_MEMORY]: 'KVM_CAP_PRE_FAULT_MEMORY',
  [KVM_CAP_GUEST_MEMFD_FLAGS]: 'KVM_CAP_GUEST_MEMFD_FLAGS',
  [KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES]: 'KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES',
};

/* x86 VM types (arch/x86/include/uapi/asm/kvm.h) */
export const KVM_X86_DEFAULT_VM = 0;
export const KVM_X86_SW_PROTECTED_VM = 1;
export const KVM_X86_SEV_VM = 2;
export const KVM_X86_SEV_ES_VM = 3;
export const KVM_X86_SNP_VM = 4;
export const KVM_X86_TDX_VM = 5;
/**
 * The x86 VM types the uAPI defines. A registered platform with any other
 * type is a series or a vendor's own: the model offers it, a kernel without
 * that series does not.
 */
export const KVM_X86_VM_TYPES: readonly number[] = [
  KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM, KVM_X86_SEV_VM, KVM_X86_SEV_ES_VM, KVM_X86_SNP_VM, KVM_X86_TDX_VM,
];

/* KVM_CAP_DISABLE_QUIRKS2 bits (arch/x86/include/uapi/asm/kvm.h). */
export const KVM_X86_QUIRK_FIX_HYPERCALL_INSN = 1 << 5;
export const KVM_X86_QUIRK_SLOT_ZAP_ALL = 1 << 7;
/**
 * arm64 machine-type bits used by the pKVM and CCA plugins (out-of-tree
 * series). BIT(31) is written as the unsigned long C passes: `1 << 31` would
 * be negative in JavaScript and reach KVM_CREATE_VM as a 64-bit all-ones type.
 */
export const KVM_VM_TYPE_ARM_PROTECTED = 0x80000000;
export const KVM_VM_TYPE_ARM_REALM = 1 << 8;

/* Memslot flags */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;
export const KVM_MEM_GUEST_MEMFD = 1 << 2;

/* Memory attributes */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1n << 3n;

/* guest_memfd flags [6.18] */
export const GUEST_MEMFD_FLAG_MMAP = 1n << 0n;
export const GUEST_MEMFD_FLAG_INIT_SHARED = 1n << 1n;


/* Exit reasons */
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;
export const KVM_EXIT_MEMORY_FAULT = 39;

export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  [KVM_EXIT_UNKNOWN]: 'UNKNOWN',
  [KVM_EXIT_IO]: 'IO',
  [KVM_EXIT_HYPERCALL]: 'HYPERCALL',
  [KVM_EXIT_HLT]: 'HLT',
  [KVM_EXIT_MMIO]: 'MMIO',
  [KVM_EXIT_SHUTDOWN]: 'SHUTDOWN',
  [KVM_EXIT_INTERNAL_ERROR]: 'INTERNAL_ERROR',
  [KVM_EXIT_SYSTEM_EVENT]: 'SYSTEM_EVENT',
  [KVM_EXIT_MEMORY_FAULT]: 'MEMORY_FAULT',
};

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;
export const KVM_PIO_PAGE_OFFSET = 1;
export const KVM_SYSTEM_EVENT_SEV_TERM = 6;

export const KVM_MEMORY_EXIT_FLAG_PRIVATE = 1n << 3n;
export const KVM_EXIT_HYPERCALL_LONG_MODE = 1n << 0n;

/* Hypercalls (include/uapi/linux/kvm_para.h, arch/x86/include/uapi/asm/kvm_para.h) */
export const KVM_HC_MAP_GPA_RANGE = 12;
export const KVM_ENOSYS = 1000;
export const KVM_EINVAL = 22;
export const KVM_MAP_GPA_RANGE_PAGE_SZ_4K = 0n;
export const KVM_MAP_GPA_RANGE_PAGE_SZ_2M = 1n << 0n;
export const KVM_MAP_GPA_RANGE_PAGE_SZ_1G = 1n << 1n;
export const KVM_MAP_GPA_RANGE_ENCRYPTED = 1n << 4n;
export const KVM_MAP_GPA_RANGE_DECRYPTED = 0n;

/* ucall (tools/testing/selftests/kvm/include/ucall_common.h) */
export const UCALL_PIO_PORT = 0x1000;
export const UCALL_NONE = 0;
export const UCALL_SYNC = 1;
export const UCALL_ABORT = 2;
export const UCALL_PRINTF = 3;
export const UCALL_DONE = 4;
export const UCALL_UNHANDLED = 5;

/* fallocate(2) modes */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

/* mmap(2) */
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const SZ_2M = 0x200000;

/** KVM_MEM_SLOTS_NUM on x86: KVM_USER_MEM_SLOTS (32764) user slots per address space. */
export const KVM_USER_MEM_SLOTS = 32764;

/** sizeof(struct kvm_run) on x86-64, and the offset of the PIO data page. */
export const KVM_RUN_SIZE = 2352;
export const KVM_VCPU_MMAP_SIZE = 3 * PAGE_SIZE;

/** sizeof(struct kvm_regs). */
export const SIZEOF_KVM_REGS = kvm_regs.size;
const regs = kvm_regs.offsets;
/** struct kvm_regs offsets of the registers the library reads and writes by name (get_ucall reads RDI: the struct ucall address). */
export const KVM_REGS_OFFSET = {
  rax: regs.rax, rbx: regs.rbx, rcx: regs.rcx, rdx: regs.rdx, rsi: regs.rsi, rdi: regs.rdi, rsp: regs.rsp, rbp: regs.rbp,
  rip: regs.rip, rflags: regs.rflags,
} as const;
export { UCALL_BUFFER_LEN, UCALL_MAX_ARGS } from './structs.js';
/** sizeof(struct ucall). */
export const SIZEOF_UCALL = ucall.size;
