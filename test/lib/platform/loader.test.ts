import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvmRun } from '../../../lib/kvm/kvm_run.js';
import { KVM_EXIT_HYPERCALL, KVM_EXIT_MEMORY_FAULT, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_ENCRYPTED } from '../../../lib/kvm/uapi.js';
import { GuestBuilder } from '../../../lib/guest/builder.js';
import { ManifestError, PlatformLoadError, builtinPlatforms, loadPlatform, registerPlatformModels } from '../../../lib/platform/index.js';
import type { ModelPlatform } from '../../../lib/kvm/model/platform.js';
import { Value } from '@sinclair/typebox/value';
import '../../../lib/kvm_util/platform_types.js'; // registers the built-in platforms with the loader
import { PLATFORMS } from '../../../platforms/index.js';

t.test('built-ins load by name, with their VM types', async (t) => {
  const types = Object.fromEntries(builtinPlatforms().map((p) => [p.name, p.vmType]));
  // The upstream ones (a platform added to platforms/index.ts joins them).
  t.match(types, { default: 0, sw_protected: 1, tdx: 5, sev: 2, sev_es: 3, snp: 4, pkvm: 0x80000000, cca: 256 });
});

t.test('an unknown name lists what exists', async (t) => {
  const names = builtinPlatforms().map((p) => p.name).join('|');
  t.match(names, /^default\|sw_protected\|sev\|sev_es\|snp\|tdx\|pkvm\|cca(\||$)/, 'platforms/index.ts order');
  t.throws(() => loadPlatform('tdx2'), new PlatformLoadError(`unknown platform 'tdx2' (expected one of ${names}, or a path to a plugin folder)`));
});

t.test('a user plugin by path reuses a behaviour with its own [H] parameters', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-plugin-'));
  const m = JSON.parse(readFileSync('platforms/tdx/manifest.json', 'utf8')) as Record<string, unknown>;
  m.name = 'tdx_gpaw52';
  (m.hardware as Record<string, unknown>).gpaw = 52;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const p = loadPlatform(dir);
  t.equal(p.name, 'tdx_gpaw52');
  t.equal(p.hardware.gpaw, 52);
  t.equal(p.manifest.marker.bit, 51, 'the shared bit follows the GPAW');
  t.equal(p.model.name, 'tdx_gpaw52');
  // Its conversion sets bit 51 for →shared.
  const g = new GuestBuilder();
  p.conversion!.convert(g, 0x100000000n, 4096n, false);
  const op = g.ops[0]!;
  t.equal(op.op === 'platform' ? op.args.gpa : undefined, 0x100000000n | (1n << 51n));
});

t.test('a user plugin cannot state a derived fact beside the parameter it follows from', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-plugin-'));
  const m = JSON.parse(readFileSync('platforms/tdx/manifest.json', 'utf8')) as Record<string, unknown>;
  (m.marker as Record<string, unknown>).bit = 47;
  (m.hardware as Record<string, unknown>).gpaw = 52;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  t.throws(() => loadPlatform(dir), {
    message: `${join(dir, 'manifest.json')}: field /marker/bit expected absent (derived from /hardware/gpaw as gpaw - 1), got 47`,
  });
});

t.test('hardware parameters are checked against their behaviour\'s schema', async (t) => {
  t.throws(() => loadPlatform('tdx', { hardware: { gpaw: 50 } }), { message: 'platforms/tdx/manifest.json: field /hardware/gpaw expected one of 48 | 52, got 50' });
  t.throws(() => loadPlatform('tdx', { hardware: { gpaw: 'x' } }), { message: 'platforms/tdx/manifest.json: field /hardware/gpaw expected one of 48 | 52, got "x"' });
  t.throws(() => loadPlatform('snp', { hardware: { largeFolio: true } }), {
    message: 'platforms/snp/manifest.json: unknown field /hardware/largeFolio (not part of the hardware parameters of behaviour snp: cbit|hostRead|largeFolios|populateBatchPages|populateRules|vmsaFeatures)',
  });
  t.throws(() => loadPlatform('cca', { hardware: { ipaBits: 64 } }), { message: 'platforms/cca/manifest.json: field /hardware/ipaBits expected integer in [32, 52], got 64' });
  t.throws(() => loadPlatform('default', { hardware: { gpaw: 48 } }), { message: /unknown field \/hardware\/gpaw \(not part of the hardware parameters of behaviour default: none\)$/ });
});

