// The vm_ make targets with a stand-in QEMU (fake_qemu.mjs plays the guest on
// the host) over the fixture collections: stdout is the TAP of run_tests
// only, failures fail the target, a bad KERNEL= stops before any build
// (VM_CHECK_CMD is a make variable: a shell $ is written $$).
// Nothing here builds or boots a kernel.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tmpDir } from '../runner/helpers.js';

const FIXTURE_TESTS = join(ROOT, 'test/tools/fixtures/tests');
const build = tmpDir('ksft-vm-make-');
const kernel = join(tmpDir('ksft-vm-make-kernel-'), 'bzImage');
writeFileSync(kernel, 'not a kernel\n');
const vars = [`KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${build}`];
const fake = [`KERNEL=${kernel}`, `KSFT_VM_QEMU=${join(ROOT, 'test/tools/vm/fake_qemu.mjs')}`];
// The runner must not see tap's module hooks from the environment of this test.
const env = { ...process.env, NODE_OPTIONS: '', MAKEFLAGS: '', HOME: tmpDir('ksft-vm-make-home-') };

function make(args: readonly string[]) {
  const r = spawnSync('make', ['--no-print-directory', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a missing KERNEL=: one line, before any build', async (t) => {
  for (const target of ['vm_kernel', 'vm_run_tests', 'vm_check']) {
    const r = make([target, ...vars, 'KERNEL=/nonexistent/bzImage']);
    t.not(r.code, 0, target);
    t.equal(r.stdout, '', `${target}: nothing on stdout`);
    t.match(r.stderr, /^vm: KERNEL=\/nonexistent\/bzImage: no such file$/m, target);
    t.notMatch(r.stderr, /build:|booting/, `${target}: stopped before the build`);
  }
  const k = make(['vm_kernel', `KERNEL=${kernel}`]);
  t.same([k.code, k.stdout], [0, `${kernel}\n`], 'vm_kernel with KERNEL= prints it');
});

t.test('vm_run_tests: stdout is the TAP of run_tests inside the VM', async (t) => {
  const vm = make(['vm_run_tests', ...vars, ...fake, 'TARGETS=demo']);
  t.equal(vm.code, 0, vm.stderr);
  t.equal(vm.stdout, [
    'TAP version 13', '1..3',
    '# timeout set to 7', '# selftests: demo: demo_pass',
    '# TAP version 13', '# 1..1', '# ok 1 read demo data', '# # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0',
    'ok 1 selftests: demo: demo_pass',
    '# timeout set to 7', '# selftests: demo: demo_skip', '# TAP version 13', '# 1..0 # SKIP demo requirement not met',
    'ok 2 selftests: demo: demo_skip # SKIP',
    '# timeout set to 7', '# selftests: demo: demo_script.sh', '# script in demo',
    'ok 3 selftests: demo: demo_script.sh', '',
  ].join('\n'), 'the TAP of make run_tests, nothing else');
  t.match(vm.stderr, /^vm: job exit status 0 /m);
  const failing = make(['vm_run_tests', ...vars, ...fake, 'SKIP_TARGETS=demo']);
  t.not(failing.code, 0, 'a failed test fails the target');
  t.match(failing.stdout, /^not ok 1 selftests: nested\/inner: inner_test # exit=1$/m);
  t.notMatch(failing.stdout, /demo/, 'SKIP_TARGETS honoured');
  t.match(failing.stderr, /^vm: job exit status 2 /m, 'the job is make, which exits 2');
  const f = make(['vm_run_tests', ...vars, ...fake, 'TARGETS=nested/inner', 'RUNNER_ARGS=-f']);
  t.equal(f.code, 0, 'RUNNER_ARGS reaches the runner inside');
});

t.test('vm_check: VM_CHECK_CMD replaces the list; its status fails the target', async (t) => {
  const r = make(['vm_check', ...vars, ...fake, `VM_CHECK_CMD=echo "it's $$KSFT_BACKEND"; exit 3`]);
  t.not(r.code, 0);
  t.equal(r.stdout, "it's kvm\n");
  t.match(r.stderr, /^vm_check: VM_CHECK_CMD: exit status 3, [0-9.]+ s$/m);
  t.match(r.stderr, /^vm: job exit status 1 /m);
});
