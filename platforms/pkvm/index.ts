/** pKVM protected VMs (lib/platform/types.ts, PlatformDefinition). */
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };
import { PkvmHardware, pkvmDerived } from './hardware.js';
import { createPkvmModel } from './model.js';

export const pkvm: PlatformDefinition<'pkvm', typeof PkvmHardware> = {
  name: 'pkvm',
  manifest,
  manifestFile: 'platforms/pkvm/manifest.json',
  hardware: PkvmHardware,
  derived: pkvmDerived,
  model: (hw) => createPkvmModel(hw),
};
