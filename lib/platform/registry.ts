/**
 * The platforms the loader knows, by behaviour name. lib/platform names no
 * platform itself: an entry point registers the list of platforms/index.ts
 * (kvm_util does, lib/kvm_util/platform_types.ts), and a test may register
 * a throwaway platform of its own the same way.
 */
import type { PlatformDefinition } from './types.js';

const DEFINITIONS = new Map<string, PlatformDefinition>();

/** Make these platforms loadable by name; a name registered again is replaced. */
export function registerPlatforms(defs: readonly PlatformDefinition[]): void {
  for (const d of defs) DEFINITIONS.set(d.name, d);
}

/** Forget a platform registered by a test. */
export function unregisterPlatform(name: string): void {
  DEFINITIONS.delete(name);
}

/** The platform registered under `name`. */
export function platformDefinition(name: string): PlatformDefinition | undefined {
  return DEFINITIONS.get(name);
}

/** Every registered platform, in registration order. */
export function platformDefinitions(): readonly PlatformDefinition[] {
  return [...DEFINITIONS.values()];
}
