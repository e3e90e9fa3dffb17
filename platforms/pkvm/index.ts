/** pKVM protected VMs (lib/platform/types.ts, PlatformDefinition). */
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };
import { createPkvmModel } from './model.js';

export const pkvm: PlatformDefinition<'pkvm'> = {
  name: 'pkvm',
  manifest,
  manifestFile: 'platforms/pkvm/manifest.json',
  model: (_m, hw) => createPkvmModel(hw),
};
