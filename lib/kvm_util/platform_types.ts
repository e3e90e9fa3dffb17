/**
 * KSFT_PLATFORM names and the VM type each one creates. The x86 numbers are
 * arch/x86/include/uapi/asm/kvm.h; pKVM and CCA use their series' arm64
 * machine-type bits. Platform plugins read the same table.
 */
import {
  KVM_VM_TYPE_ARM_PROTECTED, KVM_VM_TYPE_ARM_REALM, KVM_X86_DEFAULT_VM, KVM_X86_SEV_ES_VM, KVM_X86_SEV_VM,
  KVM_X86_SNP_VM, KVM_X86_SW_PROTECTED_VM, KVM_X86_TDX_VM,
} from '../kvm/uapi.js';

/** The built-in platform plugins, by KSFT_PLATFORM name. */
export const PLATFORM_NAMES = ['default', 'sw_protected', 'sev', 'sev_es', 'snp', 'tdx', 'pkvm', 'cca'] as const;
/** A built-in platform's name. */
export type PlatformName = (typeof PLATFORM_NAMES)[number];

/** A VM type as tests name it: its number and its uAPI macro. */
export interface PlatformVmType {
  readonly type: number;
  /** The uAPI macro name, for TEST_REQUIRE texts: `KVM_X86_SW_PROTECTED_VM`. */
  readonly macro: string;
}

/** Each built-in platform's VM type and its uAPI macro name (for skip texts). */
export const PLATFORM_VM_TYPES: Readonly<Record<PlatformName, PlatformVmType>> = {
  default: { type: KVM_X86_DEFAULT_VM, macro: 'KVM_X86_DEFAULT_VM' },
  sw_protected: { type: KVM_X86_SW_PROTECTED_VM, macro: 'KVM_X86_SW_PROTECTED_VM' },
  sev: { type: KVM_X86_SEV_VM, macro: 'KVM_X86_SEV_VM' },
  sev_es: { type: KVM_X86_SEV_ES_VM, macro: 'KVM_X86_SEV_ES_VM' },
  snp: { type: KVM_X86_SNP_VM, macro: 'KVM_X86_SNP_VM' },
  tdx: { type: KVM_X86_TDX_VM, macro: 'KVM_X86_TDX_VM' },
  pkvm: { type: KVM_VM_TYPE_ARM_PROTECTED, macro: 'KVM_VM_TYPE_ARM_PROTECTED' },
  cca: { type: KVM_VM_TYPE_ARM_REALM, macro: 'KVM_VM_TYPE_ARM_REALM' },
};
