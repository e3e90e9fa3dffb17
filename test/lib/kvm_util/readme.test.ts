/**
 * The README's worked example is a working selftest, unchanged: extracted,
 * typechecked and bundled as `make all` builds a test, then started as
 * plain node under every KSFT_PLATFORM on the model. Where guests can ask
 * the host to convert it passes; elsewhere it skips with the platform's
 * own reason (exit 4).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typecheck } from '../../../tools/build/typecheck.js';
import { loadPlatform } from '../../../lib/platform/loader.js';
import { PLATFORM_NAMES } from '../../../lib/kvm_util/platform_types.js';
import { bundle, runProgram, tempDir } from '../kselftest/support.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

t.test('README example: one import, and it runs unchanged on every platform', async (t) => {
  const md = readFileSync(`${ROOT}lib/kvm_util/README.md`, 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(md)![1]!;
  t.same([...code.matchAll(/^import .* from '([^']+)'/gm), ...code.matchAll(/^} from '([^']+)'/gm)].map((m) => m[1]),
    ['../../lib/kvm_util/index.js'], 'kvm_util/index.js is the only import, as kvm_util.h is the only include');
  // One level below the root, beside tests/, so its relative imports resolve as written.
  const dir = `.readme_example_${process.pid}`;
  const src = join(ROOT, dir, 'kvm');
  mkdirSync(src, { recursive: true });
  t.teardown(() => rmSync(join(ROOT, dir), { recursive: true, force: true }));
  writeFileSync(join(src, 'readme_example_test.ts'), code);
  const out = tempDir('ksft-readme-');
  t.teardown(out.remove);
  const errors = typecheck(ROOT, [join(src, 'readme_example_test.ts')], out.dir);
  t.same(errors.map((e) => e.text), [], 'the example typechecks');
  const prog = await bundle(`${dir}/kvm/readme_example_test.ts`, out.dir);
  for (const name of PLATFORM_NAMES) {
    const r = runProgram(prog, [], { KSFT_BACKEND: 'model', KSFT_PLATFORM: name, KSFT_KERNEL: undefined, KSFT_TRACE: undefined });
    const skip = loadPlatform(name).genericConversionSkip();
    if (skip === null) {
      t.equal(r.status, 0, `${name}: passes: ${r.stderr}`);
      t.equal(r.stdout, 'Random seed: 0x6b8b4567\n', `${name}: prints only the seed`);
    } else {
      t.equal(r.status, 4, `${name}: skips: ${r.stderr}`);
      t.equal(r.stdout, `Random seed: 0x6b8b4567\n1..0 # SKIP - Requirement not met: ${skip}\n`, `${name}: the platform's reason`);
    }
  }
  // Of the upstream platforms four convert (docs/platform-matrix.md) and four skip; a platform added since runs above too.
  const converts = (n: string): boolean => loadPlatform(n).genericConversionSkip() === null;
  t.same(['sw_protected', 'snp', 'tdx', 'cca'].map(converts), [true, true, true, true]);
  t.same(['default', 'sev', 'sev_es', 'pkvm'].map(converts), [false, false, false, false]);
});

t.test('README guest-code snippet records a program the guest agent compiles', async (t) => {
  const md = readFileSync(`${ROOT}lib/kvm_util/README.md`, 'utf8');
  const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const snippet = blocks.find((b) => b.includes('const guestCode: GuestCode'));
  t.ok(snippet, 'the README shows guest code');
  const file = `${ROOT}tests/kvm/.readme_guest_${process.pid}.ts`;
  writeFileSync(file, `${snippet}
import { recordGuestProgram } from '../../lib/guest/index.js';
import { compileGuestProgram } from '../../lib/kvm/x86/agent.js';
const p = recordGuestProgram(guestCode);
const area = { gpa: 0x200000n, size: 0x200000n };
const image = compileGuestProgram({ ...p, area, ucallGpa: 0x10000n }, { area, ucallGpa: 0x10000n, ucallHva: 0x7f0000010000n, hypercall: 'vmcall', gbPages: true });
console.log(p.ops.map((o) => o.op).join(' '), image.bytes.length > 0);
`);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, 'ucall load while assert if loop ucall true\n');
  } finally {
    rmSync(file, { force: true });
  }
});
