/**
 * The capability audit (lib/kvm/model/caps.ts): every KVM_CAP_* of the 6.18
 * uAPI at system and VM scope, KVM_ENABLE_CAP on a VM, and the vCPU limits.
 *
 * fixtures/caps_6.18_host.json holds what a real 6.18.44 x86 host answered
 * for caps 0..250 on /dev/kvm and on a default VM fd (KVM_CHECK_EXTENSION,
 * recorded through the kvm backend on this project's machine). That host
 * runs a small cloud kernel config under the PVM vendor module; every
 * difference from the model's distribution host is listed with its reason.
 */
import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { readFileSync } from 'node:fs';
import { createModelBackend, type KernelName } from '../../../../lib/kvm/model/index.js';
import { KVM_CAPS_6_18 } from '../../../../lib/kvm/caps_uapi.js';
import { CAP_TABLE, KVM_MAX_VCPU_IDS, KVM_MAX_VCPUS } from '../../../../lib/kvm/model/caps.js';
import { E2BIG, EEXIST, EINVAL, ENXIO } from '../../../../lib/kvm/errno.js';
import { encodeEnableCap } from '../../../../lib/kvm/structs.js';
import { KVM_CHECK_EXTENSION, KVM_CREATE_IRQCHIP, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_ENABLE_CAP, KVM_X86_SNP_VM } from '../../../../lib/kvm/uapi.js';
import { SERIES_VM_TYPES } from './helpers.js';

const C = KVM_CAPS_6_18;
const cap = (n: string): number => {
  const v = C[n];
  if (v === undefined) throw new Error(`no ${n}`);
  return v;
};

function open(kernel: KernelName = '6.18', type = 0) {
  const b = createModelBackend({ kernel });
  const kvm = b.open('/dev/kvm', 2).ret;
  const vm = b.ioctl(kvm, KVM_CREATE_VM, type).ret;
  const check = (fd: number, name: string): number => b.ioctl(fd, KVM_CHECK_EXTENSION, cap(name)).ret;
  const enable = (name: string, args: bigint[] = [], flags = 0) =>
    b.ioctl(vm, KVM_ENABLE_CAP, encodeEnableCap({ cap: cap(name), flags, args: [...args, 0n, 0n, 0n, 0n].slice(0, 4) }));
  return { b, kvm, vm, check, enable };
}

