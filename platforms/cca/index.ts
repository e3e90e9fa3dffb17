/** Arm CCA realms (lib/platform/types.ts, PlatformDefinition). */
import type { PlatformDefinition } from '../../lib/platform/types.js';
import { ccaConversion } from './conversion.js';
import manifest from './manifest.json' with { type: 'json' };
import { createCcaModel } from './model.js';

export const cca: PlatformDefinition<'cca'> = {
  name: 'cca',
  manifest,
  manifestFile: 'platforms/cca/manifest.json',
  model: (_m, hw) => createCcaModel(hw),
  conversion: () => ccaConversion,
};
