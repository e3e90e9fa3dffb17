/**
 * SEV's and SEV-ES's [H] parameters (platforms/README.md): the C-bit
 * position, which the manifest's marker takes, the key, and the VMSA
 * features firmware and KVM offer.
 */
import { Type, type Static } from '@sinclair/typebox';
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { DerivedFactsOf } from '../../lib/platform/types.js';

/** CPUID 0x8000001F EBX[5:0]: 47 on Naples, 51 on later parts. */
export const cbit = Type.Integer({ minimum: 32, maximum: 51, default: 51, description: 'the C-bit position (CPUID 0x8000001F EBX[5:0])' });

/**
 * sev_supported_vmsa_features: DEBUG_SWAP alone, as on a part with debug
 * swap and KVM's debug_swap parameter on.
 */
export const vmsaFeatures = Type.Integer({
  minimum: 0, default: 32,
  description: 'sev_supported_vmsa_features: what KVM_SEV_INIT2 accepts and KVM_X86_SEV_VMSA_FEATURES reports (SEV-ES and SNP; 32 = DEBUG_SWAP)',
});

export const SevHardware = hardwareSchema({
  cbit,
  keySeed: Type.Optional(Type.String({ minLength: 1, description: 'derive the VM key from this seed for reproducible ciphertext; unset: a random key' })),
  vmsaFeatures,
});
export type SevHardware = Static<typeof SevHardware>;

export const cbitDerived = { from: 'cbit', rule: 'cbit', value: (hw: { readonly cbit: number }) => hw.cbit } as const;

export const sevDerived: DerivedFactsOf<SevHardware> = { '/marker/bit': cbitDerived };
