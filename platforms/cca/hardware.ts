/**
 * Arm CCA's [H] parameter (platforms/README.md): the realm's IPA width,
 * whose top bit the manifest's marker is.
 */
import { Type, type Static } from '@sinclair/typebox';
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { DerivedFactsOf } from '../../lib/platform/types.js';

export const CcaHardware = hardwareSchema({
  ipaBits: Type.Integer({ minimum: 32, maximum: 52, default: 48, description: 'IPA width (RSI_REALM_CONFIG ia_bits); the top bit selects the unprotected alias' }),
});
export type CcaHardware = Static<typeof CcaHardware>;

export const ccaDerived: DerivedFactsOf<CcaHardware> = {
  // BIT(ia_bits - 1) is the unprotected (shared) alias.
  '/marker/bit': { from: 'ipaBits', rule: 'ipaBits - 1', value: (hw) => hw.ipaBits - 1 },
};
