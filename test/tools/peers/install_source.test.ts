// tools/peers/install_source.sh (run by `make check`): nothing to do when the
// tarball is there; without root or apt-get it says why and still exits 0.
// The install branch itself is never run here (it would change the machine).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tmpDir } from '../runner/helpers.js';

const SCRIPT = join(ROOT, 'tools/peers/install_source.sh');

t.test('tarball present: silent, exit 0', async (t) => {
  const r = spawnSync('sh', [SCRIPT], { encoding: 'utf8', env: { ...process.env, KSFT_LINUX_SOURCE: SCRIPT } });
  t.same([r.status, r.stdout, r.stderr], [0, '', '']);
});

const root = process.getuid?.() === 0;
const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();

t.test('not root: the reason on stderr, exit 0', { skip: root && setpriv === '' ? 'running as root without setpriv to drop privileges' : false }, async (t) => {
  const missing = join(tmpDir('ksft-peers-install-'), 'linux-source-6.12.tar.xz');
  const cmd = root ? [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', 'sh', SCRIPT] : ['sh', SCRIPT];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: { ...process.env, KSFT_LINUX_SOURCE: missing } });
  t.equal(r.status, 0, 'never fails make check');
  t.equal(r.stdout, '');
  t.equal(r.stderr, `peers: ${missing} is missing and cannot be installed here (needs root and apt-get); the kernel peer tests will skip\n`);
});
