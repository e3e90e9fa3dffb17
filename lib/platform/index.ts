/**
 * Platform plugins: the interface (types.ts), the manifest schema
 * (manifest.ts), validation (validate.ts) and the loader (loader.ts), plus
 * registration of the plugins' model behaviour with a model backend.
 *
 * This layer sits below kvm_util (lib/README.md): kvm_util builds VMs of a
 * platform from these facts, and nothing here imports kvm_util, so a hook
 * that acts on a VM takes a PlatformVmFd, and the helpers that assert
 * (cocoVmCreate, runToUcall, host access) live in lib/kvm_util.
 */
import type { ModelPlatform } from '../kvm/model/platform.js';
import { builtinPlatforms } from './loader.js';
import type { PlatformPlugin } from './types.js';

export { loadPlatform, loadPlatformOrExit, isPluginPath, builtinPlatforms, buildPlugin, PlatformLoadError, type LoadOptions } from './loader.js';
export { ManifestError, validateManifest, parseManifest, describeSchema } from './validate.js';
export { probePlatform } from './probe.js';
export { postCreateCommand, takesInKernelIrqchip, vmPostCreate } from './launch_minimal.js';
export { PlatformManifest, type HardwareParams, type BehaviourName } from './manifest.js';
export type { PlatformPlugin, GuestConversion, ConversionProtocol, ConversionRequest, PlatformOpSink, HostAccessResult, PlatformVmFd } from './types.js';
export { UCALL_CONVERSION_NOTE, conversionNote } from './conversions.js';

/** Anything platforms can be registered with: a PlatformRegistry, or a model backend's registerPlatform. */
export interface PlatformRegistrar {
  register(type: number, platform: ModelPlatform): void;
}

/** Register the model behaviour of these plugins (default: all eight built-ins) by VM type. */
export function registerPlatformModels(reg: PlatformRegistrar, plugins: readonly PlatformPlugin[] = builtinPlatforms()): void {
  for (const p of plugins) reg.register(p.vmType, p.model);
}