t.test('every built-in fact that follows from a hardware parameter is derived, defaults from the schema', async (t) => {
  const facts = Object.fromEntries(builtinPlatforms().map((p) => [p.name, {
    bit: p.manifest.marker.bit, unaccepted: p.manifest.wrongState.unaccepted, read: p.manifest.hostAccess.read, write: p.manifest.hostAccess.write,
  }]));
  t.same(facts.tdx, { bit: 47, unaccepted: 'vm-dead', read: 'zeros', write: 'poison' });
  t.same(facts.snp, { bit: 51, unaccepted: 'guest-vc', read: 'ciphertext', write: 'rmp-fault' });
  t.same(facts.sev, { bit: 51, unaccepted: undefined, read: 'ciphertext', write: 'silent-corruption' });
  t.same(facts.cca, { bit: 47, unaccepted: 'guest-sea', read: 'sigbus', write: 'sigbus' });
  t.same(facts.pkvm, { bit: undefined, unaccepted: undefined, read: 'sigsegv', write: 'sigsegv' });
  const td = loadPlatform('tdx', { hardware: { gpaw: 52, pendingAccess: 'memory-fault-size0', hostRead: 'plaintext' } }).manifest;
  t.same([td.marker.bit, td.wrongState.unaccepted, td.hostAccess.read], [51, 'memory-fault-size0', 'plaintext']);
  t.equal(loadPlatform('sev', { hardware: { cbit: 47 } }).manifest.marker.bit, 47);
  t.equal(loadPlatform('cca', { hardware: { ipaBits: 52 } }).manifest.marker.bit, 51);
  const bus = loadPlatform('pkvm', { hardware: { hostAccessSignal: 'SIGBUS' } }).manifest.hostAccess;
  t.same([bus.read, bus.write], ['sigbus', 'sigbus']);
});

t.test('every built-in hardware parameter has a description, and a default unless unset has a meaning', async (t) => {
  for (const d of PLATFORMS) {
    for (const [key, s] of Object.entries(d.hardware.properties)) {
      const schema = s as { description?: string; default?: unknown; [k: symbol]: unknown };
      t.ok(schema.description, `${d.name}.${key} has a description`);
      const optional = Object.getOwnPropertySymbols(schema).some((sym) => schema[sym] === 'Optional');
      t.ok(optional || schema.default !== undefined, `${d.name}.${key} has a default`);
      if (schema.default !== undefined) t.ok(Value.Check(s, schema.default), `${d.name}.${key}'s default passes its own schema`);
    }
  }
});

t.test('a bad user plugin fails with the file and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-plugin-'));
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'manifest.json'), JSON.stringify({ name: 'bad' }));
  const e = (() => { try { loadPlatform(join(dir, 'bad')); } catch (err) { return err; } return undefined; })();
  t.ok(e instanceof ManifestError);
  t.equal((e as ManifestError).message, `${join(dir, 'bad', 'manifest.json')}: missing field /description (expected non-empty string)`);
  t.throws(() => loadPlatform(join(dir, 'none')), { message: `${join(dir, 'none')}: no such platform manifest` });
});

t.test('hardware overrides merge over the manifest', async (t) => {
  const p = loadPlatform('snp', { hardware: { largeFolios: true } });
  t.equal(p.hardware.largeFolios, true);
  t.equal(p.hardware.cbit, 51, 'the schema\'s default');
});

t.test('generic conversion: skip reasons name the platform and what is missing', async (t) => {
  const skips = Object.fromEntries(builtinPlatforms().map((p) => [p.name, p.genericConversionSkip()]));
  t.equal(skips.sw_protected, null);
  t.equal(skips.tdx, null);
  t.equal(skips.snp, null);
  t.equal(skips.cca, null);
  t.match(skips.sev, /^platform sev: no private memory attribute \(KVM_X86_SEV_VM has KVM_CAP_MEMORY_ATTRIBUTES = 0\)/);
  t.match(skips.pkvm, /^platform pkvm: /);
  t.match(skips.default, /^platform default: /);
});

