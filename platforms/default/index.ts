/** KVM_X86_DEFAULT_VM: no private memory (lib/platform/types.ts, PlatformDefinition). */
import { defaultPlatform } from '../../lib/kvm/model/builtin_platforms.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };

export const defaultVm: PlatformDefinition<'default'> = {
  name: 'default',
  manifest,
  manifestFile: 'platforms/default/manifest.json',
  model: () => defaultPlatform,
};
