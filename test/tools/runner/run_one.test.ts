// Result lines of run_one() for every exit path, checked on the bundled
// runner's real output and through tap-parser.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeTree, parseStreams, pidsFrom, runRunner, tmpDir, tmpFile, waitDead } from './helpers.js';

t.test('pass, skip, fail, death by signal: result lines and exit=RC', async (t) => {
  const tree = makeTree({
    collections: {
      kvm: {
        pass_test: { fixture: 'pass.sh' },
        skip_test: { fixture: 'skip.sh' },
        fail_test: { fixture: 'fail.sh' },
        segv_test: { fixture: 'segv.sh' },
      },
    },
  });
  const r = await runRunner(tree, []);
  t.equal(r.code, 1, 'a failed test makes the runner exit 1 (later runner policy)');
  const [s, ...rest] = await parseStreams(r.stdout);
  t.equal(rest.length, 0, 'one collection, one TAP stream');
  t.match(s!.plan, { start: 1, end: 4 });
  t.same(s!.asserts.map((a) => [a.id, a.ok, a.name, a.skip !== false]), [
    [1, true, 'selftests: kvm: pass_test', false],
    [2, true, 'selftests: kvm: skip_test', true],
    // tap-parser recognises only two directives (skip and to-do); `# exit=N` stays in the name.
    [3, false, 'selftests: kvm: fail_test # exit=1', false],
    [4, false, 'selftests: kvm: segv_test # exit=139', false],
  ]);
  const lines = r.stdout.split('\n');
  t.same(lines.slice(0, 7), [
    'TAP version 13',
    '1..4',
    '# timeout set to 45',
    '# selftests: kvm: pass_test',
    '# pass: stdout line',
    '# pass: stderr line',
    'ok 1 selftests: kvm: pass_test',
  ]);
  t.ok(lines.includes('ok 2 selftests: kvm: skip_test # SKIP'));
  t.ok(lines.includes('# 1..0 # SKIP not here'), 'child TAP is prefixed, not indented');
  t.ok(lines.includes('not ok 3 selftests: kvm: fail_test # exit=1'));
  t.ok(lines.includes('not ok 4 selftests: kvm: segv_test # exit=139'), 'SIGSEGV is 128+11, as a shell reports it');
  t.same(lines.slice(lines.indexOf('# selftests: kvm: segv_test') + 1, lines.indexOf('not ok 4 selftests: kvm: segv_test # exit=139')),
    ['# about to crash', '# Segmentation fault'], "the shell's strsignal() line follows the output, as dash prints it in runner.sh");
});

