/** Arm CCA realms (lib/platform/types.ts, PlatformDefinition). */
import type { PlatformDefinition } from '../../lib/platform/types.js';
import { ccaConversion } from './conversion.js';
import manifest from './manifest.json' with { type: 'json' };
import { CcaHardware, ccaDerived } from './hardware.js';
import { createCcaModel } from './model.js';

export const cca: PlatformDefinition<'cca', typeof CcaHardware> = {
  name: 'cca',
  manifest,
  manifestFile: 'platforms/cca/manifest.json',
  hardware: CcaHardware,
  derived: ccaDerived,
  model: (hw) => createCcaModel(hw),
  conversion: () => ccaConversion,
};
