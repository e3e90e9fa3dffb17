// run_kselftest.sh's command line: selection (-t/-c/-S), -l, -d, -o, -s, -p,
// KSELFTEST_*_ARGS, unknown names and options, bad settings.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bundledRunner, makeTree, parseStreams, runRunner, tmpDir } from './helpers.js';

const twoCollections = () => makeTree({
  collections: {
    zeta: { z_one: { fixture: 'pass.sh' } },
    alpha: { a_one: { fixture: 'pass.sh' }, a_two: { fixture: 'skip.sh' }, a_three: { fixture: 'fail.sh' } },
    'coco/tdx': { tdx_smoke: { fixture: 'pass.sh' } },
  },
});

t.test('collections run in sorted order, one TAP stream each, numbering restarts', async (t) => {
  const r = await runRunner(twoCollections(), []);
  const streams = await parseStreams(r.stdout);
  t.equal(streams.length, 3);
  t.same(streams.map((s) => s.asserts.map((a) => `${a.id} ${a.name}`)), [
    ['1 selftests: alpha: a_one', '2 selftests: alpha: a_two', '3 selftests: alpha: a_three # exit=1'],
    ['1 selftests: coco/tdx: tdx_smoke'],
    ['1 selftests: zeta: z_one'],
  ]);
  t.same(streams.map((s) => s.plan.end), [3, 1, 1]);
  t.equal(r.code, 1);
});

t.test('-t and -c select, -S removes, names are checked', async (t) => {
  const tree = twoCollections();
  const a = await runRunner(tree, ['-t', 'zeta:z_one', '-c', 'coco/tdx']);
  t.same((await parseStreams(a.stdout)).map((s) => s.asserts.map((x) => x.name)), [
    ['selftests: coco/tdx: tdx_smoke'],
    ['selftests: zeta: z_one'],
  ]);
  t.equal(a.code, 0);
  const b = await runRunner(tree, ['--collection', 'alpha', '--skip', 'alpha:a_three', '-S', 'alpha:a_one']);
  const [s] = await parseStreams(b.stdout);
  t.same(s!.asserts.map((x) => `${x.id} ${x.name}`), ['1 selftests: alpha: a_two']);
  t.equal(b.code, 0, 'the failing test was skipped');

  const noTest = await runRunner(tree, ['-t', 'alpha:nope']);
  t.equal(noTest.code, 1);
  t.equal(noTest.stderr, "No such test 'alpha:nope'\n");
  t.equal(noTest.stdout, '', 'nothing runs');
  const noColl = await runRunner(tree, ['-c', 'beta']);
  t.equal(noColl.code, 1);
  t.equal(noColl.stderr, "No such collection 'beta'\n");
  const prefixOnly = await runRunner(tree, ['-c', 'coco']);
  t.equal(prefixOnly.stderr, "No such collection 'coco'\n", 'a collection is matched whole, not as a path prefix');
  const noSkip = await runRunner(tree, ['-S', 'alpha:nope']);
  t.equal(noSkip.code, 1);
  t.equal(noSkip.stderr, "No such test 'alpha:nope'\n");
});

t.test('-l lists, -d prints what would run', async (t) => {
  const tree = twoCollections();
  const l = await runRunner(tree, ['-l']);
  t.equal(l.code, 0);
  t.equal(l.stdout, readFileSync(tree.list, 'utf8'));
  const d = await runRunner(tree, ['-d', '-c', 'alpha', '-t', 'zeta:z_one']);
  t.equal(d.code, 0);
  t.equal(d.stdout, 'cd alpha\nrun_many a_one a_two a_three\ncd zeta\nrun_many z_one\n');
});

t.test('-h prints usage on stdout; unknown option prints it on stderr and exits 1', async (t) => {
  const h = await runRunner(undefined, ['-h']);
  t.equal(h.code, 0);
  t.match(h.stdout, /^Usage: run_kselftest\.sh \[OPTIONS\]/);
  t.match(h.stdout, /--no-error-on-fail/);
  const u = await runRunner(undefined, ['--bogus']);
  t.equal(u.code, 1);
  t.equal(u.stdout, '');
  t.match(u.stderr, /^run_kselftest\.sh: unknown option '--bogus'\nUsage: /);
});

