// Peer test: our run_kselftest.sh against the kernel's 6.12 run_kselftest.sh
// + kselftest/runner.sh + prefix.pl (from the linux-source-6.12 tarball, run
// by /bin/sh as installed kselftests are). One fixture collection is
// installed twice, both runners get the same options, and their stdout,
// stderr and -s logs must be byte-identical after the normalisations below.
//
// Normalisations, each for a reason:
//  - The install directory: the two layouts live in different directories and
//    the `cwd` fixture prints its working directory. Each base becomes <BASE>.
//  - A last line without '\n' (tools/runner/README.md, "Partial last line"):
//    prefix.pl leaves it unterminated so the next line (the result, or the
//    next `# timeout set to` in an -s log) runs into it; our runner ends it.
//    The kernel's bytes get the '\n' after the `partial` fixture's known text.
//  - Exit status (README "Exit status"): 6.12 always exits 0; ours defaults to
//    the later error-on-fail policy (1 when a test failed) and exits 0 with
//    -f. Compared as such, not normalised away: ours also runs with -f and
//    must then print the same bytes and exit 0.
// No pids or timings appear in either output (the fixtures print none and
// neither runner prints durations), so nothing else is rewritten.
//
// Not compared: -n. The 6.12 runner starts every test of a collection at
// once in the background (`run_in_netns &`), prints each block when it ends
// (completion order), and on this machine kind its `ip netns add` /
// `ip netns exec` pairs fail at random (`Cannot open network namespace`),
// even for one test, so its output is not reproducible. Ours runs them in
// list order (tools/runner/README.md, deviations).
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CC, installKernel, installOurs, kernelRunnerMissing, run, runToFile, tmpDir, type CollectionSpec, type Install } from './helpers.js';
import { pidsFrom, waitDead } from '../tools/runner/helpers.js';

const missing = kernelRunnerMissing();

/** The `partial` fixture (test/tools/fixtures/runner/partial.sh) ends with this text and no '\n'. */
const PARTIAL_TAIL = '# no newline at end';

const SPEC: CollectionSpec = {
  tests: [
    { collection: 'alpha', name: 'pass', fixture: 'pass.sh' },
    { collection: 'alpha', name: 'skip', fixture: 'skip.sh' },
    { collection: 'alpha', name: 'fail', fixture: 'fail.sh' },
    { collection: 'alpha', name: 'assert_fail', fixture: 'exit254.sh', peer: true },
    { collection: 'alpha', name: 'segv', fixture: 'segv.sh' },
    { collection: 'alpha', name: 'xfail', fixture: 'xfail.sh' },
    { collection: 'alpha', name: 'partial', fixture: 'partial.sh' },
    { collection: 'alpha', name: 'interleave', fixture: 'interleave.sh' },
    // KSELFTEST_ARGS_SH_ARGS: the dot becomes '_'.
    { collection: 'alpha', name: 'args.sh', fixture: 'args.sh' },
    { collection: 'alpha', name: 'cwd', fixture: 'cwd.sh' },
    { collection: 'alpha', name: 'no_shebang', fixture: 'no_shebang.txt' },
    { collection: 'alpha', name: 'noexec_shebang', fixture: 'noexec_shebang.sh', mode: 0o644 },
    { collection: 'alpha', name: 'noexec_plain', fixture: 'noexec_plain.txt', mode: 0o644 },
    { collection: 'alpha', name: 'missing' },
    // Both start tests through /usr/bin/stdbuf: its exec error message, 127.
    { collection: 'alpha', name: 'bad_interp', fixture: 'bad_interp.sh' },
    { collection: 'alpha', name: 'stdbuf_env', fixture: 'stdbuf_env.sh' },
    // printf/fprintf(stderr) order: stdout line-buffered by stdbuf.
    ...(CC === '' ? [] : [{ collection: 'alpha', name: 'stdio', fixture: 'stdio.c', peer: true, compile: true }]),
    { collection: 'coco/tdx', name: 'tdx_pass', fixture: 'pass.sh' },
    { collection: 'coco/tdx', name: 'tdx_hang', fixture: 'hang.sh' },
    { collection: 'interp', name: 'data', fixture: 'noexec_plain.txt', mode: 0o644 },
    // Deaths by signal: the shell's strsignal() line, none for INT and PIPE.
    { collection: 'signals', name: 'sig_INT', fixture: 'raise.sh', peer: true },
    { collection: 'signals', name: 'sig_KILL', fixture: 'raise.sh', peer: true },
    { collection: 'signals', name: 'sig_TERM', fixture: 'raise.sh', peer: true },
    { collection: 'signals', name: 'sig_PIPE', fixture: 'raise.sh', peer: true },
    { collection: 'signals', name: 'sig_ABRT', fixture: 'raise.sh', peer: true },
    { collection: 'signals', name: 'sig_USR1', fixture: 'raise.sh', peer: true },
    { collection: 'signals', name: 'partial_signal', fixture: 'partial_signal.sh', peer: true },
    // A test's own exit 124 reads as a timeout in both.
    { collection: 'signals', name: 'exit124', fixture: 'exit124.sh', peer: true },
    { collection: 'signals', name: 'bytes', fixture: 'bytes.sh', peer: true },
    // KSELFTEST_DASH_NAME_SH_ARGS: '-' and '.' become '_'.
    { collection: 'signals', name: 'dash-name.sh', fixture: 'args.sh' },
    // 300 kB, more than a pipe holds, cut mid-line before its last line.
    { collection: 'signals', name: 'flood', fixture: 'flood.sh' },
  ],
  // interp runs its non-executable data file through its own ksft_runner.sh.
  extra: [{ collection: 'interp', name: 'ksft_runner.sh', fixture: 'ksft_runner.sh' }],
  settings: { 'coco/tdx': '# the hang fixture times out quickly\ntimeout=1\n' },
};

