/**
 * docs/tutorial.md is true: its template is what `make new_test` writes,
 * the messages it shows are the ones printed, its final test builds and
 * passes on sw_protected, tdx and snp, skips on sev with the reason shown,
 * and its trace and failure listings are what the test prints (pid and
 * host addresses aside). Listings are found by the
 * `<!-- tutorial: name -->` comment before them.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleTests } from '../../tools/build/bundle.js';
import { writeLauncher } from '../../tools/build/layout.js';
import { typecheck } from '../../tools/build/typecheck.js';
import { createTest, NewTestError } from '../../tools/new_test/create.js';
import { renderTest } from '../../tools/new_test/templates.js';
import { ROOT } from '../tools/runner/helpers.js';

const DOC = readFileSync(join(ROOT, 'docs/tutorial.md'), 'utf8');

/** The fenced block after `<!-- tutorial: name -->`. */
function listing(name: string): string {
  const m = new RegExp(`<!-- tutorial: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`).exec(DOC);
  if (!m) throw new Error(`docs/tutorial.md: no listing '${name}'`);
  return m[1]!;
}

// Like tests/, one level below the root, so the listings' imports resolve.
const SCRATCH = join(ROOT, `.tutorial_${process.pid}`);
t.teardown(() => rmSync(SCRATCH, { recursive: true, force: true }));

/** What the tutorial's paths read as, from the scratch copy. */
const asInTutorial = (s: string): string =>
  s.replaceAll(`.tutorial_${process.pid}/tests/`, 'tests/').replaceAll(`.tutorial_${process.pid}/`, 'tests/');

interface Run { code: number; stdout: string; stderr: string }

function run(file: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const full = { ...process.env, NODE_OPTIONS: '', KSFT_BACKEND: 'model', KSFT_PLATFORM: '', KSFT_KERNEL: '', KSFT_TRACE: '', ...env };
    execFile(file, [], { env: full, encoding: 'utf8', cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Build `source` as tests/kvm/my_conversion_test would be built (typechecked, bundled); returns the launcher. */
async function build(source: string, name = 'my_conversion_test'): Promise<string> {
  const dir = join(SCRATCH, 'kvm');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.ts`), source);
  const out = join(SCRATCH, 'build');
  const errors = typecheck(ROOT, [join(dir, `${name}.ts`)], out);
  if (errors.length) throw new Error(`the listing does not typecheck:\n${errors.map((e) => e.text).join('\n')}`);
  const b = await bundleTests([{ source: join(dir, `${name}.ts`), out: name }], out);
  mkdirSync(out, { recursive: true });
  for (const f of b.outputs) writeFileSync(f.path, f.contents);
  writeLauncher(out, name);
  return join(out, name);
}

t.test('step 1: the template and the messages are what make new_test writes and prints', async (t) => {
  t.equal(listing('template'), renderTest('plain', { name: 'my_conversion_test', collection: 'kvm' }));
  const template = await build(listing('template'), 'template_test');
  const r = await run(template);
  t.equal(r.code, 0, `the template passes: ${r.stderr}`);
  const tests = join(SCRATCH, 'tests');
  mkdirSync(join(tests, 'kvm'), { recursive: true });
  writeFileSync(join(tests, 'kvm/Makefile'), readFileSync(join(ROOT, 'tests/kvm/Makefile'), 'utf8').replace('../../tools/build/lib.mk', join(ROOT, 'tools/build/lib.mk')));
  writeFileSync(join(tests, 'kvm/guest_memfd_test.ts'), '');
  t.equal(asInTutorial(createTest({ COLLECTION: 'kvm', NAME: 'my_conversion_test' }, tests, ROOT)), listing('new_test'));
  t.equal(readFileSync(join(tests, 'kvm/my_conversion_test.ts'), 'utf8'), listing('template'));
  const taken = listing('taken').split('\n');
  try {
    createTest({ COLLECTION: 'kvm', NAME: 'guest_memfd_test' }, tests, ROOT);
    t.fail('a taken name is refused');
  } catch (e) {
    t.ok(e instanceof NewTestError, 'a refusal, not a crash');
    t.equal(asInTutorial((e as Error).message), taken[1], 'the refusal shown');
  }
  t.equal(taken[0], '$ make new_test COLLECTION=kvm NAME=guest_memfd_test');
});

t.test('steps 2 and 3: the conversion test passes on sw_protected, tdx and snp and skips on sev', async (t) => {
  const prog = await build(listing('final'));
  for (const platform of ['sw_protected', 'tdx', 'snp']) {
    const r = await run(prog, { KSFT_PLATFORM: platform });
    t.equal(r.code, 0, `${platform}: ${r.stderr}`);
    t.equal(r.stdout, 'Random seed: 0x6b8b4567\n', platform);
  }
  const sev = await run(prog, { KSFT_PLATFORM: 'sev' });
  t.equal(sev.code, 4);
  const shown = listing('sev').split('\n');
  t.equal(shown[0], '$ KSFT_PLATFORM=sev build/tests/kvm/my_conversion_test');
  t.equal(sev.stdout, `${shown.slice(1).join('\n')}`);
});

t.test('step 4: the trace shown is the one printed', async (t) => {
  const prog = await build(listing('final'));
  const r = await run(prog, { KSFT_PLATFORM: 'tdx', KSFT_TRACE: '1' });
  t.equal(r.code, 0);
  t.equal(`${r.stdout}${r.stderr}`, listing('trace tdx'));
});

t.test('step 5: the failure shown is the one printed (pid and host address aside)', async (t) => {
  const line = '  expectHostSees(c.vm, c.gpa, PAGE, 0xaa); // the private writes stayed private';
  const final = listing('final');
  t.equal(final.split(line).length, 2, 'the line the tutorial edits is there once');
  const prog = await build(final.replace(line, line.replace('0xaa', '0x55')));
  const r = await run(prog);
  t.equal(r.code, 254);
  const normal = (s: string): string => s.replace(/pid=\d+ tid=\d+/, 'pid=P tid=P').replace(/shared HVA 0x[0-9a-f]+/, 'shared HVA H');
  t.equal(normal(asInTutorial(`${r.stdout}${r.stderr}`)), normal(listing('failure')));
});

t.test('step 6: on a host without SW_PROTECTED VMs the kvm backend skips as shown; with them it passes', async (t) => {
  const prog = await build(listing('final'));
  const r = await run(prog, { KSFT_BACKEND: 'kvm' });
  const shown = listing('kvm').split('\n');
  t.equal(shown[0], '$ KSFT_BACKEND=kvm build/tests/kvm/my_conversion_test');
  if (r.code === 4 && r.stdout.includes('KVM_X86_SW_PROTECTED_VM')) t.equal(r.stdout, shown.slice(1).join('\n'));
  else t.equal(r.code, 0, `a KVM with SW_PROTECTED VMs runs it: ${r.stdout}${r.stderr}`);
});
