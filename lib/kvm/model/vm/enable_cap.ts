/**
 * KVM_ENABLE_CAP on a VM: kvm_vm_ioctl_enable_cap_generic()
 * (virt/kvm/kvm_main.c) first, whose cases check flags themselves (the
 * dirty ring not at all), then arch/x86/kvm/x86.c kvm_vm_ioctl_enable_cap(),
 * which refuses any flags and any capability it does not list (EINVAL).
 * Every capability a host accepts at VM scope is here; the ones whose
 * argument is another VM's fd or an SGX provisioning fd have no such fd in
 * the model and fail as a bad fd does (EINVAL / EBADF).
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { E2BIG, EEXIST, EFAULT, EINVAL, ENXIO } from '../../errno.js';
import { KVM_CAPS_6_18 } from '../../caps_uapi.js';
import { SIZEOF_KVM_ENABLE_CAP, decodeEnableCap } from '../../structs.js';
import { KVM_CAP_DISABLE_QUIRKS, KVM_CAP_DISABLE_QUIRKS2, KVM_CAP_EXIT_HYPERCALL, KVM_HC_MAP_GPA_RANGE, PAGE_SIZE } from '../../uapi.js';
import {
  KVM_DIRTY_RING_MAX_BYTES, KVM_MAX_IRQ_ROUTES, KVM_MAX_VCPU_IDS, KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK, KVM_X2APIC_API_USE_32BIT_IDS,
  KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST, KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST,
} from '../caps.js';
import { structArg } from '../ioctl_args.js';
import type { Vm } from '../vm.js';
import { capValue } from './check_extension.js';

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
/** KVM_HC_MAP_GPA_RANGE is the only hypercall that can exit (KVM_EXIT_HYPERCALL_VALID_MASK). */
export const KVM_EXIT_HYPERCALL_VALID_MASK = 1n << BigInt(KVM_HC_MAP_GPA_RANGE);

export function kvmVmIoctlEnableCap(vm: Vm, arg: IoctlArg | undefined): SysResult {
  const b = structArg(arg, SIZEOF_KVM_ENABLE_CAP);
  if (!b) return err(EFAULT);
  const c = decodeEnableCap(b);
  const a0 = c.args[0]!;
  const created = vm.vcpus.length > 0;
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
      if (vm.dirtyRingSize || created) return err(EINVAL);
      vm.dirtyRingSize = size;
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
      vm.exitHypercallMask = a0;
      return ok();
    case KVM_CAP_DISABLE_QUIRKS2:
      // Unknown quirk bits are refused; the legacy KVM_CAP_DISABLE_QUIRKS silently masks them.
      if (a0 & ~BigInt(vm.sys.profile.supportedQuirks)) return err(EINVAL);
      vm.disabledQuirks |= a0 & BigInt(vm.sys.profile.supportedQuirks);
      return ok();
    case KVM_CAP_DISABLE_QUIRKS:
      vm.disabledQuirks |= a0 & BigInt(vm.sys.profile.supportedQuirks);
      return ok();
    case KVM_CAP_SPLIT_IRQCHIP:
      // At most MAX_NR_RESERVED_IOAPIC_PINS reserved pins; EEXIST with an irqchip or a vCPU.
      if (a0 > BigInt(KVM_MAX_IRQ_ROUTES)) return err(EINVAL);
      if (vm.irqchip || vm.irqchipSplit || created) return err(EEXIST);
      vm.irqchipSplit = true;
      return ok();
    case KVM_CAP_X2APIC_API: {
      const valid = capValue(KVM_CAP_X2APIC_API, vm.sys);
      if (a0 & ~BigInt(valid)) return err(EINVAL);
      // 6.18.y: the suppress-EOI-broadcast modes exclude each other, and ENABLE needs a split irqchip.
      const en = (a0 & BigInt(KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST)) !== 0n;
      if (en && a0 & BigInt(KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST)) return err(EINVAL);
      if (en && !vm.irqchipSplit) return err(EINVAL);
      vm.x2apicApi |= Number(a0) & (KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK | KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST | KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST);
      return ok();
    }
    case KVM_CAP_X86_DISABLE_EXITS:
      // 6.12: any of KVM_X86_DISABLE_VALID_EXITS (MWAIT silently ignored where
      // the host cannot); later releases refuse what the host does not allow
      // (kvm_get_allowed_disable_exits(), the KVM_CHECK_EXTENSION answer).
      if (a0 & ~BigInt(!vm.sys.profile.disableExitsAllowedOnly ? 0xf : capValue(KVM_CAP_X86_DISABLE_EXITS, vm.sys))) return err(EINVAL);
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
      if (BigInt(vm.maxVcpuIds) === a0) return ok();
      if (vm.maxVcpuIds) return err(EINVAL);
      vm.maxVcpuIds = Number(a0);
      return ok();
    case KVM_CAP_VM_DISABLE_NX_HUGE_PAGES:
      // capable(CAP_SYS_BOOT) holds for the model's process; the argument must be 0, before any vCPU.
      return a0 || created ? err(EINVAL) : ok();
    case KVM_CAP_X86_APIC_BUS_CYCLES_NS:
      // Non-zero, no overflow of U32_MAX * 128 * ns in tmict_to_ns(); ENXIO without an in-kernel LAPIC.
      if (!a0 || a0 > ((1n << 64n) - 1n) / (0xffffffffn * 128n)) return err(EINVAL);
      if (!vm.irqchip && !vm.irqchipSplit) return err(ENXIO);
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
