/**
 * sev_init2_tests on the model (reference/kselftest.md §4.7, checklist item
 * 57): KVM_SEV_INIT2 through KVM_MEMORY_ENCRYPT_OP, each case on a fresh VM
 * without vCPUs (vm_create_barebones_type(); __sev_guest_init() refuses a VM
 * that already has vCPUs).
 *
 * - an empty struct on SEV, SEV-ES and SNP VMs → 0;
 * - a default or SW_PROTECTED VM → EINVAL (sev_guest_init2(): not an SEV type);
 * - each of the 32 `flags` bits → EINVAL (no flags are defined);
 * - each `vmsa_features` bit outside what /dev/kvm reports in
 *   KVM_X86_GRP_SEV/KVM_X86_SEV_VMSA_FEATURES → EINVAL (all 64 on plain SEV);
 * - a supported, known feature (DEBUG_SWAP, bit 5) on SEV-ES and SNP → 0;
 * - an empty struct once KVM_CREATE_VCPU has run → EINVAL on every SEV type
 *   (__sev_guest_init(): kvm->created_vcpus), which is why kvm_util issues
 *   INIT2 in its post-create step, before any vCPU; the legacy KVM_SEV_INIT
 *   and KVM_SEV_ES_INIT on a default VM with a vCPU → EINVAL likewise.
 */
import { EINVAL, ENOTTY } from '../../../lib/kvm/errno.js';
import { KVM_X86_DEFAULT_VM } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_NE, SKIP, TEST, TEST_HARNESS_MAIN, TH_LOG } from '../../../lib/harness/index.js';
import { kvmBackend, kvmVmFree, requireModel, vmCreateBarebonesType, vmVcpuAdd } from '../../../lib/kvm_util/index.js';
import type { HardwareParams } from '../../../lib/platform/manifest.js';
import { usePlatform } from '../../../lib/kvm_util/coco.js';
import { __sevIoctl, kvmSevSupportedVmsaFeatures } from '../../../platforms/sev/host.js';
import {
  KVM_SEV_ES_INIT, KVM_SEV_INIT, KVM_SEV_INIT2, KVM_SEV_LAUNCH_START, KVM_SEV_SNP_LAUNCH_START, SEV_POLICY_ES, SVM_SEV_FEAT_DEBUG_SWAP, encodeSevInit, encodeSevLaunchStart,
} from '../../../platforms/sev/uapi.js';
import { SNP_POLICY_DEFAULT } from '../../../platforms/snp/host.js';
import { encodeSnpLaunchStart } from '../../../platforms/snp/uapi.js';

type SevType = 'sev' | 'sev_es' | 'snp';
const SEV_TYPES: readonly SevType[] = ['sev', 'sev_es', 'snp'];

/** Features the test knows how to turn on without more setup (KNOWN_FEATURES in sev_init2_tests). */
const KNOWN_FEATURES = SVM_SEV_FEAT_DEBUG_SWAP;

/** TEST_REQUIRE(__kvm_has_device_attr(kvm_fd, KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES) == 0), then the value. */
function supportedVmsaFeatures(): bigint {
  const v = kvmSevSupportedVmsaFeatures();
  if (v === null) SKIP('%s', 'Requirement not met: __kvm_has_device_attr(KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES) == 0');
  return v;
}

