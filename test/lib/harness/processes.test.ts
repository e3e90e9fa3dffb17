/**
 * The harness's process model: teardown exactly once, timeouts that kill the
 * whole process group, termination of the harness taking the test down, and
 * the exact assertion messages.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bundle, cleanEnv, nodeCommand, runMerged, runProgram, tempDir } from '../kselftest/support.js';

const { dir, remove } = tempDir('ksft-harness-proc-');
t.teardown(remove);

/** Alive and not a zombie (a container's init may not reap orphans at once). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const state = readFileSync(stat, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function gone(pids: number[], ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pids.every((p) => !alive(p))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids.every((p) => !alive(p));
}

t.test('FIXTURE_SETUP() returning its state: typed fields in the tests and teardowns, none after an early stop', async (t) => {
  const program = await bundle('test/lib/harness/programs/typed_setup.ts', dir);
  const log = join(dir, 'typed_setup.log');
  const r = runProgram(program, [], { TEARDOWN_LOG: log });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^ok 1 sized\.two\.sees_state$/m);
  t.match(r.stdout, /^ok 2 owned\.has_pid$/m);
  t.match(r.stdout, /^ok 3 skipped\.body # SKIP no device$/m);
  t.same(readFileSync(log, 'utf8').trim().split('\n'), ['teardown vm2 fd=42 calls=1', 'parent-teardown same=0'],
    'the returned fields reach the teardown (and the parent\'s copy); a setup that skipped returns nothing and has no teardown');
});

t.test('teardown runs exactly once, in the right process', async (t) => {
  const program = await bundle('test/lib/harness/programs/teardown_once.ts', dir);
  const log = join(dir, 'teardown.log');
  const r = runProgram(program, [], { TEARDOWN_LOG: log });
  t.equal(r.status, 1);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  const what = lines.map((l) => l.split(' ')[0]);
  t.same(what, [
    'child-teardown-passes',
    'child-teardown-asserts',
    'child-teardown-boom',
    'parent-setup',
    'parent-teardown-asserts',
    'parent-setup',
    'parent-teardown-exits',
  ], 'once per test; none after a failed setup or a timeout; ASSERT in teardown does not repeat it');
  const pid = (i: number) => lines[i]?.split(' ')[1];
  t.not(pid(3), pid(4), 'FIXTURE_TEARDOWN_PARENT runs outside the test process');
  t.equal(pid(4), pid(6), 'both parent teardowns run in the harness process');
  t.match(r.stdout, /^not ok 2 child\.asserts$/m);
  t.match(r.stderr, /^# asserts: Test terminated by assertion$/m);
  t.match(r.stderr, /^# teardown_asserts: Test terminated by assertion$/m);
  t.match(r.stderr, /^# times_out: Test terminated by timeout$/m);
  t.match(r.stderr, /^# body: Test failed$/m, 'an EXPECT failing in setup fails the test without running it');
  t.match(r.stdout, /^ok 6 parent\.exits$/m);
});

t.test('a timeout kills the test process and its grandchild', async (t) => {
  const program = await bundle('test/lib/harness/programs/grandchild.ts', dir);
  const started = Date.now();
  const r = runMerged(program);
  const elapsed = Date.now() - started;
  const m = /test pid=(\d+) grandchild pid=(\d+)/.exec(r.output);
  t.ok(m, 'the test reported its pids');
  const pids = [Number(m?.[1]), Number(m?.[2])];
  t.ok(pids.every((p) => p > 0));
  t.ok(await gone(pids), 'neither the test process nor the sleeping grandchild survives');
  t.match(r.output, /# hangs: Test terminated by timeout\n#          FAIL  sleeper\.hangs\nnot ok 1 sleeper\.hangs\n/);
  t.equal(r.status, 1);
  t.ok(elapsed < 30_000, 'the one-second TEST_F_TIMEOUT applied, not the 60 s sleep');
});

t.test('terminating the harness takes the running test group down', async (t) => {
  const program = join(dir, 'grandchild.mjs');
  const [cmd, argv] = nodeCommand(program, []);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: cleanEnv({}) });
  let out = '';
  const pids = await new Promise<number[]>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /test pid=(\d+) grandchild pid=(\d+)/.exec(out);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
  });
  child.kill('SIGTERM');
  const [, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  t.equal(signal, 'SIGTERM', 'the harness dies by the signal it got');
  t.ok(await gone(pids), 'the test process group is gone too');
});

t.test('assertion messages: expressions as written, values as C prints them', async (t) => {
  const program = await bundle('test/lib/harness/programs/asserts.ts', dir);
  const r = runMerged(program);
  t.equal(r.status, 1);
  const body = r.output.split('\n').filter((l) => l.startsWith('# asserts.ts:'));
  t.same(body, [
    '# asserts.ts:27:messages:Expected gpa + 1n (4097) == 0x2000n (8192)',
    '# asserts.ts:28:messages:Expected size (4096) != 4096 (4096)',
    '# asserts.ts:29:messages:Expected size (4096) < 10 (10)',
    '# asserts.ts:30:messages:Expected 2 (2) <= 1 (1)',
    '# asserts.ts:31:messages:Expected -1 (-1) > 0 (0)',
    '# asserts.ts:32:messages:Expected Number.MIN_SAFE_INTEGER (-9007199254740991) >= size * 2 (8192)',
    '# asserts.ts:33:messages:Expected NULL (0) == { fd: 3 } ({ fd: 3 })',
    '# asserts.ts:34:messages:Expected 0 (0) != false (0)',
    '# asserts.ts:35:messages:Expected 0 (0) == size (4096)',
    "# asserts.ts:36:messages:Expected 'guest_memfd' == 'guest_mem'.",
    "# asserts.ts:37:messages:Expected 'a' != 'a'.",
    '# asserts.ts:38:messages:Expected Math.max(1, 2, 3) (3) == 4 (4)',
    '# asserts.ts:40:messages:Expected true (1) == 0 (0)',
    '# asserts.ts:44:messages:gpa=0x1000',
    '# asserts.ts:46:messages:Expected r.errno (EINVAL (22)) == EFAULT (14)',
    '# asserts.ts:47:messages:Expected EINVAL (22) != r.errno (EINVAL (22))',
  ]);
  t.match(r.output, /# messages: Test failed\n#          FAIL  global\.messages\nnot ok 1 global\.messages\n/);
});

t.test('an exception in a test: its stack shows the test\'s frames, not the harness machinery', async (t) => {
  const program = await bundle('test/lib/harness/programs/asserts.ts', dir);
  const r = runMerged(program);
  const stack = r.output.split('\n').filter((l) => l.startsWith('# throws:'));
  t.same(stack.slice(0, 3), [
    '# throws: Error: the helper broke',
    `# throws:     at brokenHelper (test/lib/harness/programs/asserts.ts:52:9)`,
    `# throws:     at Object.fn (test/lib/harness/programs/asserts.ts:56:3)`,
  ]);
  t.notMatch(r.output, /lib\/harness\/(child|run|registry)\.ts/, 'no frame of the harness machinery');
  t.notMatch(r.output, /node:internal/, 'no frame of Node itself');
  t.match(r.output, /not ok 2 global\.throws\n/);
});

t.test('a library skip inside a TEST is that TEST\'s SKIP: one result line with the reason, no stray plan', async (t) => {
  const program = await bundle('test/lib/harness/programs/library_skip.ts', dir);
  for (const backend of ['model', 'kvm']) {
    const r = runProgram(program, [], { KSFT_BACKEND: backend });
    t.equal(r.status, 0, backend);
    const lines = r.stdout.split('\n');
    t.equal(lines.filter((l) => /^1\.\.\d/.test(l)).length, 1, `${backend}: exactly one plan line`);
    t.ok(lines.includes('ok 1 global.requires_a_cap # SKIP Requirement not met: kvm_has_cap(KVM_CAP_FOO)'), `${backend}: ${r.stdout}`);
    t.ok(lines.includes('ok 2 global.runs'), backend);
    t.ok(lines.includes(backend === 'model'
      ? 'ok 3 global.needs_the_model'
      : 'ok 3 global.needs_the_model # SKIP Requirement not met: model backend (memory poison injection)'), backend);
    t.match(r.stdout, /# Totals: pass:\d+ fail:0 xfail:0 xpass:0 skip:\d+ error:0\n$/, backend);
  }
});

t.test('each TEST runs in a process, process group and session of its own, without eager source maps', async (t) => {
  const program = await bundle('test/lib/harness/programs/identity.ts', dir);
  const r = runMerged(program);
  t.equal(r.status, 0, r.output);
  const rows = [...r.output.matchAll(/pid=(\d+) ppid=(\d+) pgrp=(\d+) sid=(\d+) maps=(\w+)/g)].map((m) => m.slice(1));
  t.equal(rows.length, 3);
  t.equal(new Set(rows.map((x) => x[0])).size, 3, 'three processes');
  for (const [pid, ppid, pgrp, sid, maps] of rows) {
    t.equal(pgrp, pid, 'its own process group');
    t.equal(sid, pid, 'its own session');
    t.equal(ppid, rows[0]![1], 'all children of the harness');
    t.equal(maps, 'false', 'no --enable-source-maps in the test process');
  }
});

t.test('a harness killed with SIGKILL leaves no test process and no file behind', async (t) => {
  const program = await bundle('test/lib/harness/programs/hang_pid.ts', dir);
  const tmp = join(dir, 'tmp-sigkill');
  mkdirSync(tmp);
  const pids = join(dir, 'pids-sigkill');
  writeFileSync(pids, '');
  const [cmd, argv] = nodeCommand(program, []);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: cleanEnv({ KSFT_FIXTURE_PIDS: pids, TMPDIR: tmp }) });
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('# test process hanging')) resolve();
    });
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  t.equal(started.length, 2);
  // The TEST's process notices its harness is gone and ends its own group (the sleeper with it).
  t.ok(await gone(started), 'the test process and its grandchild are gone');
  t.same(readdirSync(tmp), [], 'nothing left in TMPDIR');
});
