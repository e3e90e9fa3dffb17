// tools/vm/build_kernel.sh without building: the cache key and directory,
// KERNEL=, reuse of a cached bzImage, usage errors.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tmpDir } from '../runner/helpers.js';

const SCRIPT = join(ROOT, 'tools/vm/build_kernel.sh');
const dir = tmpDir('ksft-vm-build-');
// Not a package's file, so the version is its name plus a size/mtime hash.
const TARBALL = join(dir, 'linux-source-6.12.tar.xz');
writeFileSync(TARBALL, 'not a tarball');
const FRAGMENT = join(dir, 'kernel.config');
writeFileSync(FRAGMENT, readFileSync(join(ROOT, 'tools/vm/kernel.config')));
const CACHE = join(dir, 'cache');

function build(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('sh', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir, KSFT_LINUX_SOURCE: TARBALL, KSFT_VM_FRAGMENT: FRAGMENT, KSFT_VM_CACHE: CACHE, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const key = (env: NodeJS.ProcessEnv = {}): string => build(['--print-key'], env).stdout.trim();

t.test('the key: kernel version, then a hash of the fragment options', async (t) => {
  const k = key();
  t.match(k, /^linux-source-6\.12-[0-9a-f]{8}-[0-9a-f]{12}$/);
  t.equal(key(), k, 'stable');
  appendFileSync(FRAGMENT, '\n# a comment and blank lines do not count\n\n');
  t.equal(key(), k, 'comments do not change it');
  appendFileSync(FRAGMENT, 'CONFIG_KVM_XEN=y\n');
  const k2 = key();
  t.not(k2, k, 'an option changes it');
  t.equal(k2.slice(0, -12), k.slice(0, -12), 'same version part');
  appendFileSync(FRAGMENT, '# CONFIG_FOO is not set\n');
  t.not(key(), k2, '"is not set" lines are options');
  utimesSync(TARBALL, new Date(0), new Date(0));
  t.not(key().slice(0, -12), k.slice(0, -12), 'another tarball, another version part');
});

t.test('the cache directory', async (t) => {
  const k = key();
  t.equal(build(['--print-dir']).stdout, `${CACHE}/kernel/${k}\n`);
  t.equal(build(['--print-dir'], { KSFT_VM_CACHE: '', XDG_CACHE_HOME: '/xdg' }).stdout, `/xdg/ksft-coco/kernel/${k}\n`);
  t.equal(build(['--print-dir'], { KSFT_VM_CACHE: '' }).stdout, `${dir}/.cache/ksft-coco/kernel/${k}\n`);
});

t.test('a cached bzImage is reused: no build, no package install', async (t) => {
  const d = build(['--print-dir']).stdout.trim();
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'bzImage'), 'cached');
  const r = build([]);
  t.same([r.code, r.stdout, r.stderr], [0, `${d}/bzImage\n`, '']);
});

t.test('KERNEL=: used as given, or a one-line error', async (t) => {
  const r = build([], { KERNEL: TARBALL });
  t.same([r.code, r.stdout, r.stderr], [0, `${TARBALL}\n`, '']);
  const m = build([], { KERNEL: join(dir, 'missing/bzImage') });
  t.same([m.code, m.stdout, m.stderr], [1, '', `vm: KERNEL=${dir}/missing/bzImage: no such file\n`]);
});

t.test('bad input', async (t) => {
  const u = build(['--now']);
  t.same([u.code, u.stdout, u.stderr], [2, '', "vm: build_kernel.sh: unknown argument '--now' (use --print-key or --print-dir)\n"]);
  const f = build(['--print-key'], { KSFT_VM_FRAGMENT: join(dir, 'nofragment') });
  t.same([f.code, f.stderr], [1, `vm: config fragment ${dir}/nofragment: cannot read it\n`]);
  const s = build(['--print-key'], { KSFT_LINUX_SOURCE: join(dir, 'none.tar.xz') });
  t.same([s.code, s.stderr], [1, `vm: kernel source ${dir}/none.tar.xz is missing (apt-get install linux-source-6.12, or set KSFT_LINUX_SOURCE)\n`]);
});

t.test('a build in progress: the second one waits for the lock, then reuses its kernel', async (t) => {
  const env = { PATH: process.env.PATH, HOME: dir, KSFT_LINUX_SOURCE: TARBALL, KSFT_VM_FRAGMENT: FRAGMENT, KSFT_VM_CACHE: join(dir, 'lockcache'), KSFT_VM_INSTALL: '0' };
  const d = spawnSync('sh', [SCRIPT, '--print-dir'], { encoding: 'utf8', env }).stdout.trim();
  mkdirSync(d, { recursive: true });
  // The first build: holds the lock (as build_kernel.sh does) until killed.
  // Its own process group, so that killing it takes the sleep (which holds
  // the lock file open) along.
  const first = spawn('flock', [`${d}.lock`, 'sleep', '30'], { stdio: 'ignore', detached: true });
  while (spawnSync('flock', ['-n', `${d}.lock`, 'true']).status === 0) await new Promise((r) => setTimeout(r, 20));
  const second = spawn('sh', [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  second.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const waiting = new Promise<void>((resolve) => second.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (stderr.includes('waiting')) resolve();
  }));
  await waiting;
  t.equal(stderr, `vm: another build of ${d.split('/').at(-1)} is running; waiting for it\n`);
  // The first build finishes: its bzImage, then the lock released.
  writeFileSync(join(d, 'bzImage'), 'built by the first');
  process.kill(-first.pid!, 'SIGTERM');
  const code = await new Promise((resolve) => second.on('close', resolve));
  t.same([code, stdout], [0, `${d}/bzImage\n`]);
});
