// Without linux-source-6.12 the peer tests report SKIP with the reason, and
// do not pass: each file is run standalone (tap test files print TAP) with
// the tarball pointed at a path that does not exist and an empty
// extraction directory.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tmpDir } from './helpers.js';

const PEERS = [
  ['kernel_runner.test.ts', 'kernel runner', 'peer: the kernel 6.12 runner and ours print the same bytes'],
  ['kunit_parse.test.ts', 'kunit.py', 'kunit.py parse (6.12) reads our streams'],
] as const;

for (const [file, what, title] of PEERS) {
  t.test(`${file} skips when the package is missing`, async (t) => {
    const r = spawnSync(process.execPath, ['--import=tsx', join(ROOT, 'test/peers', file)], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, KSFT_PEERS_DIR: tmpDir('ksft-peers-none-'), KSFT_LINUX_SOURCE: '/nonexistent/linux-source-6.12.tar.xz', TAP: '1' },
    });
    const reason = `${what} unavailable: /nonexistent/linux-source-6.12.tar.xz is missing: the Debian package linux-source-6.12 is not installed (apt-get install linux-source-6.12)`;
    const line = r.stdout.split('\n').find((l) => l.includes(` - ${title}`));
    t.match(line, new RegExp(`^ok \\d+ - ${title.replace(/[.()]/g, '\\$&')} # SKIP `), 'the peer test is a SKIP, not a pass');
    t.equal(line?.slice(line.indexOf('# SKIP ') + '# SKIP '.length), reason, 'with the reason');
    t.equal(r.status, 0, 'a skip is not a failure');
  });
}
