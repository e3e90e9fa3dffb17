/** SEV-ES: SEV's behaviour with encrypted register state (lib/platform/types.ts, PlatformDefinition). */
import type { PlatformDefinition } from '../../lib/platform/types.js';
import { SevHardware, sevDerived } from '../sev/hardware.js';
import { createSevModel } from '../sev/model.js';
import { sevLaunchMinimal, sevPostCreate } from '../sev/steps.js';
import manifest from './manifest.json' with { type: 'json' };

export const sevEs: PlatformDefinition<'sev_es', typeof SevHardware> = {
  name: 'sev_es',
  manifest,
  manifestFile: 'platforms/sev_es/manifest.json',
  hardware: SevHardware,
  derived: sevDerived,
  model: (hw) => createSevModel('sev_es', hw),
  postCreate: sevPostCreate,
  launchMinimal: sevLaunchMinimal(true),
};