t.test('-f restores the 6.12 exit status 0', async (t) => {
  const tree = makeTree({ collections: { kvm: { fail_test: { fixture: 'fail.sh' } } } });
  const r = await runRunner(tree, ['-f']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^not ok 1 selftests: kvm: fail_test # exit=1$/m);
  const all = await runRunner(makeTree({ collections: { kvm: { a: { fixture: 'pass.sh' }, b: { fixture: 'skip.sh' } } } }), []);
  t.equal(all.code, 0, 'passes and skips only: exit 0');
});

t.test('missing file and files without execute permission', async (t) => {
  const tree = makeTree({
    collections: {
      kvm: {
        gone_test: null,
        shebang_test: { fixture: 'noexec_shebang.sh', mode: 0o644 },
        plain_test: { fixture: 'noexec_plain.txt', mode: 0o644 },
      },
    },
  });
  const r = await runRunner(tree, ['-f']);
  const [s] = await parseStreams(r.stdout);
  t.same(s!.asserts.map((a) => [a.ok, a.name]), [
    [false, 'selftests: kvm: gone_test'],
    [true, 'selftests: kvm: shebang_test'],
    [false, 'selftests: kvm: plain_test'],
  ]);
  const lines = r.stdout.split('\n');
  const at = (l: string): number => lines.indexOf(l);
  t.ok(at('# Warning: file gone_test is missing!') > at('# selftests: kvm: gone_test'));
  t.equal(at('not ok 1 selftests: kvm: gone_test'), at('# Warning: file gone_test is missing!') + 1, 'bare not ok, no directive');
  t.ok(at('# Warning: file shebang_test is not executable') > 0);
  t.ok(at('# ran via ./shebang_test with 0 args') > 0, 'run through its #! interpreter as ./NAME');
  t.equal(at('not ok 3 selftests: kvm: plain_test'), at('# Warning: file plain_test is not executable') + 1);
});

t.test('timeout: whole process group killed, 124 reported as TIMEOUT', async (t) => {
  const pids = tmpFile('pids');
  const tree = makeTree({
    collections: { kvm: { hang_test: { fixture: 'hang.sh' }, after_test: { fixture: 'pass.sh' } } },
    settings: { kvm: 'timeout=1\n' },
  });
  const r = await runRunner(tree, [], { env: { KSFT_FIXTURE_PIDS: pids } });
  const lines = r.stdout.split('\n');
  t.ok(lines.includes('# timeout set to 1'));
  const i = lines.indexOf('not ok 1 selftests: kvm: hang_test # TIMEOUT 1 seconds');
  t.ok(i > 0, 'TIMEOUT result line');
  t.equal(lines[i - 1], '#', 'a line holding only # comes first');
  t.ok(lines.includes('ok 2 selftests: kvm: after_test'), 'the run goes on');
  const [s] = await parseStreams(r.stdout);
  t.same(s!.asserts.map((a) => a.ok), [false, true]);
  const recorded = pidsFrom(pids);
  t.equal(recorded.length, 2, 'both pids were recorded before the timeout');
  const [grandchild, child] = recorded;
  t.ok(await waitDead([grandchild!, child!]), `test ${child} and grandchild ${grandchild} are gone`);
  t.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

t.test('timeout: a test ignoring SIGTERM is killed anyway', async (t) => {
  const pids = tmpFile('pids');
  const tree = makeTree({ collections: { kvm: { term_ignoring_test: { fixture: 'ignore_term.sh' } } } });
  const r = await runRunner(tree, ['-o', '1'], { env: { KSFT_FIXTURE_PIDS: pids } });
  t.match(r.stdout, /^# overriding timeout to 1$/m);
  t.match(r.stdout, /^#\nnot ok 1 selftests: kvm: term_ignoring_test # TIMEOUT 1 seconds$/m);
  t.equal(pidsFrom(pids).length, 2);
  t.ok(await waitDead(pidsFrom(pids)), 'both processes are gone');
});

t.test('output: stdout and stderr merged in write order, partial last line terminated, cwd', async (t) => {
  const tree = makeTree({
    collections: {
      kvm: {
        interleave_test: { fixture: 'interleave.sh' },
        partial_test: { fixture: 'partial.sh' },
        cwd_test: { fixture: 'cwd.sh' },
      },
    },
  });
  const r = await runRunner(tree, []);
  t.match(r.stdout, '# out 1\n# err 1\n# out 2\n# err 2\n# out 3\n# err 3\n# out 4\n# err 4\n# out 5\n# err 5\nok 1 ');
  t.match(r.stdout, '# line one\n# no newline at end\nok 2 selftests: kvm: partial_test\n');
  t.match(r.stdout, `# cwd=${tree.base}/kvm\n`);
  const [s] = await parseStreams(r.stdout);
  t.equal(s!.ok, true);
  t.equal(s!.asserts.length, 3);
});

t.test('a process that left the group and holds the pipe does not hang the run', async (t) => {
  const pids = tmpFile('pids');
  const tree = makeTree({ collections: { kvm: { escape_test: { fixture: 'escape.sh' }, next_test: { fixture: 'pass.sh' } } } });
  const r = await runRunner(tree, [], { env: { KSFT_FIXTURE_PIDS: pids } });
  const escaped = pidsFrom(pids);
  for (const pid of escaped) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  t.equal(escaped.length, 1);
  t.equal(r.code, 0);
  t.match(r.stdout, '# escaped\nok 1 selftests: kvm: escape_test\n');
  t.match(r.stdout, 'ok 2 selftests: kvm: next_test\n');
  t.ok(r.ms < 15_000, `finished in ${r.ms} ms, not after the escaped process's 60 s`);
});

t.test('executables that exec cannot start directly', async (t) => {
  const tree = makeTree({
    collections: { kvm: { bad_interp_test: { fixture: 'bad_interp.sh' }, plain_exec_test: { fixture: 'no_shebang.txt' } } },
  });
  const r = await runRunner(tree, ['-f']);
  // Through stdbuf (as runner.sh, when it exists) the message is stdbuf's.
  const message = existsSync('/usr/bin/stdbuf')
    ? /^# \/usr\/bin\/stdbuf: failed to run command .\.\/bad_interp_test.: No such file or directory\n/m
    : /^# \.\/bad_interp_test: spawn \.\/bad_interp_test ENOENT\n/m;
  t.match(r.stdout, message, 'the exec error in the body');
  t.match(r.stdout, /^not ok 1 selftests: kvm: bad_interp_test # exit=127$/m, 'a missing interpreter is 127');
  t.match(r.stdout, /^# no shebang, run by sh\nok 2 selftests: kvm: plain_exec_test$/m, 'no #!: run by /bin/sh, like the kernel shell');
  const [s] = await parseStreams(r.stdout);
  t.same(s!.asserts.map((a) => a.ok), [false, true]);
});

t.test('a collection ksft_runner.sh runs its non-executable tests', async (t) => {
  const tree = makeTree({
    collections: {
      pkt: { 'tcp_basic.pkt': { fixture: 'noexec_plain.txt', mode: 0o644 }, 'ksft_runner.sh': { fixture: 'ksft_runner.sh' } },
    },
  });
  const r = await runRunner(tree, ['-t', 'pkt:tcp_basic.pkt']);
  t.equal(r.code, 0);
  t.match(r.stdout, '# selftests: pkt: tcp_basic.pkt\n# ksft_runner.sh got ./tcp_basic.pkt\nok 1 selftests: pkt: tcp_basic.pkt\n');
  t.notMatch(r.stdout, /not executable/, 'no warning in this case');
});

t.test('tests start through stdbuf --output=L when /usr/bin/stdbuf exists, as in runner.sh', { skip: existsSync('/usr/bin/stdbuf') ? false : 'no /usr/bin/stdbuf' }, async (t) => {
  const tree = makeTree({ collections: { kvm: { env_test: { fixture: 'stdbuf_env.sh' } } } });
  const r = await runRunner(tree, []);
  t.match(r.stdout, '# _STDBUF_O=L\nok 1 selftests: kvm: env_test\n');
  const cc = spawnSync('sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).stdout.trim();
  if (cc === '') {
    t.comment('no C compiler: the stdio order check needs one');
    return;
  }
  // A C test's printf output is line-buffered, so it keeps its place among
  // the stderr lines (fully buffered, it would come after all of them).
  const src = join(tmpDir('ksft-stdio-'), 'stdio.c');
  writeFileSync(src, '#include <stdio.h>\nint main(void) {\n\tfor (int i = 1; i <= 3; i++) {\n\t\tprintf("out %d\\n", i);\n\t\tfprintf(stderr, "err %d\\n", i);\n\t}\n\treturn 0;\n}\n');
  const ctree = makeTree({ collections: { kvm: {} } });
  const bin = join(ctree.base, 'kvm', 'stdio_test');
  const built = spawnSync(cc, ['-o', bin, src], { encoding: 'utf8' });
  t.equal(built.status, 0, `cc: ${built.stderr}`);
  writeFileSync(ctree.list, 'kvm:stdio_test\n');
  const c = await runRunner(ctree, []);
  t.match(c.stdout, '# out 1\n# err 1\n# out 2\n# err 2\n# out 3\n# err 3\nok 1 selftests: kvm: stdio_test\n');
});
