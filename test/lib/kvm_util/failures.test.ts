/**
 * What kvm_util prints when a test fails or skips, byte for byte where C is
 * exact: the assertion block, TEST_REQUIRE's skip line, KVM_IOCTL_ERROR,
 * the EACCES skip, exit reasons, guest asserts and the visibility helpers.
 * Each case runs fixtures/failures.ts as its own process, as a selftest runs
 * (bundled once, started as plain node from the repository root).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PLATFORM_NAMES } from '../../../lib/kvm_util/platform_types.js';
import { bundle, cleanEnv, nodeCommand, REPO, tempDir } from '../kselftest/support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/failures.ts', import.meta.url));
const REL = 'test/lib/kvm_util/fixtures/failures.ts';
const SRC = readFileSync(FIXTURE, 'utf8').split('\n');
const lineOf = (name: string): number => SRC.findIndex((l) => l.includes(`@case:${name}`)) + 1;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

const scratch = tempDir('ksft-failures-');
t.teardown(scratch.remove);
const BUNDLE = await bundle(REL, scratch.dir);

function run(name: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const [cmd, args] = nodeCommand(BUNDLE, [name]);
    const child = spawn(cmd, args, {
      cwd: REPO,
      env: cleanEnv({ KSFT_BACKEND: '', KSFT_KERNEL: '', KSFT_PLATFORM: '', KSFT_RANDOM_SEED: '', ...env }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const SEED = 'Random seed: 0x6b8b4567\n';
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The whole stderr of a failed TEST_ASSERT: header, site, pid/errno, >= 1 stack line, message lines. */
function block(site: string, errno: string, message: string): RegExp {
  return new RegExp(
    `^==== Test Assertion Failure ====\\n  ${esc(site)}\\n  pid=(\\d+) tid=\\1 errno=${esc(errno)}\\n(?:     \\d+\\t.+ at .+:\\d+\\n)+${esc(message)}$`,
  );
}

t.test('TEST_ASSERT: block with the caller file:line, condition text, errno, stack, message; exit 254', async (t) => {
  const r = await run('assert');
  t.equal(r.code, 254);
  t.equal(r.stdout, SEED);
  t.match(r.stderr, block(`${REL}:${lineOf('assert')}: fd >= 0`, '0 - Success', '  the message\n'));
  t.match(r.stderr, new RegExp(`     1\\tassert at ${esc(REL)}:${lineOf('assert')}\\n`), 'innermost frame is the test line');
});

t.test('TEST_ASSERT_EQ: "a == b" and "%#lx != %#lx (a != b)"', async (t) => {
  const r = await run('assert_eq');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('assert_eq')}: a == 5`, '0 - Success', '  0x3 != 0x5 (a != 5)\n'));
});

t.test('TEST_FAIL: condition text "Failed"', async (t) => {
  const r = await run('fail');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('fail')}: Failed`, '0 - Success', '  Unknown ucall 0x9.\n'));
});

t.test('KVM_IOCTL_ERROR names the ioctl, rc and errno; errno line follows the failed call', async (t) => {
  const r = await run('ioctl_error');
  t.equal(r.code, 254);
  t.match(r.stderr, /^==== Test Assertion Failure ====\n  lib\/kvm_util\/gmem\.ts:\d+: fd >= 0\n  pid=\d+ tid=\d+ errno=22 - Invalid argument\n/);
  t.match(r.stderr, /\n  KVM_CREATE_GUEST_MEMFD failed, rc: -1 errno: 22 \(Invalid argument\)\n$/);
  t.match(r.stderr, new RegExp(`\\tioctl_error at ${esc(REL)}:\\d+\\n`), 'the stack reaches the test');
});

t.test('a raw call sets errno for a later TEST_ASSERT', async (t) => {
  const r = await run('raw_then_assert');
  t.match(r.stderr, block(`${REL}:${lineOf('raw_then_assert')}: r.ret >= 0`, '22 - Invalid argument',
    '  guest_memfd() with flag 0x8000000000000000 should succeed\n'));
});