/** The 6.18 answers that are not 0: [cap, /dev/kvm, default VM]. Every other cap of the uAPI answers 0 at both scopes. */
const NONZERO_6_18: readonly [string, number, number][] = [
  ['KVM_CAP_IRQCHIP', 1, 1], ['KVM_CAP_HLT', 1, 1], ['KVM_CAP_MMU_SHADOW_CACHE_CONTROL', 1, 1], ['KVM_CAP_USER_MEMORY', 1, 1],
  ['KVM_CAP_SET_TSS_ADDR', 1, 1], ['KVM_CAP_VAPIC', 1, 1], ['KVM_CAP_EXT_CPUID', 1, 1], ['KVM_CAP_CLOCKSOURCE', 1, 1],
  ['KVM_CAP_NR_VCPUS', 8, 8], ['KVM_CAP_NR_MEMSLOTS', 32764, 32764], ['KVM_CAP_PIT', 1, 1], ['KVM_CAP_NOP_IO_DELAY', 1, 1],
  ['KVM_CAP_MP_STATE', 1, 1], ['KVM_CAP_COALESCED_MMIO', 2, 2], ['KVM_CAP_SYNC_MMU', 1, 1],
  ['KVM_CAP_DESTROY_MEMORY_REGION_WORKS', 1, 1], ['KVM_CAP_USER_NMI', 1, 1], ['KVM_CAP_SET_GUEST_DEBUG', 1, 1],
  ['KVM_CAP_REINJECT_CONTROL', 1, 1], ['KVM_CAP_IRQ_ROUTING', 4096, 4096], ['KVM_CAP_IRQ_INJECT_STATUS', 1, 1],
  ['KVM_CAP_JOIN_MEMORY_REGIONS_WORKS', 1, 1], ['KVM_CAP_MCE', 32, 32], ['KVM_CAP_IRQFD', 1, 1], ['KVM_CAP_PIT2', 1, 1],
  ['KVM_CAP_SET_BOOT_CPU_ID', 1, 1], ['KVM_CAP_PIT_STATE2', 1, 1], ['KVM_CAP_IOEVENTFD', 1, 1],
  ['KVM_CAP_SET_IDENTITY_MAP_ADDR', 1, 1], ['KVM_CAP_XEN_HVM', 0x1ff, 0x1ff], ['KVM_CAP_ADJUST_CLOCK', 14, 14],
  ['KVM_CAP_INTERNAL_ERROR_DATA', 1, 1], ['KVM_CAP_VCPU_EVENTS', 1, 1], ['KVM_CAP_HYPERV', 1, 1], ['KVM_CAP_HYPERV_VAPIC', 1, 1],
  ['KVM_CAP_HYPERV_SPIN', 1, 1], ['KVM_CAP_PCI_SEGMENT', 1, 1], ['KVM_CAP_DEBUGREGS', 1, 1], ['KVM_CAP_X86_ROBUST_SINGLESTEP', 1, 1],
  ['KVM_CAP_ENABLE_CAP', 1, 1], ['KVM_CAP_XSAVE', 1, 1], ['KVM_CAP_XCRS', 1, 1], ['KVM_CAP_ASYNC_PF', 1, 1],
  ['KVM_CAP_TSC_CONTROL', 1, 1], ['KVM_CAP_GET_TSC_KHZ', 1, 1], ['KVM_CAP_MAX_VCPUS', 4096, 4096], ['KVM_CAP_ONE_REG', 1, 1],
  ['KVM_CAP_TSC_DEADLINE_TIMER', 1, 1], ['KVM_CAP_SYNC_REGS', 7, 7], ['KVM_CAP_KVMCLOCK_CTRL', 1, 1], ['KVM_CAP_SIGNAL_MSI', 1, 1],
  ['KVM_CAP_READONLY_MEM', 1, 1], ['KVM_CAP_IRQFD_RESAMPLE', 1, 1], ['KVM_CAP_DEVICE_CTRL', 1, 1], ['KVM_CAP_EXT_EMUL_CPUID', 1, 1],
  ['KVM_CAP_HYPERV_TIME', 1, 1], ['KVM_CAP_IOAPIC_POLARITY_IGNORED', 1, 1], ['KVM_CAP_ENABLE_CAP_VM', 1, 1],
  ['KVM_CAP_IOEVENTFD_NO_LENGTH', 1, 1], ['KVM_CAP_CHECK_EXTENSION_VM', 1, 1], ['KVM_CAP_DISABLE_QUIRKS', 1, 1],
  ['KVM_CAP_X86_SMM', 1, 1], ['KVM_CAP_MULTI_ADDRESS_SPACE', 2, 2], ['KVM_CAP_SPLIT_IRQCHIP', 1, 1],
  ['KVM_CAP_IOEVENTFD_ANY_LENGTH', 1, 1], ['KVM_CAP_HYPERV_SYNIC', 1, 1], ['KVM_CAP_VCPU_ATTRIBUTES', 1, 1],
  ['KVM_CAP_MAX_VCPU_ID', 16384, 16384], ['KVM_CAP_X2APIC_API', 15, 11], ['KVM_CAP_IMMEDIATE_EXIT', 1, 1],
  ['KVM_CAP_X86_DISABLE_EXITS', 14, 14], ['KVM_CAP_HYPERV_SYNIC2', 1, 1], ['KVM_CAP_HYPERV_VP_INDEX', 1, 1],
  ['KVM_CAP_GET_MSR_FEATURES', 1, 1], ['KVM_CAP_HYPERV_EVENTFD', 1, 1], ['KVM_CAP_HYPERV_TLBFLUSH', 1, 1],
  ['KVM_CAP_NESTED_STATE', 4224, 4224], ['KVM_CAP_MSR_PLATFORM_INFO', 1, 1], ['KVM_CAP_HYPERV_SEND_IPI', 1, 1],
  ['KVM_CAP_COALESCED_PIO', 1, 1], ['KVM_CAP_EXCEPTION_PAYLOAD', 1, 1], ['KVM_CAP_HYPERV_CPUID', 1, 1],
  ['KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2', 3, 3], ['KVM_CAP_PMU_EVENT_FILTER', 1, 1], ['KVM_CAP_HALT_POLL', 1, 1],
  ['KVM_CAP_ASYNC_PF_INT', 1, 1], ['KVM_CAP_LAST_CPU', 1, 1], ['KVM_CAP_SMALLER_MAXPHYADDR', 1, 1], ['KVM_CAP_STEAL_TIME', 1, 1],
  ['KVM_CAP_X86_USER_SPACE_MSR', 1, 1], ['KVM_CAP_X86_MSR_FILTER', 1, 1], ['KVM_CAP_ENFORCE_PV_FEATURE_CPUID', 1, 1],
  ['KVM_CAP_SYS_HYPERV_CPUID', 1, 1], ['KVM_CAP_DIRTY_LOG_RING', 1048576, 1048576], ['KVM_CAP_SET_GUEST_DEBUG2', 0x1f0003, 0x1f0003],
  ['KVM_CAP_SGX_ATTRIBUTE', 1, 1], ['KVM_CAP_VM_COPY_ENC_CONTEXT_FROM', 1, 1], ['KVM_CAP_HYPERV_ENFORCE_CPUID', 1, 1],
  ['KVM_CAP_SREGS2', 1, 1], ['KVM_CAP_EXIT_HYPERCALL', 4096, 4096], ['KVM_CAP_BINARY_STATS_FD', 1, 1],
  ['KVM_CAP_EXIT_ON_EMULATION_FAILURE', 1, 1], ['KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM', 1, 1], ['KVM_CAP_XSAVE2', 4096, 4096],
  ['KVM_CAP_SYS_ATTRIBUTES', 1, 1], ['KVM_CAP_PMU_CAPABILITY', 1, 1], ['KVM_CAP_DISABLE_QUIRKS2', 0x5ff, 0x5ff],
  ['KVM_CAP_VM_TSC_CONTROL', 1, 1], ['KVM_CAP_SYSTEM_EVENT_DATA', 1, 1], ['KVM_CAP_X86_TRIPLE_FAULT_EVENT', 1, 1],
  ['KVM_CAP_VM_DISABLE_NX_HUGE_PAGES', 1, 1], ['KVM_CAP_DIRTY_LOG_RING_ACQ_REL', 1048576, 1048576],
  ['KVM_CAP_PMU_EVENT_MASKED_EVENTS', 1, 1], ['KVM_CAP_USER_MEMORY2', 1, 1], ['KVM_CAP_MEMORY_FAULT_INFO', 1, 1],
  ['KVM_CAP_MEMORY_ATTRIBUTES', 8, 0], ['KVM_CAP_GUEST_MEMFD', 1, 1], ['KVM_CAP_VM_TYPES', 63 | SERIES_VM_TYPES, 63 | SERIES_VM_TYPES], ['KVM_CAP_PRE_FAULT_MEMORY', 1, 1],
  ['KVM_CAP_X86_APIC_BUS_CYCLES_NS', 1, 1], ['KVM_CAP_X86_GUEST_MODE', 1, 1], ['KVM_CAP_GUEST_MEMFD_FLAGS', 3, 3],
];

