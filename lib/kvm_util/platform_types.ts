/**
 * KSFT_PLATFORM names and the VM type each one creates, from the platforms'
 * own list (platforms/index.ts), which kvm_util registers here: with the
 * loader, so the built-ins load by name, and with the model, so every model
 * backend accepts their VM types with their behaviour. Every selftest
 * reaches both through kvm_util, so this is the entry point; neither
 * lib/platform nor lib/kvm names a platform.
 */
import { PLATFORMS } from '../../platforms/index.js';
import { registerModelPlatformSource } from '../kvm/model/platform.js';
import { builtinPlatforms } from '../platform/loader.js';
import { registerPlatforms } from '../platform/registry.js';

registerPlatforms(PLATFORMS);
// Every registered platform (a test's throwaway one too), built afresh for each backend.
registerModelPlatformSource(() => builtinPlatforms().map((p) => [p.vmType, p.model] as const));

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

