// The platform × scenario matrix (docs/platform-matrix.md), generated from
// what the project holds, not typed by hand:
//  - the platforms: every built-in plugin's manifest (platforms/<name>);
//  - the scenarios: the TEST names of the tests/coco/<platform> programs,
//    as the programs themselves list them (kselftest_harness `-l`, after
//    bundling them as `make` does), where `scenario_NN_...` and
//    `item_NN_...` name the scenario of reference/platforms.md §5 or the
//    checklist item of reference/kselftest.md §6 a test covers;
//  - the generic conversion tests: each plugin's own answer to whether
//    guests can ask the host to convert (genericConversionSkip()).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildCollections } from '../build/build.js';
import { discoverCollections, readCollection } from '../build/collections.js';
import { builtinPlatforms } from '../../lib/platform/index.js';
import type { PlatformPlugin } from '../../lib/platform/types.js';
import '../../lib/kvm_util/platform_types.js'; // registers the built-in platforms with the loader

const run = promisify(execFile);

/** One program's tests, by its collection. */
export interface CollectionTests {
  readonly collection: string;
  readonly program: string;
  readonly tests: readonly string[];
}

/**
 * The TEST names of every program of the tests/coco/* collections: built
 * into a scratch directory, each program asked with `-l` (names from
 * loops and template strings included), in parallel.
 */
export async function cocoTests(root: string): Promise<CollectionTests[]> {
  const testsDir = join(root, 'tests');
  const collections = discoverCollections(testsDir).filter((c) => c.startsWith('coco/'));
  const out = mkdtempSync(join(tmpdir(), 'ksft-docs-'));
  try {
    const b = await buildCollections({ root, out, testsDir, collections });
    // Only a collection that did not build at all is fatal; a stray file is the build's own report.
    const broken = b.failures.filter((f) => !/is in the collection but not listed/.test(f.message));
    if (broken.length) throw new Error(broken.map((f) => `${f.collection}: ${f.message}`).join('\n'));
    const jobs = collections.flatMap((c) => readCollection(testsDir, c).genProgs.map((p) => ({ collection: c, program: p.split('/').pop()! })));
    return await Promise.all(jobs.map(async (j) => {
      const file = join(out, 'tests', j.collection, j.program);
      // -l lists on stderr and exits KSFT_SKIP (4).
      const r = await run(process.execPath, [file, '-l'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).catch((e: { code?: number; stderr?: string }) => {
        if (e.code === 4 && typeof e.stderr === 'string') return { stdout: '', stderr: e.stderr };
        throw new Error(`${j.collection}/${j.program} -l: ${String(e.stderr ?? e)}`);
      });
      const tests = r.stderr.split('\n').slice(1).map((l) => l.slice(47).trim()).filter((t) => t !== '' && !/^-+$/.test(t));
      return { ...j, tests };
    }));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A row per plugin: what its manifest says, in the words of reference/platforms.md §4. */
export function platformTable(plugins: readonly PlatformPlugin[] = builtinPlatforms()): string {
  const rows = [
    '| Platform | VM type | Status | Private memory | Marker | Conversion (guest call → exit) | Wrong-state access | Host read / write of private | Launch | Granularity |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of plugins) {
    const m = p.manifest;
    const marker = m.marker.model === 'address-bit' ? `address bit ${m.marker.bit ?? ''} (${m.marker.bitMeans ?? ''})` : m.marker.model;
    rows.push(`| \`${m.name}\` | \`${m.vmTypeName}\` (${m.vmType}) | ${cell(m.status)} | ${m.hasPrivateMem ? 'yes' : 'no'} | ${cell(marker)} | ` +
      `${cell(m.conversion.call)} → ${cell(m.conversion.exit)} | ${cell(m.wrongState.description)} | ${cell(`${m.hostAccess.read} / ${m.hostAccess.write}`)} | ` +
      `${cell(m.launch.flow)} | ${m.granularity.pageSize} B; KVM private levels ${m.granularity.kvmPrivateLevels.join(', ')} |`);
  }
  return `${rows.join('\n')}\n`;
}

interface Covered {
  readonly kind: 'scenario' | 'item';
  readonly number: number;
  readonly titles: Set<string>;
  readonly by: Map<string, string[]>;
}

/** The scenarios and checklist items the coco collections cover, per platform (collection coco/<platform>). */
export function scenarioMatrix(tests: readonly CollectionTests[], plugins: readonly PlatformPlugin[] = builtinPlatforms()): string {
  const covered = new Map<string, Covered>();
  for (const t of tests) {
    const platform = t.collection.slice('coco/'.length);
    for (const name of t.tests) {
      const m = /^(scenario|item)_(\d+)_(.+)$/.exec(name);
      if (!m) continue;
      const key = `${m[1]}:${m[2]}`;
      const c = covered.get(key) ?? { kind: m[1] as Covered['kind'], number: Number(m[2]), titles: new Set<string>(), by: new Map<string, string[]>() };
      c.titles.add(m[3]!.replace(/^init2_[a-z_]+?_(empty_struct|each_|supported_)/, 'init2_$1').replace(/_/g, ' '));
      c.by.set(platform, [...(c.by.get(platform) ?? []), `${t.program}: ${name}`]);
      covered.set(key, c);
    }
  }
  const names = plugins.map((p) => p.name);
  const rows = [`| § | What the tests check | ${names.map((n) => `\`${n}\``).join(' | ')} |`, `|---|---|${names.map(() => ':-:').join('|')}|`];
  const ordered = [...covered.values()].sort((a, b) => (a.kind === b.kind ? a.number - b.number : a.kind === 'scenario' ? -1 : 1));
  for (const c of ordered) {
    const label = c.kind === 'scenario' ? `${c.number}` : `item ${c.number}`;
    const titles = [...c.titles].slice(0, 3).join('; ') + (c.titles.size > 3 ? '; …' : '');
    rows.push(`| ${label} | ${cell(titles)} | ${names.map((n) => (c.by.has(n) ? `✓ ${c.by.get(n)!.length}` : '')).join(' | ')} |`);
  }
  return `${rows.join('\n')}\n\n✓ N: N tests of \`tests/coco/<platform>\` cover it. ` +
    '§ numbers are the scenarios of `reference/platforms.md` §5; items are `reference/kselftest.md` §6.\n';
}

/** Every program of the coco collections with its tests (what `make run_tests TARGETS=coco/<p>` runs). */
export function testList(tests: readonly CollectionTests[]): string {
  const out: string[] = [];
  for (const t of tests) out.push(`- \`${t.collection}/${t.program}\` (${t.tests.length}): ${t.tests.map((n) => `\`${n}\``).join(', ')}`);
  return `${out.join('\n')}\n`;
}

/** Whether the generic conversion tests run on each platform, in the plugin's own words. */
export function genericTable(plugins: readonly PlatformPlugin[] = builtinPlatforms()): string {
  const rows = ['| Platform | `private_mem_conversions_test`, `requireConversion()` |', '|---|---|'];
  for (const p of plugins) {
    const skip = p.genericConversionSkip();
    rows.push(`| \`${p.name}\` | ${skip === null ? 'runs' : `skips: ${cell(skip)}`} |`);
  }
  return `${rows.join('\n')}\n`;
}