t.test('6.18: every capability of the uAPI at system and VM scope', async (t) => {
  const { kvm, vm, check } = open();
  const want = new Map(NONZERO_6_18.map(([n, s, v]) => [n, [s, v]]));
  t.equal(want.size, NONZERO_6_18.length, 'no capability listed twice');
  for (const name of Object.keys(C)) {
    t.same([check(kvm, name), check(vm, name)], want.get(name) ?? [0, 0], name);
  }
});

/** Where the recorded host and the modelled host differ, and why (host config or vendor module). */
const HOST_DIFFERS: Readonly<Record<string, string>> = {
  KVM_CAP_NR_VCPUS: 'min(num_online_cpus(), KVM_MAX_VCPUS): that host had 2 CPUs online, the model 8',
  KVM_CAP_MAX_VCPUS: 'CONFIG_KVM_MAX_NR_VCPUS: 1024 there, 4096 under MAXSMP',
  KVM_CAP_MAX_VCPU_ID: 'KVM_MAX_VCPUS * 4',
  KVM_CAP_XEN_HVM: 'CONFIG_KVM_XEN off there',
  KVM_CAP_HYPERV: 'CONFIG_KVM_HYPERV off there', KVM_CAP_HYPERV_VAPIC: 'CONFIG_KVM_HYPERV', KVM_CAP_HYPERV_SPIN: 'CONFIG_KVM_HYPERV',
  KVM_CAP_HYPERV_TIME: 'CONFIG_KVM_HYPERV', KVM_CAP_HYPERV_SYNIC: 'CONFIG_KVM_HYPERV', KVM_CAP_HYPERV_SYNIC2: 'CONFIG_KVM_HYPERV',
  KVM_CAP_HYPERV_VP_INDEX: 'CONFIG_KVM_HYPERV', KVM_CAP_HYPERV_EVENTFD: 'CONFIG_KVM_HYPERV', KVM_CAP_HYPERV_TLBFLUSH: 'CONFIG_KVM_HYPERV',
  KVM_CAP_HYPERV_SEND_IPI: 'CONFIG_KVM_HYPERV', KVM_CAP_HYPERV_CPUID: 'CONFIG_KVM_HYPERV', KVM_CAP_SYS_HYPERV_CPUID: 'CONFIG_KVM_HYPERV',
  KVM_CAP_HYPERV_ENFORCE_CPUID: 'CONFIG_KVM_HYPERV',
  KVM_CAP_TSC_CONTROL: 'no TSC scaling under PVM', KVM_CAP_VM_TSC_CONTROL: 'no TSC scaling under PVM',
  KVM_CAP_X86_SMM: 'CONFIG_KVM_SMM off there', KVM_CAP_MULTI_ADDRESS_SPACE: 'CONFIG_KVM_SMM off: KVM_MAX_NR_ADDRESS_SPACES is 1',
  KVM_CAP_NESTED_STATE: 'no nested virtualization under PVM', KVM_CAP_SGX_ATTRIBUTE: 'CONFIG_X86_SGX_KVM off there',
  KVM_CAP_PMU_CAPABILITY: 'enable_pmu off under PVM',
  KVM_CAP_MEMORY_ATTRIBUTES: 'no CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES there (no SW_PROTECTED_VM, SEV or TDX)',
  KVM_CAP_VM_TYPES: 'only KVM_X86_DEFAULT_VM there; the model registers sw_protected, SEV, SEV-ES, SNP, TDX',
  KVM_CAP_PRE_FAULT_MEMORY: 'tdp_enabled: PVM shadow-pages',
};

