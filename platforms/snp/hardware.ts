/**
 * SEV-SNP's [H] parameters (platforms/README.md) and the manifest fields
 * that follow from them: the C-bit, and what a host read of a guest-owned
 * page returns.
 */
import { Type, type Static } from '@sinclair/typebox';
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { DerivedFactsOf } from '../../lib/platform/types.js';
import { cbit, cbitDerived, vmsaFeatures } from '../sev/hardware.js';

export const SnpHardware = hardwareSchema({
  cbit,
  hostRead: Type.Union([Type.Literal('ciphertext'), Type.Literal('plaintext')], {
    default: 'ciphertext',
    description: 'what a host read of a guest-owned page returns',
  }),
  largeFolios: Type.Boolean({ default: false, description: '2M RMP entries for uniform 2M private ranges' }),
  populateBatchPages: Type.Integer({ minimum: 0, default: 0, description: 'pages per SNP_LAUNCH_UPDATE before -EAGAIN (0: all)' }),
  populateRules: Type.Optional(Type.Union([Type.Literal('6.11'), Type.Literal('7.0')], {
    description: 'kvm_gmem_populate() rules; unset: the kernel profile\'s. 7.0: aligned sources, no prepared tracking',
  })),
  vmsaFeatures,
});
export type SnpHardware = Static<typeof SnpHardware>;

export const snpDerived: DerivedFactsOf<SnpHardware> = {
  '/marker/bit': cbitDerived,
  '/hostAccess/read': { from: 'hostRead', rule: 'hostRead', value: (hw) => hw.hostRead },
};
