/**
 * Adding a platform is one folder's value, one line in platforms/index.ts
 * and its tests: a throwaway platform, built here as its folder would
 * export it (with a hardware schema of its own and the manifest facts that
 * follow from it) and registered as kvm_util registers that list, loads by
 * name and runs the README's conversion flow on the model without any
 * other file knowing it.
 */
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import {
  UCALL_DONE, cocoLaunch, cocoVmCreate, expectGuestSees, expectHostSees, kvmVmFree, requireConversion, runToUcall, setKvmBackend,
  type GpaArg, type GuestBuilder,
} from '../../../lib/kvm_util/index.js';
import { rawMapGpaRangeConversion } from '../../../lib/platform/conversions.js';
import { PlatformLoadError, buildPlugin, loadPlatform } from '../../../lib/platform/loader.js';
import { hardwareSchema } from '../../../lib/platform/manifest.js';
import { platformDefinitions, registerPlatforms, unregisterPlatform } from '../../../lib/platform/registry.js';
import type { DerivedFactsOf, PlatformDefinition } from '../../../lib/platform/types.js';
import { validateManifest } from '../../../lib/platform/validate.js';
import { errorOf } from './manifest_error.js';
import { PLATFORMS } from '../../../platforms/index.js';
import { swProtectedModel } from '../../../platforms/sw_protected/model.js';

const PAGE = 4096;
// A VM type no built-in uses (x86's are 0..5).
const TOY_VM = 14;
const TOY_FILE = 'platforms/toy/manifest.json';

/** What platforms/toy/hardware.ts would declare: one [H] parameter, and the host-access outcomes that follow from it. */
const ToyHardware = hardwareSchema({
  faultSignal: Type.Union([Type.Literal('SIGBUS'), Type.Literal('SIGSEGV')], {
    default: 'SIGBUS', description: 'what the VMM takes on a private page',
  }),
});
type ToyHardware = Static<typeof ToyHardware>;
const outcome = (hw: ToyHardware): 'sigbus' | 'sigsegv' => (hw.faultSignal === 'SIGBUS' ? 'sigbus' : 'sigsegv');
const toyDerived: DerivedFactsOf<ToyHardware> = {
  '/hostAccess/read': { from: 'faultSignal', rule: 'the signal, lower case', value: outcome },
  '/hostAccess/write': { from: 'faultSignal', rule: 'the signal, lower case', value: outcome },
};

/** SW_PROTECTED's manifest as the toy's, the host-access outcomes left to the hardware parameter. */
function toyManifest(hardware: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync('platforms/sw_protected/manifest.json', 'utf8')) as Record<string, unknown>;
  const hostAccess = m.hostAccess as Record<string, unknown>;
  delete hostAccess.read;
  delete hostAccess.write;
  return { ...m, name: 'toy', description: 'a throwaway platform', vmType: TOY_VM, vmTypeName: 'KVM_X86_TOY_VM', behaviour: 'toy', hardware };
}

/** What platforms/toy/index.ts would export: SW_PROTECTED's semantics under a type of its own. `seen` records the typed parameters the model got. */
function toyPlatform(hardware: Record<string, unknown> = {}, seen: ToyHardware[] = []): PlatformDefinition<'toy', typeof ToyHardware> {
  return {
    name: 'toy',
    manifest: toyManifest(hardware),
    manifestFile: TOY_FILE,
    hardware: ToyHardware,
    derived: toyDerived,
    model: (hw) => {
      seen.push(hw);
      return { ...swProtectedModel, name: 'toy' };
    },
    conversion: () => rawMapGpaRangeConversion,
  };
}

t.test('the built-ins are registered from platforms/index.ts, the only list', async (t) => {
  t.same(platformDefinitions().map((d) => d.name), PLATFORMS.map((p) => p.name));
  t.same(PLATFORMS.map((p) => p.manifestFile), PLATFORMS.map((p) => `platforms/${p.name}/manifest.json`));
});

t.test('an unregistered platform is unknown; registered, it loads by name', async (t) => {
  t.throws(() => loadPlatform('toy'), PlatformLoadError);
  registerPlatforms([toyPlatform()]);
  t.teardown(() => unregisterPlatform('toy'));
  const p = loadPlatform('toy');
  t.equal(p.vmType, TOY_VM);
  t.equal(p.model.name, 'toy');
  t.equal(p.genericConversionSkip(), null, 'its manifest says conversions are generic, and it has a protocol');
});

t.test('the model receives the hardware parameters typed, defaults filled in', async (t) => {
  const seen: ToyHardware[] = [];
  registerPlatforms([toyPlatform({}, seen)]);
  t.teardown(() => unregisterPlatform('toy'));
  const p = loadPlatform('toy');
  t.same(seen, [{ faultSignal: 'SIGBUS' }]);
  t.same(p.hardware, { faultSignal: 'SIGBUS' });
  t.same(p.manifest.hardware, { faultSignal: 'SIGBUS' }, 'the loaded manifest carries every parameter');
  loadPlatform('toy', { hardware: { faultSignal: 'SIGSEGV' } });
  t.equal(seen[1]?.faultSignal, 'SIGSEGV', 'an override reaches the model');
});

