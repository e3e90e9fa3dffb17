// The test process: a 100+ MB output flood streams through a bounded runner,
// and SIGTERM/SIGINT to the runner take the running test's whole group down
// while the TAP printed so far stays valid.
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import t from 'tap';
import { bundledRunner, makeTree, makeTreeAsync, parseTap, pidsFrom, tmpDir, tmpFile, waitDead } from './helpers.js';

function vmHWMkB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

t.test('a 110 MB output flood: every line prefixed, runner memory bounded', async (t) => {
  const FLOOD = 110_000_000;
  const tree = makeTree({ collections: { kvm: { flood_test: { fixture: 'flood.sh' } } } });
  const runner = await bundledRunner();
  const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KSFT_FLOOD_BYTES: String(FLOOD) },
  });
  // The runner is exec'd by its sh launcher, so this pid is the node process.
  let peakKb = 0;
  const poll = setInterval(() => { peakKb = Math.max(peakKb, vmHWMkB(child.pid!) ?? 0); }, 20);
  let bytes = 0;
  let floodLines = 0;
  let badLines = 0;
  let rest = '';
  const other: string[] = [];
  const FLOOD_LINE = '# flood 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (d: string) => {
    bytes += d.length;
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (l === FLOOD_LINE) floodLines++;
      else if (l.startsWith('# flood 0123')) badLines++;
      else other.push(l);
    }
  });
  const t0 = Date.now();
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  const ms = Date.now() - t0;
  clearInterval(poll);
  if (rest !== '') other.push(rest);
  const lineLen = FLOOD_LINE.length - 2 + 1;
  t.equal(code, 0);
  t.equal(floodLines, Math.floor(FLOOD / lineLen), 'every whole flood line arrived with its prefix');
  t.equal(badLines, 1, 'the one cut line (head -c) is prefixed and joined with the next output');
  t.ok(bytes > FLOOD, `${bytes} bytes of TAP`);
  const s = await parseTap(`${other.join('\n')}\n`);
  t.equal(s.ok, true);
  t.same(s.asserts.map((a) => a.name), ['selftests: kvm: flood_test']);
  t.ok(peakKb > 0, 'peak RSS measured');
  t.ok(peakKb < 200 * 1024, `runner peak RSS ${Math.round(peakKb / 1024)} MB < 200 MB (flood took ${ms} ms)`);
  t.comment(`flood: ${bytes} bytes in ${ms} ms, runner VmHWM ${Math.round(peakKb / 1024)} MB`);
});

const STOP_STATUS = { SIGTERM: 143, SIGINT: 130, SIGHUP: 129 } as const;

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  t.test(`${sig} to the runner mid-test: no orphan, TAP valid so far, no temporary files left`, async (t) => {
    const pids = tmpFile('pids');
    const tmp = tmpDir('ksft-runner-tmpdir-');
    const tree = makeTree({
      collections: { kvm: { first_test: { fixture: 'pass.sh' }, hang_test: { fixture: 'hang.sh' }, never_test: { fixture: 'pass.sh' } } },
    });
    const runner = await bundledRunner();
    const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KSFT_FIXTURE_PIDS: pids, TMPDIR: tmp },
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // One signal: a second one, sent when the Bail out! line arrives in a
      // chunk of its own, could land after the runner let go of its handlers.
      if (!sent && out.includes('# hanging\n')) {
        sent = true;
        child.kill(sig);
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, s) => res([c, s])));
    t.equal(signal, null, 'the runner exits by itself');
    t.equal(code, STOP_STATUS[sig]);
    t.same(readdirSync(tmp), [], 'the runner removed its temporary directory');
    t.equal(pidsFrom(pids).length, 2);
    t.ok(await waitDead(pidsFrom(pids)), 'the hanging test and its grandchild are gone');
    t.notMatch(out, /never_test/, 'nothing runs after the signal');
    t.match(out, new RegExp(`\\nBail out! run_kselftest.sh stopped by ${sig}\\n$`));
    const s = await parseTap(out);
    t.same(s.asserts.map((a) => [a.ok, a.name]), [[true, 'selftests: kvm: first_test']]);
    t.equal(s.bailout, `run_kselftest.sh stopped by ${sig}`);
    for (const line of out.trimEnd().split('\n')) {
      t.match(line, /^(TAP version 13|1\.\.\d+|#( .*)?|ok \d+ .*|Bail out! .*)$/, `well-formed: ${line}`);
    }
  });
}

