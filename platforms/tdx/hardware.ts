/**
 * TDX's [H] parameters (platforms/README.md) and the manifest fields that
 * follow from them: the shared bit from the GPAW, the wrong-state and host
 * read outcomes from the behaviour they select.
 */
import { Type, type Static } from '@sinclair/typebox';
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { DerivedFactsOf } from '../../lib/platform/types.js';

export const TdxHardware = hardwareSchema({
  gpaw: Type.Union([Type.Literal(48), Type.Literal(52)], {
    default: 48,
    description: 'guest physical address width; the shared bit is gpaw-1. The TDX module takes only 48 (4-level EPT) and 52 (5-level); '
      + 'the default INIT_VM of vmPostCreate() carries no CPUID leaf 0x80000008, so this applies; a test\'s own INIT_VM CPUID overrides it',
  }),
  mapGpaChunkBytes: Type.Integer({ minimum: 4096, default: 0x200000, description: 'MapGPA chunk between interrupt checks, in bytes' }),
  pendingAccess: Type.Union([Type.Literal('vm-dead'), Type.Literal('memory-fault-size0')], {
    default: 'vm-dead',
    description: 'a private access before ACCEPT: the TD is killed (6.16), or KVM_EXIT_MEMORY_FAULT with size 0',
  }),
  hostRead: Type.Union([Type.Literal('zeros'), Type.Literal('plaintext')], {
    default: 'zeros',
    description: 'what a non-TD read of a private line returns',
  }),
  populateRules: Type.Optional(Type.Union([Type.Literal('6.11'), Type.Literal('7.0')], {
    description: 'kvm_gmem_populate() rules; unset: the kernel profile\'s. 7.0: aligned sources, no prepared tracking',
  })),
});
export type TdxHardware = Static<typeof TdxHardware>;

export const tdxDerived: DerivedFactsOf<TdxHardware> = {
  // TDX module spec: the shared bit is GPA bit GPAW-1 (GPAW 48 → bit 47, 52 → bit 51).
  '/marker/bit': { from: 'gpaw', rule: 'gpaw - 1', value: (hw) => hw.gpaw - 1 },
  '/wrongState/unaccepted': { from: 'pendingAccess', rule: 'pendingAccess', value: (hw) => hw.pendingAccess },
  '/hostAccess/read': { from: 'hostRead', rule: 'hostRead', value: (hw) => hw.hostRead },
};
