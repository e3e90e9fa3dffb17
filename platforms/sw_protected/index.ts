/** KVM_X86_SW_PROTECTED_VM: the attribute is the truth (lib/platform/types.ts, PlatformDefinition). */
import { rawMapGpaRangeConversion } from '../../lib/platform/conversions.js';
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };
import { swProtectedModel } from './model.js';

const SwProtectedHardware = hardwareSchema({});

export const swProtected: PlatformDefinition<'sw_protected', typeof SwProtectedHardware> = {
  name: 'sw_protected',
  manifest,
  manifestFile: 'platforms/sw_protected/manifest.json',
  hardware: SwProtectedHardware,
  model: () => swProtectedModel,
  conversion: () => rawMapGpaRangeConversion,
};
