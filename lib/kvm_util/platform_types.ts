/**
 * KSFT_PLATFORM names and the VM type each one creates, from the platforms'
 * own list (platforms/index.ts), which kvm_util registers with the loader
 * here: every selftest reaches the loader through kvm_util, so this is the
 * entry point that makes the built-ins loadable by name.
 */
import { PLATFORMS } from '../../platforms/index.js';
import { definitionManifest } from '../platform/loader.js';
import { registerPlatforms } from '../platform/registry.js';

registerPlatforms(PLATFORMS);

/** A built-in platform's name. */
export type PlatformName = (typeof PLATFORMS)[number]['name'];
/** The built-in platform plugins, by KSFT_PLATFORM name, in platforms/index.ts order. */
export const PLATFORM_NAMES: readonly PlatformName[] = PLATFORMS.map((p) => p.name);

/** A VM type as tests name it: its number and its uAPI macro. */
export interface PlatformVmType {
  readonly type: number;
  /** The uAPI macro name, for TEST_REQUIRE texts: `KVM_X86_SW_PROTECTED_VM`. */
  readonly macro: string;
}

/** Each built-in platform's VM type and its uAPI macro name (for skip texts), from its manifest. */
export const PLATFORM_VM_TYPES: Readonly<Record<PlatformName, PlatformVmType>> = Object.fromEntries(PLATFORMS.map((p) => {
  const m = definitionManifest(p);
  return [p.name, { type: m.vmType, macro: m.vmTypeName }];
})) as Record<PlatformName, PlatformVmType>;
