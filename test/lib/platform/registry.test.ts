/**
 * Adding a platform is one folder's value, one line in platforms/index.ts
 * and its tests: a throwaway platform, built here as its folder would
 * export it and registered as kvm_util registers that list, loads by name
 * and runs the README's conversion flow on the model without any other
 * file knowing it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { swProtectedPlatform } from '../../../lib/kvm/model/builtin_platforms.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import {
  UCALL_DONE, cocoLaunch, cocoVmCreate, expectGuestSees, expectHostSees, kvmVmFree, requireConversion, runToUcall, setKvmBackend,
  type GpaArg, type GuestBuilder,
} from '../../../lib/kvm_util/index.js';
import { rawMapGpaRangeConversion } from '../../../lib/platform/conversions.js';
import { PlatformLoadError, buildPlugin, loadPlatform } from '../../../lib/platform/loader.js';
import { platformDefinitions, registerPlatforms, unregisterPlatform } from '../../../lib/platform/registry.js';
import type { PlatformDefinition } from '../../../lib/platform/types.js';
import { validateManifest } from '../../../lib/platform/validate.js';
import { PLATFORMS } from '../../../platforms/index.js';

const PAGE = 4096;
// A VM type no built-in uses (x86's are 0..5).
const TOY_VM = 14;

/** What platforms/toy/index.ts would export: SW_PROTECTED's semantics under a type of its own. */
function toyPlatform(): PlatformDefinition<'toy'> {
  const manifest = {
    ...(JSON.parse(readFileSync('platforms/sw_protected/manifest.json', 'utf8')) as Record<string, unknown>),
    name: 'toy', description: 'a throwaway platform', vmType: TOY_VM, vmTypeName: 'KVM_X86_TOY_VM', behaviour: 'toy',
  };
  return {
    name: 'toy',
    manifest,
    manifestFile: 'platforms/toy/manifest.json',
    model: () => ({ ...swProtectedPlatform, name: 'toy' }),
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
  const m = validateManifest({ ...(toyPlatform().manifest as Record<string, unknown>) }, 'my-plugin/manifest.json');
  t.throws(() => buildPlugin(m, 'my-plugin/manifest.json'), { message: /^my-plugin\/manifest.json: field \/behaviour expected one of default\|sw_protected\|.*\|cca, got "toy"$/ });
});
