// tools/vm/vm.ts and run.ts with a stand-in QEMU (fake_qemu.mjs, which plays
// the guest on the host): the job's exit status comes back, stdout carries
// the job's stdout only and streams, the timeout kills a hung guest, a guest
// without a status and bad input are one-line errors. Nothing here boots.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import type { HostFacts } from '../../../tools/vm/host.js';
import { parseVmOptions } from '../../../tools/vm/options.js';
import { EXIT_NO_STATUS, EXIT_TIMEOUT, runVm } from '../../../tools/vm/vm.js';
import { ROOT, tmpDir } from '../runner/helpers.js';

const FAKE = join(ROOT, 'test/tools/vm/fake_qemu.mjs');
// The stand-in QEMU is plain JavaScript: tap's module hooks would only slow
// its start.
process.env.NODE_OPTIONS = '';
const kernel = join(tmpDir('ksft-vm-kernel-'), 'bzImage');
writeFileSync(kernel, 'not a kernel\n');
const home = tmpDir('ksft-vm-home-');
// The scratch directories go here, so the test can see they are removed.
const scratchRoot = tmpDir('ksft-vm-scratch-');
// This machine kind: PVM, no VMX/SVM.
const PVM_HOST: HostFacts = { cpuinfo: 'cpu MHz\t\t: 2299.998\nflags\t\t: fpu tsc\n', kvmUsable: true, pvm: true };

class Capture extends Writable {
  chunks: { at: number; text: string }[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push({ at: Date.now(), text: chunk.toString() });
    cb();
  }
  get text(): string {
    return this.chunks.map((c) => c.text).join('');
  }
}