t.test('6.18: the recorded 6.18 host answers the same, except where its config says otherwise', async (t) => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/caps_6.18_host.json', import.meta.url), 'utf8')) as { answers: Record<string, [number, number]> };
  const { kvm, vm, b } = open();
  for (const [name, n] of Object.entries(C)) {
    const host = fixture.answers[String(n)];
    if (!host) { t.fail(`${name}: not recorded`); continue; }
    const model = [b.ioctl(kvm, KVM_CHECK_EXTENSION, n).ret, b.ioctl(vm, KVM_CHECK_EXTENSION, n).ret];
    const same = model[0] === host[0] && model[1] === host[1];
    if (HOST_DIFFERS[name]) t.notOk(same, `${name} differs: ${HOST_DIFFERS[name]}`);
    else t.same(model, host, name);
  }
});

t.test('the table: every uAPI capability once, each non-zero answer from a named source', async (t) => {
  const names = CAP_TABLE.map((r) => r.name);
  t.equal(new Set(names).size, names.length);
  for (const n of Object.keys(C)) t.ok(names.includes(n), n);
  for (const r of CAP_TABLE) {
    if (r.src === 'none') t.equal(r.answer, 0, `${r.name}: no source, so 0`);
    if (typeof r.answer === 'function') t.ok(r.why, `${r.name}: a computed answer says why`);
  }
});