function normalise(text: string, inst: Install, kernelBytes: boolean): string {
  let s = text.split(inst.base).join('<BASE>');
  if (kernelBytes) {
    s = s.split(PARTIAL_TAIL).map((part, i) => (i > 0 && !part.startsWith('\n') ? `\n${part}` : part)).join(PARTIAL_TAIL);
  }
  return s;
}

interface Pair {
  kernel: Install;
  ours: Install;
  /** A second copy of ours for the -f runs, so concurrent -s runs never share an output.log. */
  oursF: Install;
  pids: string;
  env: NodeJS.ProcessEnv;
}

let pair: Pair | undefined;
async function installs(): Promise<Pair> {
  if (!pair) {
    const pids = join(tmpDir('ksft-peer-pids-'), 'pids');
    writeFileSync(pids, '');
    pair = {
      kernel: installKernel(SPEC),
      ours: await installOurs(SPEC),
      oursF: await installOurs(SPEC),
      pids,
      env: {
        KSFT_FIXTURE_PIDS: pids,
        KSELFTEST_ARGS_SH_ARGS: '-a b  c',
        KSELFTEST_DASH_NAME_SH_ARGS: '\tx  y ',
        KSFT_FLOOD_BYTES: '300000',
        ...Object.fromEntries(['INT', 'KILL', 'TERM', 'PIPE', 'ABRT', 'USR1'].map((s) => [`KSELFTEST_SIG_${s}_ARGS`, s])),
      },
    };
  }
  return pair;
}