t.test('TEST_REQUIRE: "1..0 # SKIP - Requirement not met: <text>", exit 4, nothing on stderr', async (t) => {
  const r = await run('require');
  t.equal(r.code, 4);
  t.equal(r.stdout, `${SEED}1..0 # SKIP - Requirement not met: kvm_has_cap(KVM_CAP_FOO)\n`);
  t.equal(r.stderr, '');
});

t.test('errno EACCES turns an assertion into a skip', async (t) => {
  const r = await run('eacces');
  t.equal(r.code, 4);
  t.equal(r.stdout, `${SEED}Access denied - Exiting, skipping test\n`);
  t.equal(r.stderr, '');
});

t.test('TEST_ASSERT_KVM_EXIT_REASON', async (t) => {
  const r = await run('exit_reason');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('exit_reason')}: exit_reason == (KVM_EXIT_IO)`, '0 - Success',
    '  Wanted KVM exit reason: 2 (IO), got: 17 (INTERNAL_ERROR)\n'));
});

t.test('TEST_ASSERT_EQ on errno values prints their names, not hex', async (t) => {
  const r = await run('errno_eq');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('errno_eq')}: r.errno == EFAULT`, '22 - Invalid argument',
    '  EINVAL (22) != EFAULT (14) (r.errno != EFAULT)\n'));
});

t.test('TEST_ASSERT_EQ on exit reasons prints their names', async (t) => {
  const r = await run('exit_eq');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('exit_eq')}: vcpu.run.exitReason == KVM_EXIT_IO`, '0 - Success',
    '  KVM_EXIT_INTERNAL_ERROR (17) != KVM_EXIT_IO (2) (vcpu.run.exitReason != KVM_EXIT_IO)\n'));
});

t.test('getUcall() on an MMIO exit: the failure says which exit it was and that no memslot covers the address', async (t) => {
  const r = await run('mmio_ucall');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('mmio_ucall')}: uc.cmd == UCALL_DONE`, '0 - Success',
    '  UCALL_NONE (0) != UCALL_DONE (4) (uc.cmd != UCALL_DONE)\n' +
    '  no ucall: the last getUcall() found vCPU 0: KVM_EXIT_MMIO (6): write of 8 bytes at gpa 0xc0000000, ' +
    'outside every memslot (a guest access no memslot covers exits as MMIO)\n'));
});

t.test('runToUcall() stopping at a non-ucall exit names it, at the test line', async (t) => {
  const r = await run('mmio_run_to_ucall');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('mmio_run_to_ucall')}: ucall UCALL_DONE`, '0 - Success',
    '  Wanted UCALL_DONE, the vCPU exited without a ucall: vCPU 0: KVM_EXIT_MMIO (6): write of 8 bytes at gpa 0xc0000000, ' +
    'outside every memslot (a guest access no memslot covers exits as MMIO)\n'));
});

t.test('REPORT_GUEST_ASSERT: located at the guest step, with the guest message and page states', async (t) => {
  const r = await run('guest_assert');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('guest_assert')}: guest sees 0x22 at [0x100000000, 0x100001000)`, '0 - Success',
    '  Guest expected 0x22 at offset 0 (gpa 0x100000000), got 0x11\n' +
    '  (guest side, auto view)\n' +
    '  page states (as last requested by the test): >0x100000000 shared, 0x100001000 private, 0x100002000 shared\n'));
});

t.test('expectHostSees: first mismatch offset, gpa, expected/actual, side, page states', async (t) => {
  const r = await run('host_sees');
  t.equal(r.code, 254);
  t.match(r.stderr, new RegExp(`  ${esc(REL)}:${lineOf('host_sees')}: host sees 0x33 at \\[0x100000000, 0x100004000\\)\\n`));
  t.match(r.stderr, /\n  Host expected 0x33 at offset 0x2010 \(gpa 0x100002010\), got 0x44 \(host side, via the shared HVA 0x[0-9a-f]+\)\n/);
  t.match(r.stderr, /\n  bytes at gpa 0x100002010: 44 44 44 44 33 33 33 33\n/);
  t.match(r.stderr, /\n  page states \(as last requested by the test\): 0x100000000 shared, 0x100001000 shared, >0x100002000 private\/hole, 0x100003000 shared\n$/);
});

