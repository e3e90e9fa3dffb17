/**
 * KVM_CHECK_EXTENSION as an x86-64 host answers it, on /dev/kvm (system
 * scope, no VM) and on a VM fd, for every KVM_CAP_* of the 6.18 uAPI
 * (lib/kvm/caps_uapi.ts) plus 7.4's guest_memfd attribute capability.
 *
 * The modelled host is a distribution kernel (the Debian amd64 config of
 * linux-config-6.12: CONFIG_KVM_MAX_NR_VCPUS=4096 under MAXSMP,
 * CONFIG_KVM_HYPERV, CONFIG_KVM_XEN, CONFIG_KVM_SMM, CONFIG_X86_SGX_KVM,
 * plus CONFIG_KVM_SW_PROTECTED_VM for the sw_protected type) with kvm_amd on a
 * Zen 4 part: NPT (tdp_enabled), TSC scaling, nested SVM, no notify VM exit,
 * no bus-lock exit (Zen 5 and later), no MWAIT for guests. kvm_amd is also why
 * KVM_CAP_DISABLE_QUIRKS2 lacks IGNORE_GUEST_PAT (profiles.ts).
 *
 * Each row of CAP_TABLE names where its answer comes from:
 *   generic  virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic()
 *   x86      arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension() (6.12 source;
 *            6.13..6.18 changes named in the row)
 *   none     no x86 code answers it: another architecture's capability, or
 *            an obsolete one (the default 0 of both functions)
 * A row's `vm` answer is the VM-scope one where it differs (`kvm` non-NULL).
 * test/lib/kvm/model/caps.test.ts checks the table against the answers a
 * real 6.18 host gave, with each difference explained.
 */
