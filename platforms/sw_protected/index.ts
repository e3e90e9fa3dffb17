/** KVM_X86_SW_PROTECTED_VM: the attribute is the truth (lib/platform/types.ts, PlatformDefinition). */
import { swProtectedPlatform } from '../../lib/kvm/model/builtin_platforms.js';
import { rawMapGpaRangeConversion } from '../../lib/platform/conversions.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };

export const swProtected: PlatformDefinition<'sw_protected'> = {
  name: 'sw_protected',
  manifest,
  manifestFile: 'platforms/sw_protected/manifest.json',
  model: () => swProtectedPlatform,
  conversion: () => rawMapGpaRangeConversion,
};
