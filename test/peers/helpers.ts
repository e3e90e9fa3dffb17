// Shared by the peer tests: the kernel's tools from the linux-source-6.12
// tarball (tools/peers/kernel_source.ts), the reasons to skip when they or
// their interpreters are missing, one fixture collection installed in two
// layouts (ours and the kernel's), and a process runner that keeps bytes.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelSource, TARBALL, type KernelSource } from '../../tools/peers/kernel_source.js';
import { bundledRunner, FIXTURES, ROOT, tmpDir } from '../tools/runner/helpers.js';

export { ROOT, tmpDir };
export const PEER_FIXTURES = join(ROOT, 'test/peers/fixtures');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let source: ReturnType<typeof kernelSource> | undefined;

/**
 * The kernel tree in build/peers (extracted on first use), or why it is
 * unavailable. KSFT_PEERS_DIR and KSFT_LINUX_SOURCE move the extraction
 * directory and the tarball (the skip path is tested that way).
 */
export function kernel(): ReturnType<typeof kernelSource> {
  source ??= kernelSource(process.env.KSFT_PEERS_DIR ?? join(ROOT, 'build/peers'), process.env.KSFT_LINUX_SOURCE ?? TARBALL);
  return source;
}

/**
 * Why the kernel runner cannot run here, or undefined. runner.sh uses perl
 * only when /usr/bin/perl exists (else a sed fallback with other buffering)
 * and wraps the test in /usr/bin/timeout only when it exists, so both are
 * checked at those paths: without them the kernel's output has another shape.
 */
export function kernelRunnerMissing(): string | undefined {
  const k = kernel();
  if (!k.ok) return k.reason;
  if (!executable('/usr/bin/perl')) return 'perl is missing (/usr/bin/perl runs kselftest/prefix.pl)';
  if (!executable('/usr/bin/timeout')) return 'coreutils timeout is missing (/usr/bin/timeout)';
  if (!onPath('realpath')) return 'realpath is missing (run_kselftest.sh needs it)';
  return undefined;
}

/** Why kunit.py cannot run here, or undefined. */
export function kunitMissing(): string | undefined {
  const k = kernel();
  if (!k.ok) return k.reason;
  if (!onPath('python3')) return 'python3 is missing (kunit.py needs it)';
  return undefined;
}

export function kernelTree(): KernelSource {
  const k = kernel();
  if (!k.ok) throw new Error(k.reason);
  return k.source;
}

/** One test of the fixture collection: a script from a fixtures folder, or a list line without a file. */
export interface PeerTest {
  collection: string;
  name: string;
  /** test/tools/fixtures/runner/<file> or, with `peer: true`, test/peers/fixtures/<file>; absent = missing file. */
  fixture?: string;
  peer?: boolean;
  mode?: number;
  /** The fixture is C source, compiled with `cc` into the test file. */
  compile?: boolean;
}