/** KVM_SEV_INIT2 with `init` on a fresh VM of platform `name`; returns the errno (0 on success). */
function init2(name: string, init: { vmsaFeatures?: bigint; flags?: number } = {}, hardware?: HardwareParams): number {
  const plugin = usePlatform(name, hardware);
  const vm = vmCreateBarebonesType(plugin.vmType);
  try {
    const r = __sevIoctl(vm, KVM_SEV_INIT2, encodeSevInit(init));
    ASSERT_EQ(r.ret === 0 ? 0 : -1, r.ret);
    return r.ret === 0 ? 0 : r.errno;
  } finally {
    kvmVmFree(vm);
  }
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

for (const t of SEV_TYPES) {
  TEST(`item_57_init2_${t}_empty_struct`, () => {
    // test_vm_types(): test_init2(type, &(struct kvm_sev_init){}).
    ASSERT_EQ(init2(t), 0);
  });

  TEST(`item_57_init2_${t}_each_flags_bit`, () => {
    // test_flags(): no flag is defined, so every one of the 32 bits is refused.
    for (let bit = 0; bit < 32; bit++) {
      const e = init2(t, { flags: (1 << bit) >>> 0 });
      if (e !== EINVAL) TH_LOG(`flags bit ${bit}: errno ${e}`);
      ASSERT_EQ(e, EINVAL);
    }
  });

  TEST(`item_57_init2_${t}_each_unsupported_vmsa_feature`, () => {
    // test_features(): plain SEV has no VMSA (supported = 0); SEV-ES and SNP
    // take what KVM_X86_SEV_VMSA_FEATURES reports.
    const reported = supportedVmsaFeatures();
    const supported = t === 'sev' ? 0n : reported;
    TH_LOG(`KVM_X86_SEV_VMSA_FEATURES ${hex(reported)}, ${t} accepts ${hex(supported)}`);
    let refused = 0;
    for (let bit = 0n; bit < 64n; bit++) {
      const f = 1n << bit;
      if (supported & f) continue;
      const e = init2(t, { vmsaFeatures: f });
      if (e !== EINVAL) TH_LOG(`vmsa_features bit ${bit}: errno ${e}`);
      ASSERT_EQ(e, EINVAL);
      refused++;
    }
    ASSERT_NE(refused, 0);
  });
}

TEST('item_57_init2_after_vcpu_creation_refused', () => {
  // __sev_guest_init() checks kvm->created_vcpus before anything in the
  // struct: the same empty struct that initialises a fresh VM is refused
  // once the VM has a vCPU, on every SEV type, and the VM stays
  // uninitialised: the first launch command finds no SEV guest
  // (sev_launch_start(), snp_launch_start(): -ENOTTY).
  for (const t of SEV_TYPES) {
    const vm = vmCreateBarebonesType(usePlatform(t).vmType);
    try {
      vmVcpuAdd(vm, 0);
      const r = __sevIoctl(vm, KVM_SEV_INIT2, encodeSevInit());
      if (r.ret !== -1 || r.errno !== EINVAL) TH_LOG(`${t}: INIT2 after KVM_CREATE_VCPU returned ${r.ret}, errno ${r.errno}`);
      ASSERT_EQ(r.ret, -1);
      ASSERT_EQ(r.errno, EINVAL);
      const start = t === 'snp'
        ? __sevIoctl(vm, KVM_SEV_SNP_LAUNCH_START, encodeSnpLaunchStart(SNP_POLICY_DEFAULT))
        : __sevIoctl(vm, KVM_SEV_LAUNCH_START, encodeSevLaunchStart({ policy: t === 'sev_es' ? SEV_POLICY_ES : 0 }));
      ASSERT_EQ(start.ret, -1);
      ASSERT_EQ(start.errno, ENOTTY);
    } finally {
      kvmVmFree(vm);
    }
    // The control: the same request on a VM without vCPUs is accepted.
    ASSERT_EQ(init2(t), 0);
  }
});

TEST('legacy_sev_init_after_vcpu_creation_refused', () => {
  // The legacy KVM_SEV_INIT / KVM_SEV_ES_INIT (sev_guest_init(), argument
  // NULL as in the selftests' sev_vm_init()) take only a default VM, and
  // __sev_guest_init() refuses it once it has a vCPU.
  usePlatform('sev');
  for (const id of [KVM_SEV_INIT, KVM_SEV_ES_INIT]) {
    const vm = vmCreateBarebonesType(KVM_X86_DEFAULT_VM);
    try {
      vmVcpuAdd(vm, 0);
      const r = __sevIoctl(vm, id, new Uint8Array(0));
      ASSERT_EQ(r.ret, -1);
      ASSERT_EQ(r.errno, EINVAL);
    } finally {
      kvmVmFree(vm);
    }
  }
});

for (const t of ['sev_es', 'snp'] as const) {
  TEST(`item_57_init2_${t}_supported_debug_swap`, () => {
    // test_features(): a supported feature the test knows (DEBUG_SWAP) is accepted.
    const supported = supportedVmsaFeatures();
    if (!(supported & KNOWN_FEATURES & SVM_SEV_FEAT_DEBUG_SWAP)) SKIP('%s', `DEBUG_SWAP not in KVM_X86_SEV_VMSA_FEATURES (${hex(supported)})`);
    ASSERT_EQ(init2(t, { vmsaFeatures: SVM_SEV_FEAT_DEBUG_SWAP }), 0);
  });
}

TEST('item_57_init2_plain_sev_refuses_debug_swap', () => {
  // valid_vmsa_features is 0 without a protected VMSA, whatever the part supports.
  ASSERT_EQ(init2('sev', { vmsaFeatures: SVM_SEV_FEAT_DEBUG_SWAP }), EINVAL);
});

TEST('item_57_init2_sev_es_debug_swap_on_a_part_without_it', () => {
  // [H] sev_supported_vmsa_features lacks DEBUG_SWAP (no DebugSwap CPUID bit,
  // or kvm_amd.debug_swap=0): the same request is refused. Model-only, as
  // the part's features come from the plugin's hardware parameters.
  requireModel('the VMSA features of the part');
  ASSERT_EQ(init2('sev_es', { vmsaFeatures: SVM_SEV_FEAT_DEBUG_SWAP }, { vmsaFeatures: 0 }), EINVAL);
  ASSERT_EQ(init2('sev_es', {}, { vmsaFeatures: 0 }), 0);
});

TEST('item_57_init2_on_default_vm', () => {
  // sev_guest_init2() accepts only the SEV types: a default VM → EINVAL.
  ASSERT_EQ(init2('default'), EINVAL);
});

TEST('item_57_init2_on_sw_protected_vm', () => {
  ASSERT_EQ(init2('sw_protected'), EINVAL);
});

void TEST_HARNESS_MAIN();
