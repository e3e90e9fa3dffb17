// Extraction of the kernel's runner, kunit.py and the C harness headers from a linux-source tarball:
// the member list, the cache, and the reasons given when it cannot be done.
// A stand-in tarball with empty files at the member paths keeps this fast.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { kernelSource, SOURCE_PACKAGE } from '../../../tools/peers/kernel_source.js';
import { tmpDir } from '../runner/helpers.js';

const MEMBERS = [
  'tools/testing/selftests/run_kselftest.sh',
  'tools/testing/selftests/kselftest/runner.sh',
  'tools/testing/selftests/kselftest/prefix.pl',
  'tools/testing/kunit/kunit.py',
  'tools/testing/kunit/kunit_parser.py',
  'tools/testing/selftests/kselftest_harness.h',
  'tools/testing/selftests/kselftest.h',
];

function fakeTarball(members: readonly string[]): string {
  const src = tmpDir('ksft-peers-src-');
  for (const m of [...members, 'tools/testing/selftests/kvm/unrelated.c']) {
    const p = join(src, SOURCE_PACKAGE, m);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, `${m}\n`);
  }
  const tarball = join(tmpDir('ksft-peers-tar-'), `${SOURCE_PACKAGE}.tar.xz`);
  const r = spawnSync('tar', ['-cJf', tarball, '-C', src, SOURCE_PACKAGE]);
  if (r.status !== 0) throw new Error(`tar -cJf failed: ${r.stderr}`);
  return tarball;
}

t.test('extracts only the members, once; later calls use the cache', async (t) => {
  const peers = tmpDir('ksft-peers-');
  const tarball = fakeTarball(MEMBERS);
  const first = kernelSource(peers, tarball);
  if (!first.ok) throw new Error(first.reason);
  t.equal(first.source.top, join(peers, SOURCE_PACKAGE));
  t.ok(existsSync(first.source.kunitPy) && existsSync(first.source.runKselftest));
  t.ok(existsSync(join(first.source.kselftestDir, 'prefix.pl')));
  t.notOk(existsSync(join(peers, SOURCE_PACKAGE, 'tools/testing/selftests/kvm')), 'nothing else is extracted');
  t.ok(first.source.extractMs > 0, 'timed');
  const again = kernelSource(peers, join(tmpDir('ksft-peers-gone-'), 'none.tar.xz'));
  t.ok(again.ok && again.source.extractMs === 0, 'complete tree reused, even without the tarball');
});

t.test('reasons: no package, members missing from the tarball', async (t) => {
  const none = kernelSource(tmpDir('ksft-peers-'), '/nonexistent/linux-source-6.12.tar.xz');
  t.same(none, { ok: false, reason: '/nonexistent/linux-source-6.12.tar.xz is missing: the Debian package linux-source-6.12 is not installed (apt-get install linux-source-6.12)' });
  const noKunit = kernelSource(tmpDir('ksft-peers-'), fakeTarball(MEMBERS.slice(0, 3)));
  t.notOk(noKunit.ok);
  if (!noKunit.ok) t.match(noKunit.reason, /^tar -xJf \S+ failed: tar: linux-source-6\.12\/tools\/testing\/kunit\/\*: Not found in archive$/, "tar's first line");
  const noParser = kernelSource(tmpDir('ksft-peers-'), fakeTarball(MEMBERS.filter((m) => !m.endsWith('kunit_parser.py'))));
  t.notOk(noParser.ok);
  if (!noParser.ok) t.match(noParser.reason, /lacks the kselftest runner, its harness headers or kunit\.py$/);
});