t.test('option values are validated with one-line errors', async (t) => {
  const tree = twoCollections();
  const bad = await runRunner(tree, ['-o', 'soon']);
  t.equal(bad.code, 1);
  t.equal(bad.stderr, "run_kselftest.sh: invalid value 'soon' for option -o/--override-timeout: expected a whole number of seconds >= 0\n");
  const neg = await runRunner(tree, ['--override-timeout=-3']);
  t.equal(neg.stderr, "run_kselftest.sh: invalid value '-3' for option -o/--override-timeout: expected a whole number of seconds >= 0\n");
  const missing = await runRunner(tree, ['-t']);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'run_kselftest.sh: option -t/--test needs a value (COLLECTION:TEST)\n');
  const flagValue = await runRunner(tree, ['--list=yes']);
  t.equal(flagValue.stderr, "run_kselftest.sh: option -l/--list takes no value, got 'yes'\n");
});

t.test('timeouts: default 45, settings file, -o wins', async (t) => {
  const tree = makeTree({
    collections: { kvm: { a: { fixture: 'pass.sh' } }, other: { b: { fixture: 'pass.sh' } } },
    settings: { kvm: '# kvm settings\n\ntimeout=120\n' },
  });
  const r = await runRunner(tree, []);
  t.match(r.stdout, /^# timeout set to 120\n# selftests: kvm: a$/m);
  t.match(r.stdout, /^# timeout set to 45\n# selftests: other: b$/m);
  const o = await runRunner(tree, ['-o', '7']);
  t.match(o.stdout, /^# overriding timeout to 7\n# selftests: kvm: a$/m);
  t.match(o.stdout, /^# overriding timeout to 7\n# selftests: other: b$/m);
});

t.test('a malformed settings file is an error naming file and line', async (t) => {
  const tree = makeTree({ collections: { kvm: { a: { fixture: 'pass.sh' } } }, settings: { kvm: '# ok\ntimeout=10\ntimeout 30\n' } });
  const r = await runRunner(tree, []);
  t.equal(r.code, 1);
  t.equal(r.stdout, '', 'checked before any TAP is printed');
  t.equal(r.stderr, `run_kselftest.sh: ${join(tree.base, 'kvm/settings')}:3: malformed line 'timeout 30': expected key=value\n`);
  writeFileSync(join(tree.base, 'kvm/settings'), 'timeout=2m\n');
  const v = await runRunner(tree, []);
  t.equal(v.code, 1);
  t.equal(v.stderr, `run_kselftest.sh: ${join(tree.base, 'kvm/settings')}:1: invalid timeout '2m': expected a whole number of seconds\n`);
});

t.test('KSELFTEST_<NAME>_ARGS reaches the test, split without a shell', async (t) => {
  const tree = makeTree({ collections: { kvm: { 'private-mem.test': { fixture: 'args.sh' } } } });
  const r = await runRunner(tree, [], { env: { KSELFTEST_PRIVATE_MEM_TEST_ARGS: `-n 2 "two words" 'a $HOME b' ;x` } });
  t.match(r.stdout, '# argc=5\n# arg=[-n]\n# arg=[2]\n# arg=[two words]\n# arg=[a $HOME b]\n# arg=[;x]\n');
  const bad = await runRunner(tree, [], { env: { KSELFTEST_PRIVATE_MEM_TEST_ARGS: '"open' } });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /KSELFTEST_PRIVATE_MEM_TEST_ARGS: unterminated " quote/);
});

t.test('-s writes test bodies to output.log, -p to /tmp/<test>', async (t) => {
  const tree = makeTree({ collections: { kvm: { ksft_runner_log_probe: { fixture: 'pass.sh' } } } });
  const s = await runRunner(tree, ['-s']);
  t.equal(s.stdout, 'TAP version 13\n1..1\n# selftests: kvm: ksft_runner_log_probe\nok 1 selftests: kvm: ksft_runner_log_probe\n');
  t.equal(readFileSync(join(tree.base, 'output.log'), 'utf8'), '# timeout set to 45\n# pass: stdout line\n# pass: stderr line\n');
  const p = await runRunner(tree, ['-p']);
  t.equal(p.stdout, s.stdout);
  t.equal(readFileSync('/tmp/ksft_runner_log_probe', 'utf8'), '# timeout set to 45\n# pass: stdout line\n# pass: stderr line\n');
});

t.test('a missing or malformed list file', async (t) => {
  const tree = twoCollections();
  const gone = join(tree.base, 'no-such-list.txt');
  const r = await runRunner(undefined, ['--base-dir', tree.base, '--list-file', gone]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `run_kselftest.sh: Could not find list of tests to run (${gone})\n`);
  writeFileSync(tree.list, 'alpha:a_one\nbroken line\n');
  const m = await runRunner(tree, []);
  t.equal(m.code, 1);
  t.equal(m.stderr, `run_kselftest.sh: ${tree.list}:2: malformed entry 'broken line': expected COLLECTION:TEST\n`);
});

t.test('-n runs each test in a fresh network namespace', async (t) => {
  const tree = makeTree({ collections: { net: { ns_test: { fixture: 'netns.sh' } } } });
  const r = await runRunner(tree, ['-n']);
  if (/Create namespace failed/.test(r.stdout)) {
    // Without CAP_SYS_ADMIN the kernel's answer is a failed result, not a crash.
    t.match(r.stdout, /^# Warning: Create namespace failed for ns_test\nnot ok 1 selftests: net: ns_test # Create NS failed$/m);
    t.equal(r.code, 1);
    return;
  }
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /^# links: lo$/m, 'only the loopback device exists in the namespace');
  const left = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('ns_test-')) : [];
  t.same(left, [], 'namespace removed');
});

t.test('--ktap: the later runner shape; 6.12 shape has no XFAIL arm', async (t) => {
  const tree = makeTree({
    collections: {
      beta: { b_xfail: { fixture: 'xfail.sh' }, b_hang: { fixture: 'hang.sh' } },
      alpha: { a_pass: { fixture: 'pass.sh' }, a_skip: { fixture: 'skip.sh' } },
    },
  });
  const env = { KSFT_FIXTURE_PIDS: join(tree.base, 'pids') };
  const k = await runRunner(tree, ['--ktap', '-o', '1'], { env });
  const streams = await parseStreams(k.stdout);
  t.equal(streams.length, 1, 'one stream for the whole run');
  const s = streams[0]!;
  t.match(s.plan, { start: 1, end: 4 });
  t.same(s.asserts.map((a) => `${a.id} ${a.ok} ${a.name}`), [
    '1 true selftests: alpha: a_pass',
    '2 true selftests: alpha: a_skip',
    '3 true selftests: beta: b_xfail # XFAIL',
    '4 false selftests: beta: b_hang # TIMEOUT 1 seconds',
  ], 'numbers continue across collections');
  t.notMatch(k.stdout, /^#\n/m, 'no bare # before TIMEOUT');
  t.match(k.stdout, /\n# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0\n$/);
  t.equal(k.code, 1);

  const old = await runRunner(tree, ['-t', 'beta:b_xfail']);
  t.match(old.stdout, /^not ok 1 selftests: beta: b_xfail # exit=2$/m, '6.12: exit 2 is a failure');
  t.equal(old.code, 1);
});

t.test('-o beyond 2^31 ms (3000000 s) is a long timeout, not an immediate one', async (t) => {
  const tree = makeTree({ collections: { kvm: { slow: { fixture: 'sleep_short.sh' } } } });
  const r = await runRunner(tree, ['-o', '3000000']);
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /^# overriding timeout to 3000000\n# selftests: kvm: slow\n# slept\nok 1 selftests: kvm: slow$/m);
});

t.test('two runners sharing output.log (-s) or /tmp/<test> (-p) append, as the kernel does', async (t) => {
  for (const mode of ['-s', '-p'] as const) {
    const name = `ksft_runner_barrier_${process.pid}`;
    const tree = makeTree({ collections: { kvm: { [name]: { fixture: 'barrier.sh' } } } });
    const meet = tmpDir('ksft-barrier-');
    const log = mode === '-s' ? join(tree.base, 'output.log') : `/tmp/${name}`;
    const env = (me: string, other: string) => ({ env: { KSFT_BARRIER_DIR: meet, KSFT_BARRIER_ME: me, KSFT_BARRIER_OTHER: other } });
    try {
      const first = runRunner(tree, [mode], env('A', 'B'));
      // The second run starts (and empties the log, as the kernel's does) once
      // the first has written into it; from then on both only append.
      const until = Date.now() + 10_000;
      while (!existsSync(join(meet, 'A')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const second = runRunner(tree, [mode], env('B', 'A'));
      const [a, b] = await Promise.all([first, second]);
      t.same([a.code, b.code], [0, 0], mode);
      const text = readFileSync(log, 'latin1');
      t.notMatch(text, /\0/, `${mode}: no hole left by a write at a stale offset`);
      t.match(text, /^# last line of A$/m, `${mode}: the first run's last line survives`);
      t.match(text, /^# last line of B$/m, `${mode}: the second run's last line survives`);
      t.match(text, /^# first line of B$/m, mode);
    } finally {
      if (mode === '-p') rmSync(log, { force: true });
    }
  }
});

t.test('-p: a log that cannot be created fails that test (exit=2) and the run goes on', async (t) => {
  const bad = `ksft_runner_plog_dir_${process.pid}`;
  const good = `ksft_runner_plog_ok_${process.pid}`;
  const tree = makeTree({ collections: { kvm: { [bad]: { fixture: 'pass.sh' }, [good]: { fixture: 'pass.sh' } } } });
  mkdirSync(`/tmp/${bad}`);
  try {
    const r = await runRunner(tree, ['-p']);
    t.equal(r.stdout, `TAP version 13\n1..2\n# selftests: kvm: ${bad}\nnot ok 1 selftests: kvm: ${bad} # exit=2\n# selftests: kvm: ${good}\nok 2 selftests: kvm: ${good}\n`);
    t.equal(r.stderr, `run_kselftest.sh: cannot create /tmp/${bad}: Is a directory\n`);
    t.equal(r.code, 1);
    t.equal(readFileSync(`/tmp/${good}`, 'utf8'), '# timeout set to 45\n# pass: stdout line\n# pass: stderr line\n');
  } finally {
    rmSync(`/tmp/${bad}`, { recursive: true, force: true });
    rmSync(`/tmp/${good}`, { force: true });
  }
});

t.test('a settings file that never ends (a link to /dev/zero) is an error, with flat memory', async (t) => {
  const tree = makeTree({ collections: { kvm: { a: { fixture: 'pass.sh' } } } });
  symlinkSync('/dev/zero', join(tree.base, 'kvm/settings'));
  const runner = await bundledRunner();
  const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  // Guard the machine: a runner that reads on without bound is stopped at 400 MB or 15 s.
  let peakKb = 0;
  let killed = false;
  const poll = setInterval(() => {
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      peakKb = Math.max(peakKb, Number(m?.[1] ?? 0));
    } catch { /* gone */ }
    if (peakKb > 400 * 1024) {
      killed = true;
      child.kill('SIGKILL');
    }
  }, 20);
  const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, 15_000);
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  clearInterval(poll);
  clearTimeout(timer);
  t.notOk(killed, `the runner stopped by itself (peak RSS ${Math.round(peakKb / 1024)} MB)`);
  t.equal(code, 1);
  t.equal(out, '', 'nothing printed on stdout');
  t.equal(err, `run_kselftest.sh: ${join(tree.base, 'kvm/settings')}: larger than 65536 bytes (a file that never ends?)\n`);
  unlinkSync(join(tree.base, 'kvm/settings'));
});