t.test("TEST_EXPECT_SIGBUS: \"'<action>' should have triggered SIGBUS\"", async (t) => {
  const r = await run('sigbus');
  t.equal(r.code, 254);
  t.match(r.stderr, block(`${REL}:${lineOf('sigbus')}: Failed`, '0 - Success', "  'hostRead(mem, 1)' should have triggered SIGBUS\n"));
});

t.test('the seed line comes first, from KSFT_RANDOM_SEED when set', async (t) => {
  const r = await run('pass', { KSFT_RANDOM_SEED: '0x1234' });
  t.equal(r.code, 0);
  t.equal(r.stdout, 'Random seed: 0x1234\n');
});

t.test('the watchdog ends a KVM_RUN that never returns and fails the test at the run', async (t) => {
  const started = Date.now();
  const r = await run('watchdog', { KSFT_VCPU_TIMEOUT: '1' });
  t.equal(r.code, 254);
  t.ok(Date.now() - started < 20_000, 'well before any runner timeout');
  t.match(r.stderr, block(`${REL}:${lineOf('watchdog')}: KVM_RUN returned`, '4 - Interrupted system call',
    '  vCPU 0: KVM_RUN did not return within 1 s (KSFT_VCPU_TIMEOUT): the guest neither exited nor was interrupted; ' +
    'the watchdog ended it with immediate_exit and a signal\n'));
});

t.test('a model-only feature on another backend is an unmet requirement, not an error', async (t) => {
  const model = await run('model_only');
  t.equal(model.code, 0, 'the model has it');
  const kvm = await run('model_only', { KSFT_BACKEND: 'kvm' });
  t.equal(kvm.code, 4);
  t.equal(kvm.stdout, `${SEED}1..0 # SKIP - Requirement not met: model backend (memory poison injection)\n`);
});

t.test('a bad KSFT_* value is one line naming the variable and value, exit 1', async (t) => {
  for (const [k, v, expected] of [
    ['KSFT_KERNEL', '5.4', '6.12|6.18|6.19|7.4'],
    ['KSFT_BACKEND', 'qemu', 'model|kvm'],
    ['KSFT_PLATFORM', 'arm', `${PLATFORM_NAMES.join('|')} or a plugin path (./dir)`],
    ['KSFT_TRACE', 'yes', '0|1'],
  ] as const) {
    const r = await run('pass', { [k]: v });
    t.equal(r.code, 1, k);
    t.equal(r.stdout, '', `${k}: nothing on stdout`);
    t.equal(r.stderr, `${k}: invalid value '${v}' (expected ${expected})\n`);
  }
});

t.test('an unexpected host SIGBUS kills the program with SIGBUS, as in C', async (t) => {
  const r = await run('uncaught_sigbus');
  t.equal(r.signal, 'SIGBUS');
  t.match(r.stderr, /^SIGBUS \(BUS_ADRERR\) at 0x[0-9a-f]+/);
});

t.test('atoi_positive(): each way a number is refused, as test_util.c words it; exit 254', async (t) => {
  const cases: Array<[string, string]> = [
    ['atoi_trailing', 'strtol("3x") failed to parse trailing characters "x".'],
    ['atoi_none', 'strtol("many") didn\'t find a valid integer.'],
    ['atoi_range', '2147483648 not in range of [-2147483648, 2147483647]'],
    ['atoi_zero', "Number of iterations must be greater than 0, got '0'"],
  ];
  for (const [name, message] of cases) {
    const r = await run(name);
    t.equal(r.code, 254, name);
    t.match(r.stderr, new RegExp(`^==== Test Assertion Failure ====\\n[\\s\\S]*\\n  ${esc(message)}\\n$`), name);
  }
});
