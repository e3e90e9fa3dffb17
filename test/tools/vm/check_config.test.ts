// tools/vm/check_config.sh: every fragment option must hold in the .config
// Kconfig produced; one line naming each one that does not.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tmpDir } from '../runner/helpers.js';

const SCRIPT = join(ROOT, 'tools/vm/check_config.sh');
const dir = tmpDir('ksft-vm-config-');
const CONFIG = join(dir, '.config');
writeFileSync(CONFIG, [
  '#', '# Automatically generated file; DO NOT EDIT.', '#',
  'CONFIG_64BIT=y', 'CONFIG_KVM=y', 'CONFIG_KVM_SW_PROTECTED_VM=y', 'CONFIG_NR_CPUS=8', 'CONFIG_MOD=m',
  'CONFIG_CMDLINE="a b"', '# CONFIG_MODULES is not set', '',
].join('\n'));

function check(fragment: string) {
  const f = join(dir, 'fragment');
  writeFileSync(f, fragment);
  const r = spawnSync('sh', [SCRIPT, f, CONFIG], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, f };
}

t.test('everything landed: silent, 0', async (t) => {
  const r = check([
    '# comment', '', 'CONFIG_64BIT=y', '  CONFIG_KVM=y  ', 'CONFIG_NR_CPUS=8\r', 'CONFIG_MOD=m', 'CONFIG_CMDLINE="a b"',
    'CONFIG_MODULES=n', '# CONFIG_ABSENT is not set', 'CONFIG_ALSO_ABSENT=n', '',
  ].join('\n'));
  t.same([r.code, r.stdout, r.stderr], [0, '', '']);
});

t.test('a missing option: one line naming it, 1', async (t) => {
  const r = check('CONFIG_KVM=y\nCONFIG_KVM_SW_PROTECTED_VM=y\nCONFIG_X86_X2APIC=y\n');
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.equal(r.stderr, `vm: CONFIG_X86_X2APIC=y from ${r.f} did not land in the .config (it is not set there: a dependency is missing or this kernel has no such option)\n`);
});

t.test('wrong value, module instead of built-in, set when it should not be: one line each', async (t) => {
  const r = check('CONFIG_NR_CPUS=64\nCONFIG_MOD=y\nCONFIG_KVM=n\n# CONFIG_64BIT is not set\n');
  t.equal(r.code, 1);
  t.same(r.stderr.trimEnd().split('\n').map((l) => l.replace(/ from \S+ /, ' from F ')), [
    'vm: CONFIG_NR_CPUS=64 from F did not land in the .config (it is CONFIG_NR_CPUS=8 there: a dependency is missing or this kernel has no such option)',
    'vm: CONFIG_MOD=y from F did not land in the .config (it is CONFIG_MOD=m there: a dependency is missing or this kernel has no such option)',
    'vm: CONFIG_KVM=n from F did not land in the .config (it is CONFIG_KVM=y there: another option selects it)',
    'vm: CONFIG_64BIT=n from F did not land in the .config (it is CONFIG_64BIT=y there: another option selects it)',
  ]);
});

t.test('a line that is not an option is an error too', async (t) => {
  const r = check('CONFIG_KVM=y\nKVM=y\n');
  t.equal(r.code, 1);
  t.equal(r.stderr, `vm: ${r.f}:2: not a config option line: KVM=y\n`);
});

t.test('the project fragment is well-formed', async (t) => {
  // Checked against itself: every line parses (the real check runs in the build).
  const f = join(ROOT, 'tools/vm/kernel.config');
  const r = spawnSync('sh', [SCRIPT, f, f], { encoding: 'utf8' });
  t.same([r.status, r.stderr], [0, '']);
});
