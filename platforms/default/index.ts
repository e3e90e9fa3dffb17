/** KVM_X86_DEFAULT_VM: no private memory (lib/platform/types.ts, PlatformDefinition). */
import { hardwareSchema } from '../../lib/platform/manifest.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import manifest from './manifest.json' with { type: 'json' };
import { defaultModel } from './model.js';

const DefaultHardware = hardwareSchema({});

export const defaultVm: PlatformDefinition<'default', typeof DefaultHardware> = {
  name: 'default',
  manifest,
  manifestFile: 'platforms/default/manifest.json',
  hardware: DefaultHardware,
  model: () => defaultModel,
};
