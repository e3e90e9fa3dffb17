// tools/vm/job.ts: the job script and its environment.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { guestEnv, jobScript, shQuote } from '../../../tools/vm/job.js';
import { tmpDir } from '../runner/helpers.js';

t.test('shQuote survives sh', async (t) => {
  const words = ['plain', '', "it's", 'a b', '$HOME', '`x`', 'back\\slash', '"q"', 'new\nline', 'TARGETS=kvm coco/tdx'];
  const r = spawnSync('sh', ['-c', `printf '%s\\0' ${words.map(shQuote).join(' ')}`], { encoding: 'utf8' });
  t.same(r.stdout.split('\0').slice(0, -1), words);
  t.equal(shQuote('TARGETS=kvm'), 'TARGETS=kvm', 'plain words stay plain');
});

t.test('guest environment: PATH, HOME/TMPDIR on tmpfs, KSFT_* but not KSFT_VM_*, explicit pairs win', async (t) => {
  const env = guestEnv({ PATH: '/bin:/usr/bin', HOME: '/root', LANG: 'C.UTF-8', KSFT_BACKEND: 'model', KSFT_BUILD: '/b', KSFT_VM_TIMEOUT: '9', NODE_OPTIONS: '--x', SECRET: 's' },
    ['KSFT_BACKEND=kvm', 'EXTRA=a b'], false);
  t.same([...env], [
    ['PATH', '/bin:/usr/bin'], ['HOME', '/tmp/home'], ['TMPDIR', '/tmp'], ['LANG', 'C.UTF-8'],
    ['KSFT_BACKEND', 'kvm'], ['KSFT_BUILD', '/b'], ['EXTRA', 'a b'],
  ]);
  t.equal(guestEnv({}, [], true).get('KSFT_VM_RESULTS'), '/run/ksft-vm-results');
  t.match(guestEnv({}, [], false).get('PATH'), /\/usr\/bin/, 'a PATH even without one');
});

t.test('the script runs the job in the directory, with the environment, and returns its status', async (t) => {
  const dir = tmpDir('ksft-vm-job-');
  const home = tmpDir('ksft-vm-home-');
  const env = new Map([['HOME', home], ['A', "x 'y'"]]);
  const run = (s: string) => spawnSync('sh', ['-c', s], { encoding: 'utf8' });
  const argv = run(jobScript({ dir, env, argv: ['sh', '-c', 'pwd; printf "%s\\n" "$A"; exit 7'] }));
  t.same([argv.status, argv.stdout], [7, `${dir}\n${"x 'y'"}\n`]);
  const shell = run(jobScript({ dir, env, shell: 'echo "$A" | wc -c; false' }));
  t.same([shell.status, shell.stdout.trim()], [1, '6']);
  const nodir = run(jobScript({ dir: `${dir}/missing`, env, shell: 'echo ran' }));
  t.same([nodir.status, nodir.stdout], [125, ''], 'a missing directory: 125, the job does not run');
});