import { KVM_CAPS_6_18 } from '../caps_uapi.js';
import { KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../uapi.js';
import type { KernelProfile } from './profiles.js';

/** KVM_MAX_VCPUS: CONFIG_KVM_MAX_NR_VCPUS, 4096 with MAXSMP (arch/x86/include/asm/kvm_host.h). */
export const KVM_MAX_VCPUS = 4096;
/** KVM_MAX_VCPU_IDS = KVM_MAX_VCPUS * KVM_VCPU_ID_RATIO (4): x2APIC IDs are sparse (arch/x86/include/asm/kvm_host.h). */
export const KVM_MAX_VCPU_IDS = KVM_MAX_VCPUS * 4;
/** CPUs online on the model host: KVM_CAP_NR_VCPUS = min(num_online_cpus(), KVM_MAX_VCPUS). */
export const MODEL_HOST_ONLINE_CPUS = 8;
/** KVM_MAX_IRQ_ROUTES (include/linux/kvm_host.h); also MAX_NR_RESERVED_IOAPIC_PINS (arch/x86/kvm/ioapic.h). */
export const KVM_MAX_IRQ_ROUTES = 4096;
/** KVM_DIRTY_RING_MAX_ENTRIES (65536) * sizeof(struct kvm_dirty_gfn) (16): the largest dirty ring in bytes. */
export const KVM_DIRTY_RING_MAX_BYTES = 65536 * 16;
/** KVM_X2APIC_API_* flags (arch/x86/include/uapi/asm/kvm.h); SUPPRESS_EOI_BROADCAST pair from 6.18.y (and 6.19). */
export const KVM_X2APIC_API_USE_32BIT_IDS = 1;
export const KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK = 2;
export const KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST = 4;
export const KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST = 8;
/** KVM_X86_DISABLE_EXITS_*: MWAIT 1, HLT 2, PAUSE 4, CSTATE 8 (include/uapi/linux/kvm.h). */
export const KVM_X86_DISABLE_EXITS_ALLOWED = 2 | 4 | 8;
/** struct kvm_nested_state (128 bytes) + KVM_STATE_NESTED_SVM_VMCB_SIZE (4096): svm_get_nested_state(NULL, NULL, 0). */
const SVM_NESTED_STATE_SIZE = 128 + 4096;
/** KVM_GUESTDBG_VALID_MASK (arch/x86/include/asm/kvm_host.h): ENABLE|SINGLESTEP|USE_SW_BP|USE_HW_BP|INJECT_DB|INJECT_BP|BLOCKIRQ. */
const KVM_GUESTDBG_VALID_MASK = 0x1 | 0x2 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | 0x100000;
/** KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC (KVM_CLOCK_VALID_FLAGS). */
const KVM_CLOCK_VALID_FLAGS = 2 | 4 | 8;
/**
 * KVM_XEN_HVM_CONFIG_*: HYPERCALL_MSR, INTERCEPT_HCALL, SHARED_INFO,
 * EVTCHN_2LEVEL, EVTCHN_SEND, PVCLOCK_TSC_UNSTABLE, SHARED_INFO_HVA, and
 * RUNSTATE | RUNSTATE_UPDATE_FLAG since sched_info_on() (distribution kernels
 * have schedstats or delay accounting).
 */
const XEN_HVM_CONFIG = 0x1ff;
/** KVM_SYNC_X86_REGS | SREGS | EVENTS (KVM_SYNC_X86_VALID_FIELDS). */
const KVM_SYNC_X86_VALID_FIELDS = 7;

/** What a VM-scope answer may depend on (a model Vm provides it). */
export interface CapVm {
  readonly type: number;
  readonly hasPrivateMem: boolean;
  /** kvm->arch.has_protected_state: SEV-ES, SNP, TDX. */
  readonly hasProtectedState: boolean;
  readonly nrAddressSpaces: number;
  /** KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) succeeded (irqchip_split()). */
  readonly irqchipSplit: boolean;
  readonly supportedAttributes: bigint;
  readonly gmemFlags: bigint;
}

export interface CapContext {
  readonly profile: KernelProfile;
  /** kvm_caps.supported_vm_types as the registered platforms make it. */
  readonly vmTypesMask: number;
  /** The VM for a VM-fd query; undefined on /dev/kvm. */
  readonly vm: CapVm | undefined;
}

type Answer = number | ((c: CapContext) => number);

export interface CapRow {
  readonly name: string;
  readonly cap: number;
  readonly src: 'generic' | 'x86' | 'none';
  /** The answer at both scopes, or computed from the scope. */
  readonly answer: Answer;
  /** Why, where the answer is not the plain value of the switch case. */
  readonly why?: string;
}

const g = (answer: Answer, why?: string) => ({ src: 'generic' as const, answer, ...(why ? { why } : {}) });
const x = (answer: Answer, why?: string) => ({ src: 'x86' as const, answer, ...(why ? { why } : {}) });

/** The answers that are not 0; every other capability of the uAPI answers 0 (src 'none'). */
const ANSWERS: Readonly<Record<string, Omit<CapRow, 'name' | 'cap'>>> = {
  // kvm_vm_ioctl_check_extension_generic(): always 1.
  KVM_CAP_USER_MEMORY: g(1), KVM_CAP_USER_MEMORY2: g(1), KVM_CAP_DESTROY_MEMORY_REGION_WORKS: g(1),
  KVM_CAP_JOIN_MEMORY_REGIONS_WORKS: g(1), KVM_CAP_INTERNAL_ERROR_DATA: g(1), KVM_CAP_SIGNAL_MSI: g(1, 'CONFIG_HAVE_KVM_MSI'),
  KVM_CAP_IRQFD: g(1, 'CONFIG_HAVE_KVM_IRQCHIP'), KVM_CAP_IOEVENTFD_ANY_LENGTH: g(1), KVM_CAP_CHECK_EXTENSION_VM: g(1),
  KVM_CAP_ENABLE_CAP_VM: g(1), KVM_CAP_HALT_POLL: g(1), KVM_CAP_COALESCED_PIO: g(1), KVM_CAP_BINARY_STATS_FD: g(1),
  KVM_CAP_SYSTEM_EVENT_DATA: g(1), KVM_CAP_DEVICE_CTRL: g(1),
  KVM_CAP_COALESCED_MMIO: g(2, 'KVM_COALESCED_MMIO_PAGE_OFFSET: the page after kvm_run and the PIO page'),
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: g(3, 'KVM_DIRTY_LOG_MANUAL_CAPS: MANUAL_PROTECT_ENABLE | INITIALLY_SET'),
  KVM_CAP_IRQ_ROUTING: g(KVM_MAX_IRQ_ROUTES),
  KVM_CAP_MULTI_ADDRESS_SPACE: g((c) => (c.vm ? c.vm.nrAddressSpaces : 2), 'kvm_arch_nr_memslot_as_ids() per VM, else KVM_MAX_NR_ADDRESS_SPACES (SMM)'),
  KVM_CAP_NR_MEMSLOTS: g(32764, 'KVM_USER_MEM_SLOTS: SHRT_MAX less the 3 internal slots'),
  KVM_CAP_DIRTY_LOG_RING: g(KVM_DIRTY_RING_MAX_BYTES, 'CONFIG_HAVE_KVM_DIRTY_RING_TSO'),
  KVM_CAP_DIRTY_LOG_RING_ACQ_REL: g(KVM_DIRTY_RING_MAX_BYTES, 'CONFIG_HAVE_KVM_DIRTY_RING_ACQ_REL'),
  KVM_CAP_MEMORY_ATTRIBUTES: g((c) => {
    // kvm_supported_mem_attributes(): PRIVATE for a VM with private memory,
    // all attributes on /dev/kvm; 7.4 with per-guest_memfd attributes: none.
    if (c.profile.perGmemAttributes) return 0;
    return c.vm ? Number(c.vm.supportedAttributes) : Number(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  }, 'CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES'),
  KVM_CAP_GUEST_MEMFD: g((c) => (c.profile.capGuestMemfd === 'always' || !c.vm || c.vm.hasPrivateMem ? 1 : 0),
    '6.12: !kvm || kvm_arch_has_private_mem(kvm); 6.18: 1 (every VM may use guest_memfd)'),
  KVM_CAP_GUEST_MEMFD_FLAGS: g((c) => (!c.profile.hasGmemFlagsCap ? 0 : Number(c.vm ? c.vm.gmemFlags : c.profile.gmemFlagsSystem)),
    '6.18: kvm_gmem_get_supported_flags(kvm)'),

  // arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension(): the r = 1 list.
  KVM_CAP_IRQCHIP: x(1), KVM_CAP_HLT: x(1), KVM_CAP_MMU_SHADOW_CACHE_CONTROL: x(1), KVM_CAP_SET_TSS_ADDR: x(1),
  KVM_CAP_EXT_CPUID: x(1), KVM_CAP_EXT_EMUL_CPUID: x(1), KVM_CAP_CLOCKSOURCE: x(1), KVM_CAP_PIT: x(1),
  KVM_CAP_NOP_IO_DELAY: x(1), KVM_CAP_MP_STATE: x(1), KVM_CAP_SYNC_MMU: x(1), KVM_CAP_USER_NMI: x(1),
  KVM_CAP_REINJECT_CONTROL: x(1), KVM_CAP_IRQ_INJECT_STATUS: x(1), KVM_CAP_IOEVENTFD: x(1), KVM_CAP_IOEVENTFD_NO_LENGTH: x(1),
  KVM_CAP_PIT2: x(1), KVM_CAP_PIT_STATE2: x(1), KVM_CAP_SET_IDENTITY_MAP_ADDR: x(1), KVM_CAP_VCPU_EVENTS: x(1),
  KVM_CAP_HYPERV: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_VAPIC: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_SPIN: x(1, 'CONFIG_KVM_HYPERV'),
  KVM_CAP_HYPERV_TIME: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_SYNIC: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_SYNIC2: x(1, 'CONFIG_KVM_HYPERV'),
  KVM_CAP_HYPERV_VP_INDEX: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_EVENTFD: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_TLBFLUSH: x(1, 'CONFIG_KVM_HYPERV'),
  KVM_CAP_HYPERV_SEND_IPI: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_HYPERV_CPUID: x(1, 'CONFIG_KVM_HYPERV'),
  KVM_CAP_HYPERV_ENFORCE_CPUID: x(1, 'CONFIG_KVM_HYPERV'), KVM_CAP_SYS_HYPERV_CPUID: x(1, 'CONFIG_KVM_HYPERV'),
  KVM_CAP_PCI_SEGMENT: x(1), KVM_CAP_DEBUGREGS: x(1), KVM_CAP_X86_ROBUST_SINGLESTEP: x(1), KVM_CAP_XSAVE: x(1),
  KVM_CAP_ASYNC_PF: x(1), KVM_CAP_ASYNC_PF_INT: x(1), KVM_CAP_GET_TSC_KHZ: x(1), KVM_CAP_KVMCLOCK_CTRL: x(1),
  KVM_CAP_IOAPIC_POLARITY_IGNORED: x(1), KVM_CAP_TSC_DEADLINE_TIMER: x(1), KVM_CAP_DISABLE_QUIRKS: x(1),
  KVM_CAP_SET_BOOT_CPU_ID: x(1), KVM_CAP_SPLIT_IRQCHIP: x(1), KVM_CAP_IMMEDIATE_EXIT: x(1), KVM_CAP_PMU_EVENT_FILTER: x(1),
  KVM_CAP_PMU_EVENT_MASKED_EVENTS: x(1), KVM_CAP_GET_MSR_FEATURES: x(1), KVM_CAP_MSR_PLATFORM_INFO: x(1),
  KVM_CAP_EXCEPTION_PAYLOAD: x(1), KVM_CAP_X86_TRIPLE_FAULT_EVENT: x(1), KVM_CAP_SET_GUEST_DEBUG: x(1), KVM_CAP_LAST_CPU: x(1),
  KVM_CAP_X86_USER_SPACE_MSR: x(1), KVM_CAP_X86_MSR_FILTER: x(1), KVM_CAP_ENFORCE_PV_FEATURE_CPUID: x(1),
  KVM_CAP_SGX_ATTRIBUTE: x(1, 'CONFIG_X86_SGX_KVM'), KVM_CAP_VM_COPY_ENC_CONTEXT_FROM: x(1), KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM: x(1),
  KVM_CAP_SREGS2: x(1), KVM_CAP_EXIT_ON_EMULATION_FAILURE: x(1), KVM_CAP_VCPU_ATTRIBUTES: x(1), KVM_CAP_SYS_ATTRIBUTES: x(1),
  KVM_CAP_VAPIC: x(1), KVM_CAP_ENABLE_CAP: x(1), KVM_CAP_VM_DISABLE_NX_HUGE_PAGES: x(1), KVM_CAP_IRQFD_RESAMPLE: x(1),
  KVM_CAP_MEMORY_FAULT_INFO: x(1), KVM_CAP_X86_GUEST_MODE: x(1),
  KVM_CAP_ONE_REG: x((c) => (c.profile.x86OneReg ? 1 : 0), '6.18: KVM_{GET,SET}_ONE_REG for MSRs and the CET SSP (x86 gained the cap with CET virtualization)'),
  // The rest of the x86 switch: computed answers.
  KVM_CAP_PRE_FAULT_MEMORY: x(1, 'tdp_enabled (NPT)'),
  KVM_CAP_X86_APIC_BUS_CYCLES_NS: x(1, 'APIC_BUS_CYCLE_NS_DEFAULT'),
  KVM_CAP_EXIT_HYPERCALL: x(1 << 12, 'KVM_EXIT_HYPERCALL_VALID_MASK: BIT(KVM_HC_MAP_GPA_RANGE)'),
  KVM_CAP_SET_GUEST_DEBUG2: x(KVM_GUESTDBG_VALID_MASK, 'KVM_GUESTDBG_VALID_MASK'),
  KVM_CAP_XEN_HVM: x(XEN_HVM_CONFIG, 'CONFIG_KVM_XEN: the KVM_XEN_HVM_CONFIG_* flags, RUNSTATE ones with sched_info_on()'),
  KVM_CAP_SYNC_REGS: x((c) => (c.vm?.hasProtectedState ? 0 : KVM_SYNC_X86_VALID_FIELDS), 'kvm_sync_valid_fields(): none for protected state'),
  KVM_CAP_ADJUST_CLOCK: x(KVM_CLOCK_VALID_FLAGS, 'KVM_CLOCK_VALID_FLAGS'),
  KVM_CAP_X86_DISABLE_EXITS: x(KVM_X86_DISABLE_EXITS_ALLOWED, 'PAUSE, and HLT|CSTATE as !mitigate_smt_rsb (Zen 4 lacks X86_BUG_SMT_RSB); no MWAIT (kvm_can_mwait_in_guest())'),
  KVM_CAP_X86_SMM: x((c) => (c.vm?.hasProtectedState ? 0 : 1), 'CONFIG_KVM_SMM: has_emulated_msr(kvm, MSR_IA32_SMBASE), false for SEV-ES/SNP (svm) and TDX guests'),
  KVM_CAP_NR_VCPUS: x(Math.min(MODEL_HOST_ONLINE_CPUS, KVM_MAX_VCPUS), 'min(num_online_cpus(), KVM_MAX_VCPUS)'),
  KVM_CAP_MAX_VCPUS: x(KVM_MAX_VCPUS, 'KVM_MAX_VCPUS'),
  KVM_CAP_MAX_VCPU_ID: x(KVM_MAX_VCPU_IDS, 'KVM_MAX_VCPU_IDS'),
  KVM_CAP_MCE: x(32, 'KVM_MAX_MCE_BANKS'),
  KVM_CAP_XCRS: x(1, 'boot_cpu_has(X86_FEATURE_XSAVE)'),
  KVM_CAP_TSC_CONTROL: x(1, 'kvm_caps.has_tsc_control (SVM TSC ratio MSR)'),
  KVM_CAP_VM_TSC_CONTROL: x(1, 'kvm_caps.has_tsc_control'),
  KVM_CAP_X2APIC_API: x((c) => {
    if (!c.profile.x2apicSuppressEoiBroadcast) return KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK;
    const all = KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK
      | KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST | KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST;
    return c.vm && !c.vm.irqchipSplit ? all & ~KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST : all;
  }, 'KVM_X2APIC_API_VALID_FLAGS; 6.18.y: the suppress-EOI-broadcast pair, ENABLE only for a VM with a split irqchip'),
  KVM_CAP_NESTED_STATE: x(SVM_NESTED_STATE_SIZE, 'nested_ops->get_state(NULL, NULL, 0): svm_get_nested_state()'),
  KVM_CAP_SMALLER_MAXPHYADDR: x(1, 'allow_smaller_maxphyaddr: svm_hardware_setup() sets it with NPT'),
  KVM_CAP_STEAL_TIME: x(1, 'sched_info_on()'),
  KVM_CAP_XSAVE2: x(4096, 'xstate_required_size(XCR0) below sizeof(struct kvm_xsave) without AMX: 4096'),
  KVM_CAP_PMU_CAPABILITY: x(1, 'enable_pmu: KVM_CAP_PMU_VALID_MASK (KVM_PMU_CAP_DISABLE)'),
  KVM_CAP_DISABLE_QUIRKS2: x((c) => c.profile.supportedQuirks, 'kvm_caps.supported_quirks (profiles.ts)'),
  KVM_CAP_VM_TYPES: x((c) => (c.vmTypesMask & ~c.profile.absentVmTypes) | 0, 'kvm_caps.supported_vm_types'),
  KVM_CAP_READONLY_MEM: x((c) => (c.vm ? (c.vm.hasProtectedState ? 0 : 1) : 1), 'kvm ? kvm_arch_has_readonly_mem(kvm) : 1'),
  // 0 on this host, from the switch (named so the audit shows why):
  KVM_CAP_HYPERV_DIRECT_TLBFLUSH: x(0, 'kvm_x86_ops.enable_l2_tlb_flush: SVM sets it only when running on Hyper-V'),
  KVM_CAP_HYPERV_ENLIGHTENED_VMCS: x(0, 'nested_ops->enable_evmcs: VMX only'),
  KVM_CAP_X86_BUS_LOCK_EXIT: x(0, 'kvm_caps.has_bus_lock_exit: SVM has it from Zen 5'),
  KVM_CAP_X86_NOTIFY_VMEXIT: x(0, 'kvm_caps.has_notify_vmexit: VMX only'),
  KVM_CAP_PV_MMU: x(0, 'obsolete'),
};

function rows(): CapRow[] {
  const out: CapRow[] = Object.entries(KVM_CAPS_6_18).map(([name, cap]) => {
    const a = ANSWERS[name];
    return a ? { name, cap, ...a } : { name, cap, src: 'none' as const, answer: 0 };
  });
  out.push({
    name: 'KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES', cap: KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, src: 'generic',
    // 7.4: PRIVATE iff per-gmem attributes and kvm_supports_private_mem() (!kvm || has_private_mem).
    answer: (c) => (!c.profile.perGmemAttributes ? 0 : !c.vm || c.vm.hasPrivateMem ? Number(KVM_MEMORY_ATTRIBUTE_PRIVATE) : 0),
    why: '7.4 in-place conversion series',
  });
  return out;
}

/** The audit table: every capability, its source, its answer. */
export const CAP_TABLE: readonly CapRow[] = rows();
const BY_CAP = new Map(CAP_TABLE.map((r) => [r.cap, r]));

/** KVM_CHECK_EXTENSION's answer for `cap` (unknown numbers: 0, the default of both switches). */
export function capAnswer(cap: number, c: CapContext): number {
  const r = BY_CAP.get(cap);
  if (!r) return 0;
  return typeof r.answer === 'number' ? r.answer : r.answer(c);
}