t.test('answers by profile and VM type', async (t) => {
  const old = open('6.12');
  t.equal(old.check(old.kvm, 'KVM_CAP_ONE_REG'), 0, '6.12 x86 has no ONE_REG');
  t.equal(old.check(old.kvm, 'KVM_CAP_X2APIC_API'), 3, '6.12: USE_32BIT_IDS | DISABLE_BROADCAST_QUIRK');
  t.equal(old.check(old.kvm, 'KVM_CAP_GUEST_MEMFD_FLAGS'), 0);
  const snp = open('6.18', KVM_X86_SNP_VM);
  t.same(['KVM_CAP_SYNC_REGS', 'KVM_CAP_READONLY_MEM', 'KVM_CAP_X86_SMM', 'KVM_CAP_MULTI_ADDRESS_SPACE'].map((n) => snp.check(snp.vm, n)), [0, 0, 0, 1],
    'protected state: no sync regs, no read-only memory, no SMM, one address space');
  t.equal(snp.check(snp.kvm, 'KVM_CAP_SYNC_REGS'), 7, 'system scope is not the VM\'s');
  const split = open();
  t.equal(split.enable('KVM_CAP_SPLIT_IRQCHIP', [24n]).ret, 0);
  t.equal(split.check(split.vm, 'KVM_CAP_X2APIC_API'), 15, 'a split irqchip offers ENABLE_SUPPRESS_EOI_BROADCAST');
});

