/**
 * Manifest validation with one-line errors: the file, the field (as a JSON
 * pointer) and the expected type, the way typebox users expect a bad option
 * to be reported. The first error wins; one fix at a time keeps the message
 * readable.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { PlatformManifest, type ManifestFile } from './manifest.js';
import { capNumber } from './probe.js';

/** A manifest that does not match the schema: one line naming the file, the field and the expected type. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    message: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

interface SchemaLike {
  const?: unknown;
  anyOf?: SchemaLike[];
  type?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  items?: SchemaLike;
  patternProperties?: Record<string, SchemaLike>;
}

/** A short human description of what a schema accepts, e.g. `one of "4K" | "2M"`. */
export function describeSchema(schema: TSchema | SchemaLike): string {
  const s = schema as SchemaLike;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) {
    const parts = s.anyOf.map((x) => describeSchema(x));
    return s.anyOf.every((x) => x.const !== undefined) ? `one of ${parts.join(' | ')}` : parts.join(' or ');
  }
  switch (s.type) {
    case 'string':
      if (s.pattern) return `string matching /${s.pattern}/`;
      return s.minLength ? 'non-empty string' : 'string';
    case 'integer':
    case 'number': {
      const range =
        s.minimum !== undefined && s.maximum !== undefined
          ? ` in [${s.minimum}, ${s.maximum}]`
          : s.minimum !== undefined
            ? ` >= ${s.minimum}`
            : '';
      return `${s.type}${range}`;
    }
    case 'boolean':
      return 'boolean';
    case 'array':
      return `array of ${s.items ? describeSchema(s.items) : 'values'}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
    case 'object':
      if (s.patternProperties) {
        const v = Object.values(s.patternProperties)[0];
        return `object of ${v ? describeSchema(v) : 'values'}`;
      }
      return 'object';
    default:
      return 'a valid value';
  }
}

function fieldName(path: string): string {
  return path === '' ? '(root)' : path;
}

/**
 * The one-line error for a schema error at `prefix` + its path; `unknown`
 * says what an unknown key is not part of.
 */
export function renderSchemaError(file: string, error: ValueError, prefix = '', unknown = 'the platform manifest'): ManifestError {
  const e = locateExtraKey(error);
  const field = fieldName(prefix + e.path);
  const expected = describeSchema(e.schema);
  let message: string;
  if (e.type === ValueErrorType.ObjectRequiredProperty) {
    message = `${file}: missing field ${field} (expected ${expected})`;
  } else if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    message = `${file}: unknown field ${field} (not part of ${unknown})`;
  } else {
    message = `${file}: field ${field} expected ${expected}, got ${JSON.stringify(e.value)}`;
  }
  return new ManifestError(file, field, expected, message);
}

/**
 * Typebox reports an unknown key on the object itself; point at the key so
 * the message names the field the user wrote.
 */
function locateExtraKey(e: ValueError): ValueError {
  if (e.type !== ValueErrorType.ObjectAdditionalProperties) return e;
  const obj = e.value as Record<string, unknown> | undefined;
  const props = (e.schema as { properties?: Record<string, unknown> }).properties ?? {};
  const extra = obj && typeof obj === 'object' ? Object.keys(obj).find((k) => !(k in props)) : undefined;
  return extra === undefined ? e : { ...e, path: `${e.path}/${extra}` };
}

/**
 * Validate parsed manifest JSON; throws a ManifestError with a one-line
 * message on the first problem. The hardware parameters and the fields
 * derived from them are the loader's to check, against the behaviour the
 * manifest names (hardware.ts).
 */
export function validateManifest(value: unknown, file: string): ManifestFile {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestError(file, '(root)', 'object', `${file}: expected a JSON object, got ${JSON.stringify(value)}`);
  }
  // Errors are listed only for a manifest that fails: computing them walks
  // the whole schema, several times the cost of the check, and every test
  // start validates the built-in manifests.
  if (!Value.Check(PlatformManifest, value)) {
    const first = Value.Errors(PlatformManifest, value).First();
    if (first) throw renderSchemaError(file, first);
  }
  const m = value as ManifestFile;
  // Cross-field rules the schema cannot say (those on derived fields wait for the loader: hardware.ts).
  const unknownCap = m.requiredCaps.findIndex((c) => capNumber(c) === undefined);
  if (unknownCap >= 0) {
    const field = `/requiredCaps/${unknownCap}`;
    throw new ManifestError(file, field, 'a capability known to lib/kvm/uapi.ts', `${file}: field ${field} expected a capability known to lib/kvm/uapi.ts, got ${JSON.stringify(m.requiredCaps[unknownCap])}`);
  }
  if (!m.hasPrivateMem && m.conversion.generic) {
    throw new ManifestError(file, '/conversion/generic', 'false when /hasPrivateMem is false', `${file}: field /conversion/generic expected false when /hasPrivateMem is false, got true`);
  }
  return m;
}

/** Parse JSON text and validate it; JSON syntax errors are reported on one line too. */
export function parseManifest(text: string, file: string): ManifestFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ManifestError(file, '(root)', 'JSON', `${file}: not valid JSON: ${msg}`);
  }
  return validateManifest(value, file);
}
