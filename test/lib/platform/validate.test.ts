import t from 'tap';
import { readFileSync } from 'node:fs';
import { PLATFORMS } from '../../../platforms/index.js';
import { describeSchema, parseManifest, validateManifest } from '../../../lib/platform/validate.js';
import { errorOf } from './manifest_error.js';
import { buildPlugin } from '../../../lib/platform/loader.js';
import '../../../lib/kvm_util/platform_types.js'; // registers the built-in platforms with the loader

const tdx = (): Record<string, unknown> => JSON.parse(readFileSync('platforms/tdx/manifest.json', 'utf8')) as Record<string, unknown>;
const FILE = 'my-plugin/manifest.json';

t.test('every built-in manifest validates', async (t) => {
  for (const { name, manifest, manifestFile: file } of PLATFORMS) {
    t.equal(file, `platforms/${name}/manifest.json`, `${name} lives in its own folder`);
    const m = validateManifest(manifest, file);
    t.equal(m.name, name, `${file} is named after its folder`);
    t.equal(m.behaviour, name, `${file} uses its own behaviour`);
  }
});

t.test('a missing field names the file, the field and the expected type on one line', async (t) => {
  const m = tdx();
  delete m.vmType;
  const e = errorOf(() => validateManifest(m, FILE));
  t.equal(e.message, `${FILE}: missing field /vmType (expected integer in [0, 4294967295])`);
  t.equal(e.field, '/vmType');
  t.notMatch(e.message, /\n/);
});

t.test('a wrong type names the expected type and the value', async (t) => {
  const m = tdx();
  m.vmType = 'five';
  t.equal(errorOf(() => validateManifest(m, FILE)).message, `${FILE}: field /vmType expected integer in [0, 4294967295], got "five"`);
});

t.test('a nested union shows the accepted literals', async (t) => {
  const m = tdx();
  (m.marker as Record<string, unknown>).model = 'bits';
  t.equal(errorOf(() => validateManifest(m, FILE)).message,
    `${FILE}: field /marker/model expected one of "address-bit" | "ownership" | "attribute" | "none", got "bits"`);
});

t.test('an array element of the wrong kind', async (t) => {
  const m = tdx();
  (m.granularity as Record<string, unknown>).kvmPrivateLevels = ['4K', '3K'];
  const e = errorOf(() => validateManifest(m, FILE));
  t.equal(e.field, '/granularity/kvmPrivateLevels/1');
  t.match(e.message, /expected one of "4K" \| "2M" \| "1G", got "3K"$/);
});

t.test('an unknown field is named', async (t) => {
  const m = tdx();
  (m.launch as Record<string, unknown>).sourceAlignd = true;
  t.equal(errorOf(() => validateManifest(m, FILE)).message, `${FILE}: unknown field /launch/sourceAlignd (not part of the platform manifest)`);
});

t.test('a hardware parameter must be a scalar', async (t) => {
  const m = tdx();
  (m.hardware as Record<string, unknown>).gpaw = [48];
  const e = errorOf(() => validateManifest(m, FILE));
  t.equal(e.field, '/hardware/gpaw');
  t.match(e.message, /expected integer or boolean or string/);
});

t.test('a hardware parameter is checked against its behaviour\'s schema, on one line', async (t) => {
  const wrong = tdx();
  (wrong.hardware as Record<string, unknown>).gpaw = 'x';
  t.equal(errorOf(() => buildPlugin(validateManifest(wrong, FILE), FILE)).message, `${FILE}: field /hardware/gpaw expected one of 48 | 52, got "x"`);
  const unknown = tdx();
  (unknown.hardware as Record<string, unknown>).gpa = 52;
  const e = errorOf(() => buildPlugin(validateManifest(unknown, FILE), FILE));
  t.equal(e.message, `${FILE}: unknown field /hardware/gpa (not part of the hardware parameters of behaviour tdx: gpaw|mapGpaChunkBytes|pendingAccess|hostRead|populateRules)`);
  t.equal(e.field, '/hardware/gpa');
  const chunk = tdx();
  (chunk.hardware as Record<string, unknown>).mapGpaChunkBytes = 100;
  t.equal(errorOf(() => buildPlugin(validateManifest(chunk, FILE), FILE)).message, `${FILE}: field /hardware/mapGpaChunkBytes expected integer >= 4096, got 100`);
});

t.test('a derived field stated in the manifest is refused', async (t) => {
  const m = tdx();
  (m.wrongState as Record<string, unknown>).unaccepted = 'vm-dead';
  t.equal(errorOf(() => buildPlugin(validateManifest(m, FILE), FILE)).message,
    `${FILE}: field /wrongState/unaccepted expected absent (derived from /hardware/pendingAccess as pendingAccess), got "vm-dead"`);
});

t.test('cross-field rules', async (t) => {
  // A behaviour that does not derive the bit: the manifest must state it.
  const m = JSON.parse(readFileSync('platforms/sw_protected/manifest.json', 'utf8')) as Record<string, unknown>;
  (m.marker as Record<string, unknown>).model = 'address-bit';
  t.equal(errorOf(() => buildPlugin(validateManifest(m, FILE), FILE)).message, `${FILE}: missing field /marker/bit (required when /marker/model is "address-bit")`);
  const h = JSON.parse(readFileSync('platforms/sw_protected/manifest.json', 'utf8')) as Record<string, unknown>;
  delete (h.hostAccess as Record<string, unknown>).write;
  t.equal(errorOf(() => buildPlugin(validateManifest(h, FILE), FILE)).message,
    `${FILE}: missing field /hostAccess/write (expected one of "silent-corruption" | "rmp-fault" | "poison" | "sigsegv" | "sigbus" | "plaintext")`);
  const n = tdx();
  n.hasPrivateMem = false;
  t.equal(errorOf(() => validateManifest(n, FILE)).field, '/conversion/generic');
});

t.test('bad JSON and a non-object are one-line errors too', async (t) => {
  t.match(errorOf(() => parseManifest('{ "name": ', FILE)).message, new RegExp(`^${FILE}: not valid JSON: `));
  t.equal(errorOf(() => validateManifest([], FILE)).message, `${FILE}: expected a JSON object, got []`);
});

t.test('describeSchema', async (t) => {
  t.equal(describeSchema({ type: 'string', pattern: '^a$' }), 'string matching /^a$/');
  t.equal(describeSchema({ type: 'array', items: { type: 'boolean' }, minItems: 1 }), 'array of boolean (at least 1)');
});

t.test('a required capability must be one the uAPI table knows', async (t) => {
  const m = tdx();
  (m.requiredCaps as string[]).push('KVM_CAP_TELEPORT');
  t.equal(errorOf(() => validateManifest(m, FILE)).message,
    `${FILE}: field /requiredCaps/4 expected a capability known to lib/kvm/uapi.ts, got "KVM_CAP_TELEPORT"`);
});