/** [cap, args, flags, errno after a fresh VM (0 = accepted)]. */
const ENABLE: readonly [string, bigint[], number, number][] = [
  ['KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2', [3n], 0, 0], ['KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2', [2n], 0, EINVAL],
  ['KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2', [1n], 1, EINVAL],
  ['KVM_CAP_HALT_POLL', [200000n], 0, 0], ['KVM_CAP_HALT_POLL', [1n << 32n], 0, EINVAL],
  ['KVM_CAP_DIRTY_LOG_RING', [65536n], 0, 0], ['KVM_CAP_DIRTY_LOG_RING', [65536n], 1, 0],
  ['KVM_CAP_DIRTY_LOG_RING', [3000n], 0, EINVAL], ['KVM_CAP_DIRTY_LOG_RING', [2048n], 0, EINVAL],
  ['KVM_CAP_DIRTY_LOG_RING_ACQ_REL', [1n << 21n], 0, E2BIG], ['KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP', [0n], 0, EINVAL],
  ['KVM_CAP_DISABLE_QUIRKS2', [1n], 0, 0], ['KVM_CAP_DISABLE_QUIRKS2', [1n << 9n], 0, EINVAL], ['KVM_CAP_DISABLE_QUIRKS', [~0n & 0xffffn], 0, 0],
  ['KVM_CAP_SPLIT_IRQCHIP', [24n], 0, 0], ['KVM_CAP_SPLIT_IRQCHIP', [4097n], 0, EINVAL],
  ['KVM_CAP_X2APIC_API', [3n], 0, 0], ['KVM_CAP_X2APIC_API', [8n], 0, 0], ['KVM_CAP_X2APIC_API', [4n], 0, EINVAL],
  ['KVM_CAP_X2APIC_API', [16n], 0, EINVAL],
  ['KVM_CAP_X86_DISABLE_EXITS', [14n], 0, 0], ['KVM_CAP_X86_DISABLE_EXITS', [1n], 0, EINVAL],
  ['KVM_CAP_MSR_PLATFORM_INFO', [1n], 0, 0], ['KVM_CAP_EXCEPTION_PAYLOAD', [1n], 0, 0], ['KVM_CAP_X86_TRIPLE_FAULT_EVENT', [1n], 0, 0],
  ['KVM_CAP_X86_USER_SPACE_MSR', [7n], 0, 0], ['KVM_CAP_X86_USER_SPACE_MSR', [8n], 0, EINVAL],
  ['KVM_CAP_X86_BUS_LOCK_EXIT', [2n], 0, 0], ['KVM_CAP_X86_BUS_LOCK_EXIT', [3n], 0, EINVAL],
  ['KVM_CAP_EXIT_HYPERCALL', [1n << 12n], 0, 0], ['KVM_CAP_EXIT_HYPERCALL', [1n], 0, EINVAL], ['KVM_CAP_EXIT_HYPERCALL', [1n << 12n], 1, EINVAL],
  ['KVM_CAP_EXIT_ON_EMULATION_FAILURE', [1n], 0, 0], ['KVM_CAP_EXIT_ON_EMULATION_FAILURE', [2n], 0, EINVAL],
  ['KVM_CAP_PMU_CAPABILITY', [1n], 0, 0], ['KVM_CAP_PMU_CAPABILITY', [2n], 0, EINVAL],
  ['KVM_CAP_MAX_VCPU_ID', [16n], 0, 0], ['KVM_CAP_MAX_VCPU_ID', [16385n], 0, EINVAL],
  ['KVM_CAP_X86_NOTIFY_VMEXIT', [1n], 0, EINVAL],
  ['KVM_CAP_VM_DISABLE_NX_HUGE_PAGES', [0n], 0, 0], ['KVM_CAP_VM_DISABLE_NX_HUGE_PAGES', [1n], 0, EINVAL],
  ['KVM_CAP_X86_APIC_BUS_CYCLES_NS', [1n], 0, ENXIO], ['KVM_CAP_X86_APIC_BUS_CYCLES_NS', [0n], 0, EINVAL],
  ['KVM_CAP_MEMORY_FAULT_INFO', [1n], 0, EINVAL], ['KVM_CAP_IRQCHIP', [0n], 0, EINVAL], ['KVM_CAP_S390_USER_SIGP', [0n], 0, EINVAL],
];

t.test('KVM_ENABLE_CAP on a fresh VM accepts what a 6.18 host accepts', async (t) => {
  for (const [name, args, flags, errno] of ENABLE) {
    const r = open().enable(name, args, flags);
    t.same(r, errno ? { ret: -1, errno } : { ret: 0, errno: 0 }, `${name}(${args.join(', ')}${flags ? `, flags ${flags}` : ''})`);
  }
});