t.test('conversions decode their exits', async (t) => {
  const run = new KvmRun(new Uint8Array(4096));
  run.exitReason = KVM_EXIT_HYPERCALL;
  run.setHypercall(BigInt(KVM_HC_MAP_GPA_RANGE), [0x200000n, 3n, KVM_MAP_GPA_RANGE_ENCRYPTED | 4n], 0n);
  const req = loadPlatform('tdx').conversion!.decodeExit(run)!;
  t.same({ gpa: req.gpa, size: req.size, toPrivate: req.toPrivate }, { gpa: 0x200000n, size: 3n * 4096n, toPrivate: true });
  loadPlatform('tdx').conversion!.complete(run, 5n);
  t.equal(run.hypercallRet, 5n);
  t.equal(loadPlatform('cca').conversion!.decodeExit(run), null);
  run.exitReason = KVM_EXIT_MEMORY_FAULT;
  run.setMemoryFault(0n, 0x3000n, 0x1000n);
  const cca = loadPlatform('cca').conversion!.decodeExit(run)!;
  t.same({ gpa: cca.gpa, size: cca.size, toPrivate: cca.toPrivate }, { gpa: 0x3000n, size: 0x1000n, toPrivate: false });
});

t.test('registerPlatformModels registers every behaviour by VM type', async (t) => {
  const seen = new Map<number, ModelPlatform>();
  registerPlatformModels({ register: (type, p) => seen.set(type, p) });
  const byType = (a: number, b: number): number => a - b;
  t.same([...seen.keys()].sort(byType), builtinPlatforms().map((p) => p.vmType).sort(byType));
  for (const type of [0, 1, 2, 3, 4, 5, 256, 0x80000000]) t.ok(seen.has(type), `upstream type ${type}`);
  t.equal(seen.get(5)!.name, 'tdx');
});

t.test('probe: what a KVM must offer for each platform', async (t) => {
  const { createModelBackend } = await import('../../../lib/kvm/model/index.js');
  const { probePlatform } = await import('../../../lib/platform/index.js');
  const b = createModelBackend({ kernel: '6.18' });
  registerPlatformModels({ register: (type, p) => b.registerPlatform(type, p) });
  for (const p of builtinPlatforms()) t.equal(probePlatform(p, b), null, `${p.name} on 6.18`);
  // 6.12 has no KVM_CAP_GUEST_MEMFD_FLAGS: the mmap-able default gmem is not there.
  const old = createModelBackend({ kernel: '6.12' });
  registerPlatformModels({ register: (type, p) => old.registerPlatform(type, p) });
  t.equal(probePlatform(loadPlatform('default'), old), 'platform default: kvm_has_cap(KVM_CAP_GUEST_MEMFD_FLAGS)');
  // TDX arrived in 6.16: a 6.12 kernel neither offers nor creates the type.
  t.match(probePlatform(loadPlatform('tdx'), old), /^platform tdx: .*KVM_X86_TDX_VM/);
  t.equal(probePlatform(loadPlatform('snp'), old), null, 'snp on 6.12');
  // A type the backend does not offer.
  const bare = createModelBackend({ kernel: '6.18' });
  bare.platforms.unregister(0x80000000);
  t.equal(probePlatform(loadPlatform('pkvm'), bare), 'platform pkvm: vm_create_barebones_type(KVM_VM_TYPE_ARM_PROTECTED)');
  // 7.4 in either attribute mode: per-VM KVM_CAP_MEMORY_ATTRIBUTES, or the guest_memfd one in its place.
  for (const vmMemoryAttributes of [true, false]) {
    const b74 = createModelBackend({ kernel: '7.4', vmMemoryAttributes });
    registerPlatformModels({ register: (type, p) => b74.registerPlatform(type, p) });
    for (const name of ['sw_protected', 'tdx', 'snp']) t.equal(probePlatform(loadPlatform(name), b74), null, `${name} on 7.4, vm_memory_attributes=${vmMemoryAttributes ? 'Y' : 'N'}`);
  }
});