/** Runs both with `args` (ours also with -f), checks bytes and exit codes, returns the kernel's stdout. */
async function same(t: Test, args: readonly string[], status: { kernel: number; ours: number }): Promise<string> {
  const p = await installs();
  const [k, o, of] = await Promise.all([
    run(p.kernel.script, args, p.env),
    run(p.ours.script, args, p.env),
    run(p.oursF.script, ['-f', ...args], p.env),
  ]);
  t.equal(normalise(o.stdout, p.ours, false), normalise(k.stdout, p.kernel, true), `stdout: ${args.join(' ') || '(no options)'}`);
  t.equal(normalise(o.stderr, p.ours, false), normalise(k.stderr, p.kernel, true), 'stderr');
  t.equal(k.code, status.kernel, `kernel exit ${status.kernel}`);
  t.equal(o.code, status.ours, `ours exit ${status.ours}`);
  t.equal(normalise(of.stdout, p.oursF, false), normalise(o.stdout, p.ours, false), 'ours with -f: the same bytes');
  t.equal(of.code, status.kernel, 'ours with -f: the 6.12 status');
  t.ok(await waitDead(pidsFrom(p.pids)), 'no hang fixture process outlives either runner');
  return k.stdout;
}

t.test('peer: the kernel 6.12 runner and ours print the same bytes', { skip: missing ? `kernel runner unavailable: ${missing}` : false }, async (t) => {
  t.test('no options: every collection, settings timeout, every exit path', async (t) => {
    const k = await same(t, [], { kernel: 0, ours: 1 });
    // The comparison is only worth something if the kernel really ran them.
    for (const line of [
      'ok 2 selftests: alpha: skip # SKIP',
      'not ok 3 selftests: alpha: fail # exit=1',
      'not ok 4 selftests: alpha: assert_fail # exit=254',
      '# Segmentation fault',
      'not ok 5 selftests: alpha: segv # exit=139',
      'not ok 6 selftests: alpha: xfail # exit=2',
      '# arg=[c]',
      '# Warning: file noexec_shebang is not executable',
      '# ran via ./noexec_shebang with 0 args',
      'not ok 13 selftests: alpha: noexec_plain',
      '# Warning: file missing is missing!',
      'not ok 15 selftests: alpha: bad_interp # exit=127',
      '# _STDBUF_O=L\nok 16 selftests: alpha: stdbuf_env',
      ...(CC === '' ? [] : ['# stdout 1\n# stderr 1\n# stdout 2\n# stderr 2']),
      '# timeout set to 1',
      '#\nnot ok 2 selftests: coco/tdx: tdx_hang # TIMEOUT 1 seconds',
      '# ksft_runner.sh got ./data',
      '# out 1\n# err 1\n# out 2',
      '# raising INT\nnot ok 1 selftests: signals: sig_INT # exit=130',
      '# raising KILL\n# Killed\nnot ok 2 selftests: signals: sig_KILL # exit=137',
      '# raising PIPE\nnot ok 4 selftests: signals: sig_PIPE # exit=141',
      '# partial then signalSegmentation fault',
      '#\nnot ok 8 selftests: signals: exit124 # TIMEOUT 45 seconds',
      '# caf\u00c3\u00a9 \u00ff\u00fe cr\r',
      '# arg=[x]\n# arg=[y]',
      // 4225 whole 71-byte lines, then 25 bytes of the next.
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ\n# flood 0123456789 abcdefghflood done\nok 11 selftests: signals: flood',
    ]) t.ok(k.includes(`${line}\n`), `kernel printed ${JSON.stringify(line)}`);
  });
  t.test('-c, repeated', async (t) => {
    await same(t, ['-c', 'interp', '-c', 'alpha'], { kernel: 0, ours: 1 });
  });
  t.test('-t before -c', async (t) => {
    await same(t, ['-t', 'coco/tdx:tdx_hang', '-t', 'alpha:fail', '-c', 'interp'], { kernel: 0, ours: 1 });
  });
  t.test('-o N overrides settings', async (t) => {
    const k = await same(t, ['-o', '1', '-c', 'coco/tdx', '-t', 'alpha:pass'], { kernel: 0, ours: 1 });
    t.ok(k.includes('# overriding timeout to 1\n'));
  });
  t.test('--override-timeout 0: no timeout', async (t) => {
    await same(t, ['--override-timeout', '0', '-t', 'alpha:partial', '-t', 'alpha:args.sh'], { kernel: 0, ours: 0 });
  });
  t.test('-s: headers and results on stdout, bodies in output.log', async (t) => {
    const p = await installs();
    for (const i of [p.kernel, p.ours, p.oursF]) writeFileSync(join(i.base, 'output.log'), 'stale\n');
    await same(t, ['-s', '-c', 'alpha', '-c', 'coco/tdx'], { kernel: 0, ours: 1 });
    const kl = readFileSync(join(p.kernel.base, 'output.log'), 'latin1');
    const ol = readFileSync(join(p.ours.base, 'output.log'), 'latin1');
    const ofl = readFileSync(join(p.oursF.base, 'output.log'), 'latin1');
    t.equal(normalise(ol, p.ours, false), normalise(kl, p.kernel, true), 'output.log');
    t.equal(normalise(ofl, p.oursF, false), normalise(ol, p.ours, false), 'output.log with -f');
    t.ok(kl.includes('# pass: stdout line\n') && !kl.includes('stale'), 'the kernel truncated and filled its log');
    for (const i of [p.kernel, p.ours, p.oursF]) unlinkSync(join(i.base, 'output.log'));
  });
  t.test('-p: bodies in /tmp/<test>, one after the other', async (t) => {
    // -p writes /tmp/<basename>: a name of our own, and the two runners one
    // after the other, so neither reads the other's log.
    const name = `ksft-peer-plog-${process.pid}`;
    const spec: CollectionSpec = {
      tests: [{ collection: 'plog', name, fixture: 'interleave.sh' }, { collection: 'plog', name: `${name}-fail`, fixture: 'fail.sh' }],
    };
    const logs = [`/tmp/${name}`, `/tmp/${name}-fail`];
    const got: { stdout: string; logs: string[]; code: number | null }[] = [];
    try {
      for (const inst of [installKernel(spec), await installOurs(spec)]) {
        for (const l of logs) writeFileSync(l, 'stale\n');
        const r = await run(inst.script, ['-p'], {});
        got.push({ stdout: r.stdout, logs: logs.map((l) => readFileSync(l, 'latin1')), code: r.code });
      }
    } finally {
      for (const l of logs) rmSync(l, { force: true });
    }
    const [k, o] = got;
    t.equal(o!.stdout, k!.stdout, 'stdout');
    t.same(o!.logs, k!.logs, 'the per-test logs');
    t.match(k!.logs[0], /^# timeout set to 45\n# out 1\n# err 1\n/, 'the kernel truncated and wrote its log');
    t.same([k!.code, o!.code], [0, 1]);
  });
  t.test('stdout redirected to a regular file (README, deviations)', async (t) => {
    const p = await installs();
    const args = ['-t', 'alpha:pass', '-t', 'alpha:fail'];
    const [kp, op] = await Promise.all([run(p.kernel.script, args, p.env), run(p.ours.script, args, p.env)]);
    t.equal(op.stdout, kp.stdout, 'through a pipe: the same bytes');
    const kf = runToFile(p.kernel.script, args, p.env);
    const of = runToFile(p.ours.script, args, p.env);
    t.equal(of.stdout, op.stdout, 'ours: the file holds what the pipe got');
    // 6.12 appends the bodies through a second descriptor opened on
    // /dev/stdout; the header and result lines, written at the shell's own
    // offset, then overwrite them.
    t.notOk(kf.stdout.includes('# pass: stdout line'), 'the kernel loses the test bodies');
    t.same(kf.stdout.split('\n').filter((l) => /^(not )?ok /.test(l)), op.stdout.split('\n').filter((l) => /^(not )?ok /.test(l)), 'results survive in both');
  });
  t.test('-l and -d', async (t) => {
    await same(t, ['-l'], { kernel: 0, ours: 0 });
    await same(t, ['-d', '-t', 'alpha:pass', '-c', 'coco/tdx'], { kernel: 0, ours: 0 });
  });
  t.test('unknown names', async (t) => {
    await same(t, ['-t', 'alpha:nope'], { kernel: 1, ours: 1 });
    await same(t, ['-c', 'beta'], { kernel: 1, ours: 1 });
  });
});
