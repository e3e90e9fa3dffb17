// The kernel's own runner and KUnit parser, for the peer tests
// (test/peers): taken at run time from Debian's linux-source-6.12 tarball,
// never copied into the repository. Only the three paths the tests use are
// extracted (about 7 s from the 150 MB .tar.xz) into build/peers/, which is
// reused while it is complete.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const SOURCE_PACKAGE = 'linux-source-6.12';
export const TARBALL = `/usr/src/${SOURCE_PACKAGE}.tar.xz`;
const TOP = SOURCE_PACKAGE;

/** Tarball members, as `tar --wildcards` patterns. */
export const MEMBERS = [
  `${TOP}/tools/testing/kunit/*`,
  `${TOP}/tools/testing/selftests/kselftest/*`,
  `${TOP}/tools/testing/selftests/run_kselftest.sh`,
  // The C harness, for the bench's anchor (bench/figures/harness.ts).
  `${TOP}/tools/testing/selftests/kselftest_harness.h`,
  `${TOP}/tools/testing/selftests/kselftest.h`,
] as const;

export interface KernelSource {
  /** build/peers/linux-source-6.12 */
  top: string;
  /** tools/testing/selftests/run_kselftest.sh */
  runKselftest: string;
  /** tools/testing/selftests/kselftest (runner.sh, prefix.pl) */
  kselftestDir: string;
  /** tools/testing/selftests (kselftest_harness.h, kselftest.h) */
  selftestsDir: string;
  /** tools/testing/kunit/kunit.py */
  kunitPy: string;
  /** Milliseconds spent extracting; 0 when the cached tree was used. */
  extractMs: number;
}

export type SourceResult = { ok: true; source: KernelSource } | { ok: false; reason: string };

function layout(top: string, extractMs: number): KernelSource {
  const selftests = join(top, 'tools/testing/selftests');
  return {
    top,
    runKselftest: join(selftests, 'run_kselftest.sh'),
    selftestsDir: selftests,
    kselftestDir: join(selftests, 'kselftest'),
    kunitPy: join(top, 'tools/testing/kunit/kunit.py'),
    extractMs,
  };
}

function complete(s: KernelSource): boolean {
  return [s.runKselftest, join(s.kselftestDir, 'runner.sh'), join(s.kselftestDir, 'prefix.pl'), s.kunitPy,
    join(s.top, 'tools/testing/kunit/kunit_parser.py'),
    join(s.selftestsDir, 'kselftest_harness.h')].every((p) => existsSync(p));
}

/**
 * The extracted tree under `peersDir` (normally build/peers), extracting it
 * when absent. Extraction goes to a fresh directory that is renamed into
 * place, so concurrent test processes never see half a tree.
 */
export function kernelSource(peersDir: string, tarball = TARBALL): SourceResult {
  const cached = layout(join(peersDir, TOP), 0);
  if (complete(cached)) return { ok: true, source: cached };
  if (!existsSync(tarball)) {
    return { ok: false, reason: `${tarball} is missing: the Debian package ${SOURCE_PACKAGE} is not installed (apt-get install ${SOURCE_PACKAGE})` };
  }
  mkdirSync(peersDir, { recursive: true });
  const tmp = mkdtempSync(join(peersDir, '.extract-'));
  try {
    const t0 = Date.now();
    const r = spawnSync('tar', ['-xJf', tarball, '-C', tmp, '--wildcards', ...MEMBERS], { encoding: 'utf8' });
    const ms = Date.now() - t0;
    if (r.error) return { ok: false, reason: `cannot run tar: ${r.error.message}` };
    if (r.status !== 0) return { ok: false, reason: `tar -xJf ${tarball} failed: ${r.stderr.trim().split('\n')[0] ?? `status ${r.status}`}` };
    const fresh = layout(join(tmp, TOP), ms);
    if (!complete(fresh)) return { ok: false, reason: `${tarball} lacks the kselftest runner, its harness headers or kunit.py` };
    if (!complete(cached)) {
      rmSync(cached.top, { recursive: true, force: true });
      try {
        renameSync(fresh.top, cached.top);
      } catch (e) {
        // Another process put its copy in place first: use that one.
        if (!complete(cached)) throw e;
      }
    }
    return { ok: true, source: layout(cached.top, ms) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
