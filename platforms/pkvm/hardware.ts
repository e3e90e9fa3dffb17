/**
 * pKVM's [H] parameter (platforms/README.md): the signal the VMM takes on a
 * donated page, from which both host-access outcomes follow.
 */
import { Type, type Static } from '@sinclair/typebox';
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { DerivedFactsOf } from '../../lib/platform/types.js';

export const PkvmHardware = hardwareSchema({
  hostAccessSignal: Type.Union([Type.Literal('SIGSEGV'), Type.Literal('SIGBUS')], {
    default: 'SIGSEGV',
    description: 'what the VMM gets on a guest-owned page (the host stage-2 fault)',
  }),
});
export type PkvmHardware = Static<typeof PkvmHardware>;

const outcome = (hw: PkvmHardware): 'sigsegv' | 'sigbus' => (hw.hostAccessSignal === 'SIGBUS' ? 'sigbus' : 'sigsegv');

export const pkvmDerived: DerivedFactsOf<PkvmHardware> = {
  '/hostAccess/read': { from: 'hostAccessSignal', rule: 'the signal, lower case', value: outcome },
  '/hostAccess/write': { from: 'hostAccessSignal', rule: 'the signal, lower case', value: outcome },
};