t.test('KVM_ENABLE_CAP: state and ordering rules', async (t) => {
  let e = open();
  t.equal(e.enable('KVM_CAP_DIRTY_LOG_RING', [65536n]).ret, 0);
  t.equal(e.enable('KVM_CAP_DIRTY_LOG_RING', [65536n]).errno, EINVAL, 'the ring is set once');
  e = open();
  t.equal(e.b.ioctl(e.vm, KVM_CREATE_IRQCHIP, 0).ret, 0);
  t.equal(e.enable('KVM_CAP_SPLIT_IRQCHIP', [24n]).errno, EEXIST, 'an in-kernel irqchip already');
  t.equal(e.enable('KVM_CAP_X86_APIC_BUS_CYCLES_NS', [4n]).ret, 0, 'with an in-kernel LAPIC');
  t.equal(e.enable('KVM_CAP_X86_APIC_BUS_CYCLES_NS', [((1n << 64n) - 1n) / (0xffffffffn * 128n) + 1n]).errno, EINVAL, 'would overflow tmict_to_ns()');
  e = open();
  t.equal(e.enable('KVM_CAP_SPLIT_IRQCHIP', [24n]).ret, 0);
  t.equal(e.enable('KVM_CAP_X2APIC_API', [4n]).ret, 0, 'ENABLE_SUPPRESS_EOI_BROADCAST with a split irqchip');
  t.equal(e.enable('KVM_CAP_X2APIC_API', [12n]).errno, EINVAL, 'ENABLE and DISABLE together');
  t.equal(e.b.ioctl(e.vm, KVM_CREATE_VCPU, 0).ret > 0, true);
  for (const n of ['KVM_CAP_PMU_CAPABILITY', 'KVM_CAP_VM_DISABLE_NX_HUGE_PAGES', 'KVM_CAP_X86_APIC_BUS_CYCLES_NS']) {
    t.equal(e.enable(n, n === 'KVM_CAP_X86_APIC_BUS_CYCLES_NS' ? [4n] : [0n]).errno, EINVAL, `${n} after a vCPU`);
  }
  t.equal(e.enable('KVM_CAP_SPLIT_IRQCHIP', [24n]).errno, EEXIST, 'split irqchip after a vCPU');
  t.equal(e.enable('KVM_CAP_DIRTY_LOG_RING', [65536n]).errno, EINVAL, 'dirty ring after a vCPU');
  t.equal(e.enable('KVM_CAP_MAX_VCPU_ID', [BigInt(KVM_MAX_VCPU_IDS)]).ret, 0, 'the first vCPU fixed max_vcpu_ids at KVM_MAX_VCPU_IDS: the same value is fine');
  t.equal(e.enable('KVM_CAP_MAX_VCPU_ID', [8n]).errno, EINVAL, 'a different one is not');
});

t.test('vCPU limits: ids past KVM_MAX_VCPU_IDS or max_vcpu_ids, and the KVM_MAX_VCPUS-th vCPU', async (t) => {
  const e = open();
  t.same(e.b.ioctl(e.vm, KVM_CREATE_VCPU, KVM_MAX_VCPU_IDS), { ret: -1, errno: EINVAL }, 'id == KVM_MAX_VCPU_IDS');
  t.same(e.b.ioctl(e.vm, KVM_CREATE_VCPU, -1), { ret: -1, errno: EINVAL }, 'an unsigned long past INT_MAX');
  t.equal(e.enable('KVM_CAP_MAX_VCPU_ID', [2n]).ret, 0);
  t.same(e.b.ioctl(e.vm, KVM_CREATE_VCPU, 2), { ret: -1, errno: EINVAL }, 'id == max_vcpu_ids (kvm_arch_vcpu_precreate())');
  t.ok(e.b.ioctl(e.vm, KVM_CREATE_VCPU, 1).ret > 0);
  t.same(e.b.ioctl(e.vm, KVM_CREATE_VCPU, 1), { ret: -1, errno: EEXIST });

  const m = open();
  for (let id = 0; id < KVM_MAX_VCPUS; id++) {
    const r = m.b.ioctl(m.vm, KVM_CREATE_VCPU, id);
    if (r.ret < 0) { t.fail(`vCPU ${id}: errno ${r.errno}`); break; }
  }
  t.same(m.b.ioctl(m.vm, KVM_CREATE_VCPU, KVM_MAX_VCPUS), { ret: -1, errno: EINVAL }, 'created_vcpus == max_vcpus');
});
