/** SEV: the platform as one value (lib/platform/types.ts, PlatformDefinition). */
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };
import { SevHardware, sevDerived } from './hardware.js';
import { createSevModel } from './model.js';
import { sevLaunchMinimal, sevPostCreate } from './steps.js';

export const sev: PlatformDefinition<'sev', typeof SevHardware> = {
  name: 'sev',
  manifest,
  manifestFile: 'platforms/sev/manifest.json',
  hardware: SevHardware,
  derived: sevDerived,
  model: (hw) => createSevModel('sev', hw),
  postCreate: sevPostCreate,
  launchMinimal: sevLaunchMinimal(false),
};
