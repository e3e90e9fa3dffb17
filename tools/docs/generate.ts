// Every generated piece of docs/: the API reference pages (docs/api/), the
// platform matrix, the kernel profile table and the platforms' hardware
// parameters (blocks inside hand-written pages). `make docs` writes them;
// make check's docs test compares them with what is committed, so none of
// them can drift from the code.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiModule, type ApiModule } from './api_model.js';
import { renderModule, renderTable, GENERATED_NOTE, type ApiPage } from './api_markdown.js';
import { fillBlocks } from './generated.js';
import { hardwareTable } from './hardware.js';
import { platformDefinitions } from '../../lib/platform/registry.js';
import { cocoTests, genericTable, platformTable, scenarioMatrix, testList } from './matrix.js';
import { profilesTable } from './profiles.js';
import type { TsProject } from './ts_project.js';

/** The modules of the API reference, in the order the index lists them. */
export const API_PAGES: readonly ApiPage[] = [
  {
    entry: 'lib/kvm_util/index.ts', page: 'kvm_util.md', title: 'kvm_util: VMs, memory, vCPUs, asserts',
    reexports: ['lib/kvm/uapi.ts', 'lib/kvm/errno.ts', 'lib/guest/index.ts', 'lib/kvm_util/coco.ts'],
  },
  { entry: 'lib/guest/index.ts', page: 'guest.md', title: 'guest: guest code as recorded programs' },
  { entry: 'lib/kvm_util/coco.ts', page: 'coco.md', title: 'coco: a VM of any platform, its launch and its conversions' },
  { entry: 'lib/platform/index.ts', page: 'platform.md', title: 'platform plugins: interface, manifest, loader' },
  { entry: 'lib/harness/index.ts', page: 'harness.md', title: 'kselftest_harness: TEST, FIXTURE, ASSERT, EXPECT' },
  { entry: 'lib/kselftest/index.ts', page: 'kselftest.md', title: 'kselftest: the TAP API' },
  { entry: 'lib/kvm/uapi.ts', page: 'uapi.md', title: 'KVM uAPI numbers', table: true },
  { entry: 'lib/kvm/errno.ts', page: 'errno.md', title: 'errno values', table: true },
];

/** Pages whose generated blocks are filled: page → block name → content. */
const BLOCK_PAGES = ['docs/platform-matrix.md', 'docs/kernel-profiles.md', 'platforms/README.md'] as const;

export interface Generated {
  /** Path relative to the project root → full content. */
  readonly files: ReadonlyMap<string, string>;
  /** `module: name` of every export of a documented module that has no doc comment. */
  readonly undocumented: readonly string[];
  readonly modules: ReadonlyMap<string, ApiModule>;
}

function apiIndex(modules: ReadonlyMap<string, ApiModule>): string {
  const out = ['# API reference', '', GENERATED_NOTE, '', '| Module | Page | Exports |', '|---|---|---|'];
  for (const page of API_PAGES) {
    const m = modules.get(page.entry)!;
    const n = m.groups.reduce((k, g) => k + g.symbols.length, 0);
    out.push(`| \`${page.entry}\` | [${page.title}](${page.page}) | ${n} |`);
  }
  out.push('', 'Start with [kvm_util](kvm_util.md) and [guest](guest.md); the tutorial (`docs/tutorial.md`) shows them at work.');
  return `${out.join('\n')}\n`;
}

/** The API reference's modules, by entry file. */
export function apiModules(p: TsProject): Map<string, ApiModule> {
  const modules = new Map(API_PAGES.map((page) => [page.entry, apiModule(p, page.entry)]));
  for (const page of API_PAGES) {
    if (!page.reexports?.length) continue;
    const m = modules.get(page.entry)!;
    const elsewhere = new Set(page.reexports.flatMap((e) => modules.get(e)!.groups.flatMap((g) => g.symbols.map((s) => `${s.file}:${s.name}`))));
    const groups = m.groups
      .map((g) => ({ ...g, symbols: g.symbols.filter((s) => !elsewhere.has(`${s.file}:${s.name}`)) }))
      .filter((g) => g.symbols.length > 0);
    const links = page.reexports.map((e) => {
      const to = API_PAGES.find((q) => q.entry === e)!;
      return `[${to.title}](${to.page})`;
    });
    const also = `Also exported from here, documented on their own pages: ${links.join(', ')}.`;
    modules.set(page.entry, { ...m, groups, intro: m.intro ? `${m.intro}\n\n${also}` : also });
  }
  return modules;
}

export async function generate(p: TsProject): Promise<Generated> {
  const files = new Map<string, string>();
  const modules = apiModules(p);
  const undocumented: string[] = [];
  for (const page of API_PAGES) {
    const m = modules.get(page.entry)!;
    const values = page.table ? (await import(pathToFileURL(join(p.root, page.entry)).href)) as Record<string, unknown> : {};
    files.set(join('docs/api', page.page), page.table ? renderTable(page, m, undefined, values) : renderModule(page, m));
    if (page.table) continue;
    for (const g of m.groups) for (const s of g.symbols) if (!s.doc) undocumented.push(`${page.entry}: ${s.name} (${s.file}:${s.line})`);
  }
  files.set('docs/api/README.md', apiIndex(modules));

  const tests = await cocoTests(p.root);
  const blocks: Record<(typeof BLOCK_PAGES)[number], Record<string, string>> = {
    'docs/platform-matrix.md': {
      platforms: platformTable(),
      scenarios: scenarioMatrix(tests),
      generic: genericTable(),
      tests: testList(tests),
    },
    'docs/kernel-profiles.md': { profiles: profilesTable(p) },
    'platforms/README.md': { hardware: hardwareTable(platformDefinitions()) },
  };
  for (const page of BLOCK_PAGES) {
    const path = join(p.root, page);
    if (!existsSync(path)) throw new Error(`${page}: missing (it holds generated blocks)`);
    files.set(page, fillBlocks(readFileSync(path, 'utf8'), page, blocks[page]));
  }
  return { files, undocumented, modules };
}
