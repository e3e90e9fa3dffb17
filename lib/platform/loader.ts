/**
 * loadPlatform(nameOrPath): a built-in plugin by name (a folder under
 * platforms/), or a user plugin by path (a folder holding manifest.json, or
 * the manifest file itself). Every manifest is validated against the typebox
 * schema; a bad one is a ManifestError whose message is one line naming the
 * file, the field and the expected type.
 *
 * A user plugin reuses a registered platform's code (`behaviour`) with its
 * own manifest and hardware parameters, which is how [H] claims are changed
 * without code. The built-ins are the platforms registered (registry.ts)
 * from platforms/index.ts; this file names none of them.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { portableConversion } from './conversions.js';
import { completeManifest } from './hardware.js';
import type { HardwareParams, ManifestFile, PlatformManifest } from './manifest.js';
import { withPoisonInjection } from './poison.js';
import { platformDefinition, platformDefinitions } from './registry.js';
import type { PlatformDefinition, PlatformPlugin } from './types.js';
import { ManifestError, parseManifest, validateManifest } from './validate.js';

/** What loadPlatform() may change in a plugin: its [H] hardware parameters. */
export interface LoadOptions {
  /** Override [H] hardware parameters (merged over the manifest's, validated as they are). */
  readonly hardware?: HardwareParams;
}

/** A plugin that cannot be loaded (no such name, no manifest at the path). */
export class PlatformLoadError extends Error {
  override name = 'PlatformLoadError';
}

const isPath = (s: string): boolean => s.includes('/') || s.startsWith('.') || s.endsWith('.json');

/**
 * A plugin from a manifest that passed the schema (`file` names it in
 * messages): its behaviour's hardware parameters are checked here, and the
 * fields they decide filled in (hardware.ts).
 */
export function buildPlugin(file: ManifestFile, path: string, opts: LoadOptions = {}): PlatformPlugin {
  const definition = platformDefinition(file.behaviour);
  if (!definition) {
    const names = platformDefinitions().map((d) => d.name).join('|');
    throw new ManifestError(path, '/behaviour', `one of ${names}`, `${path}: field /behaviour expected one of ${names}, got ${JSON.stringify(file.behaviour)}`);
  }
  const { manifest, hardware: typed } = completeManifest(file, definition, path, opts.hardware);
  const hardware = manifest.hardware;
  const protocol = manifest.conversion.generic ? definition.conversion?.(typed) : undefined;
  const conversion = protocol ? portableConversion(protocol) : null;
  const OK = { ret: 0, errno: 0 };
  return {
    name: manifest.name,
    file: path,
    manifest,
    behaviour: manifest.behaviour,
    hardware,
    vmType: manifest.vmType,
    // Every model behaviour takes memory-error injection (scenario 36) and carries the manifest's name and private-memory trait.
    model: withPoisonInjection({ ...definition.model(typed), name: manifest.name, hasPrivateMem: manifest.hasPrivateMem }),
    conversion,
    definition,
    launchMinimal: (b, vmFd, vcpuFds) => definition.launchMinimal?.(b, vmFd, vcpuFds) ?? OK,
    genericConversionSkip() {
      if (conversion) return null;
      if (!manifest.hasPrivateMem) {
        return `platform ${manifest.name}: no private memory attribute (${manifest.vmTypeName} has KVM_CAP_MEMORY_ATTRIBUTES = 0), conversion is "${manifest.conversion.call}"`;
      }
      return `platform ${manifest.name}: conversion "${manifest.conversion.call}" does not reach the VMM as KVM_HC_MAP_GPA_RANGE or KVM_EXIT_MEMORY_FAULT`;
    },
  };
}

function loadFromPath(p: string, opts: LoadOptions): PlatformPlugin {
  let file = p;
  if (existsSync(p) && statSync(p).isDirectory()) file = join(p, 'manifest.json');
  if (!existsSync(file)) throw new PlatformLoadError(`${file}: no such platform manifest`);
  return buildPlugin(parseManifest(readFileSync(file, 'utf8'), file), file, opts);
}

/** The validated plugin for a built-in name or a path; throws ManifestError / PlatformLoadError. */
export function loadPlatform(nameOrPath: string, opts: LoadOptions = {}): PlatformPlugin {
  const builtin = platformDefinition(nameOrPath);
  if (builtin) return buildPlugin(definitionFile(builtin), builtin.manifestFile, opts);
  if (isPath(nameOrPath)) return loadFromPath(nameOrPath, opts);
  const names = platformDefinitions().map((d) => d.name).join('|');
  throw new PlatformLoadError(`unknown platform '${nameOrPath}' (expected one of ${names}, or a path to a plugin folder)`);
}

const FILES = new WeakMap<PlatformDefinition, ManifestFile>();
const MANIFESTS = new WeakMap<PlatformDefinition, PlatformManifest>();

/** A registered platform's own manifest file, validated once. */
function definitionFile(d: PlatformDefinition): ManifestFile {
  let m = FILES.get(d);
  if (!m) {
    m = validateManifest(d.manifest, d.manifestFile);
    FILES.set(d, m);
  }
  return m;
}

/** A registered platform's own manifest as loaded: derived fields filled in from the default hardware. */
export function definitionManifest(d: PlatformDefinition): PlatformManifest {
  let m = MANIFESTS.get(d);
  if (!m) {
    m = completeManifest(definitionFile(d), d, d.manifestFile).manifest;
    MANIFESTS.set(d, m);
  }
  return m;
}

/** The registered platform whose VMs have this type (the first, if plugins share one). */
export function definitionForVmType(vmType: number): PlatformDefinition | undefined {
  return platformDefinitions().find((d) => definitionManifest(d).vmType === vmType);
}

/** Every registered platform's plugin, validated (the built-ins once kvm_util registered them). */
export function builtinPlatforms(): PlatformPlugin[] {
  return platformDefinitions().map((d) => loadPlatform(d.name));
}

export { ManifestError };

/** Whether KSFT_PLATFORM names a plugin folder rather than a built-in. */
export function isPluginPath(nameOrPath: string): boolean {
  return platformDefinition(nameOrPath) === undefined && isPath(nameOrPath);
}

/**
 * loadPlatform() for a program's input (KSFT_PLATFORM): a bad plugin is one
 * line on stderr naming the file, the field and the expected type, then exit 1.
 */
export function loadPlatformOrExit(nameOrPath: string, opts: LoadOptions = {}): PlatformPlugin {
  try {
    return loadPlatform(nameOrPath, opts);
  } catch (e) {
    if (e instanceof ManifestError || e instanceof PlatformLoadError) {
      process.stderr.write(`KSFT_PLATFORM: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}