t.test('derived facts follow the hardware parameter', async (t) => {
  registerPlatforms([toyPlatform()]);
  t.teardown(() => unregisterPlatform('toy'));
  const bus = loadPlatform('toy').manifest.hostAccess;
  t.same([bus.read, bus.write], ['sigbus', 'sigbus']);
  const segv = loadPlatform('toy', { hardware: { faultSignal: 'SIGSEGV' } }).manifest.hostAccess;
  t.same([segv.read, segv.write], ['sigsegv', 'sigsegv']);
  registerPlatforms([toyPlatform({ faultSignal: 'SIGSEGV' })]);
  t.equal(loadPlatform('toy').manifest.hostAccess.read, 'sigsegv', 'from the manifest\'s own hardware too');
});

t.test('the model takes its name and kvm_arch_has_private_mem() from the manifest, not from its own code', async (t) => {
  registerPlatforms([toyPlatform()]);
  t.teardown(() => unregisterPlatform('toy'));
  t.equal(loadPlatform('toy').model.hasPrivateMem, true);
  const m = toyManifest();
  m.name = 'toy_shared';
  m.hasPrivateMem = false;
  (m.conversion as Record<string, unknown>).generic = false;
  const p = buildPlugin(validateManifest(m, 'my-plugin/manifest.json'), 'my-plugin/manifest.json');
  t.same([p.model.name, p.model.hasPrivateMem], ['toy_shared', false]);
});

t.test('an unknown or mistyped hardware key is refused on one line', async (t) => {
  registerPlatforms([toyPlatform()]);
  t.teardown(() => unregisterPlatform('toy'));
  const unknown = errorOf(() => loadPlatform('toy', { hardware: { faultSignl: 'SIGBUS' } }));
  t.equal(unknown.message, `${TOY_FILE}: unknown field /hardware/faultSignl (not part of the hardware parameters of behaviour toy: faultSignal)`);
  t.equal(unknown.field, '/hardware/faultSignl');
  registerPlatforms([toyPlatform({ faultSignal: 7 })]);
  const mistyped = errorOf(() => loadPlatform('toy'));
  t.equal(mistyped.message, `${TOY_FILE}: field /hardware/faultSignal expected one of "SIGBUS" | "SIGSEGV", got 7`);
  t.notMatch(mistyped.message, /\n/);
});

t.test('a manifest stating a derived fact is refused, naming the parameter it follows from', async (t) => {
  registerPlatforms([toyPlatform()]);
  t.teardown(() => unregisterPlatform('toy'));
  const m = toyManifest();
  (m.hostAccess as Record<string, unknown>).read = 'sigbus';
  const e = errorOf(() => buildPlugin(validateManifest(m, 'my-plugin/manifest.json'), 'my-plugin/manifest.json'));
  t.equal(e.message, 'my-plugin/manifest.json: field /hostAccess/read expected absent (derived from /hardware/faultSignal as the signal, lower case), got "sigbus"');
});

t.test('lib/platform and lib/kvm import nothing from platforms/', async (t) => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
  const offenders = [...files('lib/platform'), ...files('lib/kvm')].filter((f) => /from '(\.\.\/)+platforms\//.test(readFileSync(f, 'utf8')));
  t.same(offenders, []);
});

t.test('a registered throwaway platform runs the portable conversion flow', async (t) => {
  registerPlatforms([toyPlatform()]);
  t.teardown(() => unregisterPlatform('toy'));
  setKvmBackend(createModelBackend({ kernel: '6.18' }));
  t.teardown(() => setKvmBackend(undefined));
  const conv = requireConversion(loadPlatform('toy'));
  const c = cocoVmCreate('toy', (g: GuestBuilder, base: GpaArg) => {
    g.memset(base, PAGE, 0xaa);
    conv.convert(g, base, PAGE, true);
    g.memset(base, PAGE, 0x55);
    expectGuestSees(g, base, PAGE, 0x55);
    g.done();
  });
  t.equal(c.vm.type, TOY_VM, 'the VM has the platform\'s type');
  cocoLaunch(c);
  await runToUcall(c.vcpu, UCALL_DONE, { serve: c.plugin });
  expectHostSees(c.vm, c.gpa, PAGE, 0xaa);
  kvmVmFree(c.vm);
});

t.test('a manifest naming an unregistered behaviour is refused, naming the field', async (t) => {
  const m = validateManifest(toyManifest(), 'my-plugin/manifest.json');
  t.throws(() => buildPlugin(m, 'my-plugin/manifest.json'), { message: /^my-plugin\/manifest.json: field \/behaviour expected one of default\|sw_protected\|.*\|cca(\|[a-z0-9_|]+)?, got "toy"$/ });
});