async function run(argv: string[], o: { env?: NodeJS.ProcessEnv; fake?: string } = {}) {
  process.env.FAKE_QEMU = o.fake ?? 'run';
  const env = { PATH: process.env.PATH, ...o.env };
  const stdout = new Capture();
  const stderr = new Capture();
  const opts = parseVmOptions(['--qemu', FAKE, '--kernel', kernel, '--env', `HOME=${home}`, ...argv], env, ROOT);
  const t0 = Date.now();
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = scratchRoot;
  let code: number;
  try {
    code = await runVm(opts, { stdout, stderr, env, host: PVM_HOST, root: ROOT });
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  return { code, stdout, stderr, ms: Date.now() - t0 };
}

t.test("the job's exit status and stdout come back; everything else is on stderr", async (t) => {
  const r = await run(['-c', 'echo out; echo err >&2; exit 3']);
  t.equal(r.code, 3);
  t.equal(r.stdout.text, 'out\n', 'stdout: the job only');
  t.match(r.stderr.text, /^vm: booting .*bzImage \(tcg: the host's KVM is PVM.*; -m 4G -smp 1; timeout 1800 s\)$/m);
  t.match(r.stderr.text, /^qemu-system-x86_64: warning: a QEMU warning on stderr$/m);
  t.match(r.stderr.text, /^QEMU stdout: must not reach the job stdout$/m, "QEMU's own stdout goes to stderr");
  t.match(r.stderr.text, /^err$/m);
  t.match(r.stderr.text, /^vm: job exit status 3 \(total [0-9.]+ s, boot 0\.5 s, job 1\.5 s\)$/m);
  t.same(readdirSync(scratchRoot), [], 'the scratch directory is removed after a run with a status');
  t.equal((await run(['--', 'true'])).code, 0);
});

t.test('the job runs in the project directory with the passed environment', async (t) => {
  const dir = tmpDir('ksft-vm-dir-');
  const r = await run(['-C', dir, '-e', 'KSFT_BACKEND=kvm', '--', 'sh', '-c', 'pwd; echo "$KSFT_BACKEND $KSFT_SEEN ${KSFT_VM_TIMEOUT:-unset} ${OTHER:-unset}"'],
    { env: { KSFT_BACKEND: 'model', KSFT_SEEN: 'yes', KSFT_VM_TIMEOUT: '99', OTHER: 'x' } });
  t.equal(r.code, 0);
  t.equal(r.stdout.text, `${dir}\nkvm yes unset unset\n`);
});

t.test('output streams while the job runs', async (t) => {
  const r = await run(['-c', 'echo first; sleep 1; echo second']);
  t.equal(r.stdout.text, 'first\nsecond\n');
  const first = r.stdout.chunks[0]!;
  const last = r.stdout.chunks.at(-1)!;
  t.ok(last.at - first.at >= 700, `the first line came ${last.at - first.at} ms before the last`);
});

t.test('no end marker from the guest: a warning, the status still counts', async (t) => {
  const r = await run(['-c', 'echo out; exit 4'], { fake: 'nodrain' });
  t.equal(r.code, 4);
  t.equal(r.stdout.text, 'out\n');
  t.match(r.stderr.text, /^vm: warning: the end of the job's stdout and stderr may be missing \(no end marker from the guest\)$/m);
});

t.test('the end marker is cut out, even split across writes', async (t) => {
  const r = await run(['-c', 'printf "a\\nb"; printf ksft-vm-end; printf %s -not']);
  t.equal(r.code, 0);
  t.equal(r.stdout.text, 'a\nbksft-vm-end-not', 'a look-alike prefix is output');
  t.notMatch(r.stderr.text, /^vm: warning/m);
});

t.test('the host TSC frequency reaches the kernel command line', async (t) => {
  const args = join(tmpDir('ksft-vm-args-'), 'args');
  process.env.FAKE_QEMU_ARGS = args;
  const r = await run(['-c', 'true']);
  delete process.env.FAKE_QEMU_ARGS;
  t.equal(r.code, 0);
  t.match(readFileSync(args, 'utf8'), / tsc_early_khz=2299998 tsc=reliable\n/);
});

t.test('timeout: QEMU killed, one line, 124', async (t) => {
  const r = await run(['--timeout', '1', '-c', 'true'], { fake: 'sleep' });
  t.equal(r.code, EXIT_TIMEOUT);
  t.equal(r.stdout.text, '');
  t.match(r.stderr.text, /^vm: timed out after 1 s: QEMU killed, no job status \(console log: .*console\.log; scratch kept in .*\)$/m);
  t.ok(r.ms < 6000, `returned after ${r.ms} ms`);
});

t.test('a guest that stops without a status: the last console line, 125', async (t) => {
  const r = await run(['-c', 'true'], { fake: 'panic' });
  t.equal(r.code, EXIT_NO_STATUS);
  t.match(r.stderr.text, /^vm: QEMU ended after [0-9.]+ s without a job status \(exit status 0; last console line: \[ +1\.000000\] Kernel panic - not syncing: Attempted to kill init!; console log: .*\)$/m);
});

t.test('bad input: one line, exit 1, QEMU not started', async (t) => {
  const missing = join(tmpDir('ksft-vm-missing-'), 'bzImage');
  const cases: [string[], NodeJS.ProcessEnv, string][] = [
    [['--kernel', missing], {}, `vm: --kernel ${missing}: no such file\n`],
    [['--qemu', '/nonexistent/qemu'], {}, 'vm: QEMU binary /nonexistent/qemu is missing or not executable\n'],
    [['--qemu', 'qemu-system-x86_64'], { PATH: '/nonexistent' }, 'vm: qemu-system-x86_64 not found in PATH (apt-get install qemu-system-x86, or set KSFT_VM_QEMU)\n'],
    [['--accel', 'kvm'], {}, "vm: --accel kvm: not usable here: the host's KVM is PVM (kvm_pvm), which QEMU cannot nest a KVM guest under\n"],
    [['-C', '/nonexistent'], {}, 'vm: job directory /nonexistent: no such directory\n'],
    [['--console', '/nonexistent/console.log'], {}, 'vm: --console /nonexistent/console.log: no such directory /nonexistent\n'],
    [['--results', kernel], {}, `vm: --results ${kernel}: not a directory\n`],
  ];
  for (const [argv, env, err] of cases) {
    const r = await run([...argv, '-c', 'true'], { env });
    t.same([r.code, r.stdout.text, r.stderr.text], [1, '', err], argv.join(' '));
  }
});

t.test('run.ts: KERNEL from the environment, errors on stderr only', async (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/vm/run.ts'), '-c', 'true'],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', KERNEL: '/nonexistent/bzImage' } });
  t.same([r.status, r.stdout, r.stderr], [1, '', 'vm: KERNEL=/nonexistent/bzImage: no such file\n']);
});