/** The C compiler on PATH, or '' (C fixtures are left out without one). */
export const CC = spawnSync('sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).stdout.trim();

export interface CollectionSpec {
  tests: readonly PeerTest[];
  /** Extra files per collection (mode 755 unless given): ksft_runner.sh, ... */
  extra?: readonly PeerTest[];
  settings?: Readonly<Record<string, string>>;
}

export interface Install {
  base: string;
  script: string;
}

function populate(base: string, spec: CollectionSpec): void {
  for (const t of [...spec.tests, ...(spec.extra ?? [])]) {
    mkdirSync(join(base, t.collection), { recursive: true });
    if (t.fixture === undefined) continue;
    const dst = join(base, t.collection, t.name);
    const src = join(t.peer ? PEER_FIXTURES : FIXTURES, t.fixture);
    if (t.compile) {
      const r = spawnSync(CC, ['-O2', '-o', dst, src], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cc ${src}: ${r.stderr}`);
    } else {
      copyFileSync(src, dst);
    }
    chmodSync(dst, t.mode ?? 0o755);
  }
  for (const [c, text] of Object.entries(spec.settings ?? {})) writeFileSync(join(base, c, 'settings'), text);
  writeFileSync(join(base, 'kselftest-list.txt'), spec.tests.map((t) => `${t.collection}:${t.name}\n`).join(''));
}

/** Our install: what `make install` copies (launcher at the root, kselftest/runner.cjs), then the collections. */
export async function installOurs(spec: CollectionSpec): Promise<Install> {
  const bundle = await bundledRunner();
  const built = join(bundle, '..');
  const base = tmpDir('ksft-peer-ours-');
  mkdirSync(join(base, 'kselftest'));
  copyFileSync(join(built, 'kselftest/run_kselftest.sh'), join(base, 'run_kselftest.sh'));
  chmodSync(join(base, 'run_kselftest.sh'), 0o755);
  copyFileSync(join(built, 'kselftest/runner.cjs'), join(base, 'kselftest/runner.cjs'));
  populate(base, spec);
  return { base, script: join(base, 'run_kselftest.sh') };
}

/** The kernel's install: its run_kselftest.sh and kselftest/{runner.sh,prefix.pl}, taken from the tarball. */
export function installKernel(spec: CollectionSpec): Install {
  const k = kernelTree();
  const base = tmpDir('ksft-peer-kernel-');
  mkdirSync(join(base, 'kselftest'));
  copyFileSync(k.runKselftest, join(base, 'run_kselftest.sh'));
  chmodSync(join(base, 'run_kselftest.sh'), 0o755);
  for (const f of ['runner.sh', 'prefix.pl']) {
    copyFileSync(join(k.kselftestDir, f), join(base, 'kselftest', f));
    chmodSync(join(base, 'kselftest', f), 0o755);
  }
  populate(base, spec);
  return { base, script: join(base, 'run_kselftest.sh') };
}

export interface Ran {
  stdout: string;
  stderr: string;
  code: number | null;
  ms: number;
}

let runs = 0;

/**
 * Runs a command with stdin on /dev/null and stdout on a real pipe (`| cat`).
 * Node's 'pipe' stdio is a socket, and runner.sh opens /dev/stdout again
 * (`4>>"$logfile"`), which a socket refuses (ENXIO), so the kernel's runner
 * would report every test `# exit=2`. Not a regular file either: there the
 * two descriptors' offsets overwrite each other. The exit status comes back
 * through a file, since sh has no pipefail. stdin is /dev/null for both: the
 * kernel's tests inherit the runner's stdin, ours always get /dev/null.
 */
export function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const rcFile = join(tmpDir('ksft-peer-rc-'), `rc${runs++}`);
  const t0 = Date.now();
  // No core files: coreutils timeout adds `timeout: the monitored command
  // dumped core` when one is written (sig_ABRT, segv), which ours cannot see.
  const child = spawn('sh', ['-c', 'ulimit -c 0; { "$0" "$@"; echo $? > "$KSFT_PEER_RC"; } | cat', file, ...args], {
    env: { ...process.env, ...env, KSFT_PEER_RC: rcFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      if (code !== 0) {
        rej(new Error(`sh wrapper around ${file} exited ${code}`));
        return;
      }
      res({
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
        code: Number(readFileSync(rcFile, 'utf8').trim()),
        ms: Date.now() - t0,
      });
    });
  });
}

/** Runs a command with stdout redirected (`>`) to a regular file, as in `./run_kselftest.sh > log`; returns the file's bytes. */
export function runToFile(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { stdout: string; code: number | null } {
  const out = join(tmpDir('ksft-peer-file-'), 'stdout');
  const r = spawnSync('sh', ['-c', 'ulimit -c 0; exec "$0" "$@" > "$KSFT_PEER_OUT"', file, ...args], {
    env: { ...process.env, ...env, KSFT_PEER_OUT: out },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  return { stdout: readFileSync(out, 'latin1'), code: r.status };
}