t.test('SIGTERM while nobody reads the runner output: the runner still exits', async (t) => {
  const pids = tmpFile('pids');
  const tree = makeTree({ collections: { kvm: { endless_test: { fixture: 'endless.sh' } } } });
  const runner = await bundledRunner();
  const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KSFT_FIXTURE_PIDS: pids },
  });
  // Read the first chunk, then stop reading: the pipe fills and the runner blocks.
  await new Promise((res) => child.stdout.once('data', res));
  child.stdout.pause();
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  child.stdout.destroy();
  t.equal(code, 143);
  t.ok(Date.now() - t0 < 10_000, `exited ${Date.now() - t0} ms after SIGTERM`);
  t.equal(pidsFrom(pids).length, 1);
  t.ok(await waitDead(pidsFrom(pids)), 'the test is gone');
});

t.test('SIGTERM while draining the output of a process that left the group: prompt bail-out, writer killed', async (t) => {
  const pids = tmpFile('pids');
  const tree = makeTree({ collections: { kvm: { escape_writer_test: { fixture: 'escape_writer.sh' }, never_test: { fixture: 'pass.sh' } } } });
  const runner = await bundledRunner();
  const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KSFT_FIXTURE_PIDS: pids },
  });
  let out = '';
  let t0 = 0;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    // The test itself has exited; its escaped child is still writing.
    if (t0 === 0 && /# test exits\n(# tick \d+\n){3}/.test(out)) {
      t0 = Date.now();
      child.kill('SIGTERM');
    }
  });
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  const ms = Date.now() - t0;
  t.equal(code, 143);
  t.ok(ms < 3000, `exited ${ms} ms after SIGTERM, not by the 5 s forced exit`);
  t.match(out, /\nBail out! run_kselftest\.sh stopped by SIGTERM\n$/, 'the stream ends with its bail-out line');
  t.notMatch(out, /never_test/);
  t.ok(await waitDead(pidsFrom(pids)), 'the escaped writer is gone');
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${sig} to the runner while a harness program runs: its TEST process (own session) dies too, no files left`, async (t) => {
    const pids = tmpFile('pids');
    const tmp = tmpDir('ksft-runner-tmpdir-');
    const tree = await makeTreeAsync({ collections: { harness: { hang_pid: { fixture: 'test/lib/harness/programs/hang_pid.ts', program: true } } } });
    const runner = await bundledRunner();
    const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', KSFT_FIXTURE_PIDS: pids, TMPDIR: tmp },
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes('# # test process hanging\n')) {
        sent = true;
        child.kill(sig);
      }
    });
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    t.equal(code, STOP_STATUS[sig]);
    const started = pidsFrom(pids);
    t.equal(started.length, 2, 'the TEST process and its grandchild started');
    t.ok(await waitDead(started), 'neither survives the runner');
    t.same(readdirSync(tmp), [], 'no ksft-harness-* or ksft-runner-* left in TMPDIR');
  });
}

t.test('a harness program timed out by the runner leaves no TEST process and no files', async (t) => {
  const pids = tmpFile('pids');
  const tmp = tmpDir('ksft-runner-tmpdir-');
  const tree = await makeTreeAsync({ collections: { harness: { hang_pid: { fixture: 'test/lib/harness/programs/hang_pid.ts', program: true } } } });
  const runner = await bundledRunner();
  // Long enough for the TEST process to start and record itself on a
  // loaded machine (make check runs test files in parallel).
  const child = spawn(runner, ['--base-dir', tree.base, '--list-file', tree.list, '-o', '4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', KSFT_FIXTURE_PIDS: pids, TMPDIR: tmp },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  t.equal(code, 1);
  t.match(out, /^#\nnot ok 1 selftests: harness: hang_pid # TIMEOUT 4 seconds$/m);
  t.ok(await waitDead(pidsFrom(pids)), 'the TEST process and its grandchild are gone');
  t.same(readdirSync(tmp), [], 'no ksft-harness-* left in TMPDIR');
});
