/**
 * A manifest's [H] hardware parameters against its behaviour's schema, and
 * the manifest fields that follow from them.
 *
 * The hardware parameters are what a user plugin changes (a TDX part with
 * 5-level EPT: `gpaw` 52). A manifest field describing the outcome of one of
 * them (the shared bit, `/marker/bit`) is derived by the behaviour
 * (PlatformDefinition.derived) rather than stated: a manifest that states
 * it is refused, so a plugin cannot say bit 47 and GPAW 52 at once.
 */
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { HostAccess, type HardwareParams, type HardwareSchema, type ManifestFile, type PlatformManifest } from './manifest.js';
import type { DerivableFacts, PlatformDefinition } from './types.js';
import { ManifestError, describeSchema, renderSchemaError } from './validate.js';

/**
 * `value` with the schema's defaults filled in, checked against it: an
 * unknown key or a wrong type is a ManifestError naming `/hardware/<key>`.
 */
export function validateHardware<S extends HardwareSchema>(schema: S, value: HardwareParams, file: string, behaviour: string): Static<S> {
  const v: unknown = Value.Default(schema, structuredClone(value));
  if (Value.Check(schema, v)) return v;
  const first = Value.Errors(schema, v).First();
  const keys = Object.keys(schema.properties).join('|') || 'none';
  if (!first) throw new ManifestError(file, '/hardware', 'object', `${file}: field /hardware expected an object, got ${JSON.stringify(value)}`);
  throw renderSchemaError(file, first, '/hardware', `the hardware parameters of behaviour ${behaviour}: ${keys}`);
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a JSON pointer of two levels or more ('/marker/bit'). */
function at(root: Json, pointer: string): unknown {
  let v: unknown = root;
  for (const k of pointer.split('/').slice(1)) v = isObject(v) ? v[k] : undefined;
  return v;
}

/** Set the value at a JSON pointer whose parent object exists (the schema requires it). */
function put(root: Json, pointer: string, value: unknown): void {
  const keys = pointer.split('/').slice(1);
  const last = keys.pop();
  let parent: unknown = root;
  for (const k of keys) parent = isObject(parent) ? parent[k] : undefined;
  if (isObject(parent) && last !== undefined) parent[last] = value;
}

const isScalar = (v: unknown): v is number | boolean | string => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';

/** A manifest as the loader completes it, with its behaviour's typed hardware parameters. */
export interface CompletedManifest<S extends HardwareSchema> {
  readonly manifest: PlatformManifest;
  readonly hardware: Static<S>;
}

/**
 * The loaded manifest: `overrides` over the file's hardware parameters over
 * the behaviour's defaults, validated; each derived field filled in from
 * them (and refused where the file states it); then the rules that need
 * the derived fields.
 */
export function completeManifest<S extends HardwareSchema>(
  file: ManifestFile, definition: PlatformDefinition<string, S>, path: string, overrides: HardwareParams = {},
): CompletedManifest<S> {
  const hardware = validateHardware(definition.hardware, { ...(file.hardware ?? {}), ...overrides }, path, definition.name);
  const m: Json = structuredClone(file);
  const derived = definition.derived ?? {};
  for (const field of Object.keys(derived) as (keyof DerivableFacts)[]) {
    const d = derived[field];
    if (!d) continue;
    const stated = at(m, field);
    if (stated !== undefined) {
      const expected = `absent (derived from /hardware/${d.from} as ${d.rule})`;
      throw new ManifestError(path, field, expected, `${path}: field ${field} expected ${expected}, got ${JSON.stringify(stated)}`);
    }
    put(m, field, d.value(hardware));
  }
  m.hardware = Object.fromEntries(Object.entries(hardware).filter((e): e is [string, number | boolean | string] => isScalar(e[1])));
  return { manifest: checkDerived(m, path), hardware };
}

/** Rules on fields a behaviour may derive: present once the behaviour had its say. */
function checkDerived(m: Json, path: string): PlatformManifest {
  for (const key of ['read', 'write'] as const) {
    if (at(m, `/hostAccess/${key}`) === undefined) {
      const expected = describeSchema(HostAccess.properties[key]);
      throw new ManifestError(path, `/hostAccess/${key}`, expected, `${path}: missing field /hostAccess/${key} (expected ${expected})`);
    }
  }
  if (at(m, '/marker/model') === 'address-bit') {
    for (const key of ['bit', 'bitMeans'] as const) {
      if (at(m, `/marker/${key}`) !== undefined) continue;
      const field = `/marker/${key}`;
      throw new ManifestError(path, field, 'present when /marker/model is "address-bit"', `${path}: missing field ${field} (required when /marker/model is "address-bit")`);
    }
  }
  // The file passed the schema and every field it may leave out is now present.
  return m as PlatformManifest;
}
