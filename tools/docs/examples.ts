// Running the documentation's code: every `@example` of a doc comment and
// every ```ts block of docs/*.md, typechecked with the project's tsconfig,
// bundled as tests are and run on the model, each in its own process.
//
// A block that starts with `import` is a whole program, written as if it
// sat in tests/<collection>/. Any other block is a snippet: it gets the
// exports of the test-facing modules in scope (the names a test would
// import) and runs as the body of an async kvmSelftestMain() main, or at
// top level when it drives the harness itself (TEST_HARNESS_MAIN). Either
// way it must exit 0: a skip is not a pass.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleTests } from '../build/bundle.js';
import { flatName, writeLauncher } from '../build/layout.js';
import type { ApiModule } from './api_model.js';

export interface Example {
  /** Where it is written: `lib/kvm_util/attributes.ts:40 (vmMemSetPrivate)`, `docs/guest-api.md:31`. */
  readonly source: string;
  readonly code: string;
}

export interface ExampleResult {
  readonly example: Example;
  readonly ok: boolean;
  /** tsc diagnostics, or the program's output and exit status, when not ok. */
  readonly detail: string;
}

/** The modules whose exports a snippet has in scope, first one wins a name. */
export const SNIPPET_MODULES = [
  'lib/kvm_util/index.ts', 'lib/guest/index.ts', 'lib/kvm_util/coco.ts', 'lib/platform/index.ts', 'lib/kvm/uapi.ts', 'lib/kvm/errno.ts',
] as const;
const HARNESS_MODULE = 'lib/harness/index.ts';

/** The @example blocks of the documented modules' exports. */
export function docCommentExamples(modules: Iterable<ApiModule>): Example[] {
  const seen = new Set<string>();
  const out: Example[] = [];
  for (const m of modules) {
    for (const g of m.groups) {
      for (const s of g.symbols) {
        const key = `${s.file}:${s.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        for (const code of s.examples) out.push({ source: `${s.file}:${s.line} (${s.name})`, code });
      }
    }
  }
  return out;
}

/** The ```ts blocks of a Markdown file, with the line each starts at. */
export function markdownExamples(root: string, file: string): Example[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== '```') i++;
    out.push({ source: `${file}:${start + 1}`, code: `${lines.slice(start, i + 1).join('\n')}\n` });
    i++;
  }
  return out;
}

/** `import { ... } from '...'` lines giving a snippet the modules' exports, types as types. */
export function prelude(modules: ReadonlyMap<string, ApiModule>, harness: boolean, up = '../../'): string {
  const taken = new Set<string>();
  const lines: string[] = [];
  for (const entry of [...SNIPPET_MODULES, ...(harness ? [HARNESS_MODULE] : [])]) {
    const m = modules.get(entry);
    if (!m) throw new Error(`${entry}: not a documented module`);
    const values: string[] = [];
    const types: string[] = [];
    for (const s of m.groups.flatMap((g) => g.symbols)) {
      if (taken.has(s.name)) continue;
      taken.add(s.name);
      (s.kind === 'interface' || s.kind === 'type' ? types : values).push(s.name);
    }
    const names = [...values, ...types.map((t) => `type ${t}`)];
    if (names.length) lines.push(`import { ${names.join(', ')} } from '${up}${entry.replace(/\.ts$/, '.js')}';`);
  }
  return `${lines.join('\n')}\n`;
}

/** The program an example becomes, and how many lines precede its first line. */
export function programOf(ex: Example, modules: ReadonlyMap<string, ApiModule>): { text: string; offset: number } {
  if (/^import /m.test(ex.code.split('\n').find((l) => l.trim() !== '') ?? '')) return { text: ex.code, offset: 0 };
  const harness = ex.code.includes('TEST_HARNESS_MAIN');
  const head = `${prelude(modules, harness)}/* ${ex.source.replace(/\*\//g, '')} */\n`;
  const offset = head.split('\n').length - 1;
  if (harness) return { text: `${head}${ex.code}`, offset };
  return { text: `${head}kvmSelftestMain(async () => {\n${ex.code}});\n`, offset: offset + 1 };
}

function runOne(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, NODE_OPTIONS: '', KSFT_BACKEND: 'model', KSFT_PLATFORM: '', KSFT_KERNEL: '', KSFT_TRACE: '' };
    execFile(file, [], { env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * Typecheck, build and run every example, `jobs` at a time. The scratch
 * directory sits in the project (`.doc_examples_<pid>`, removed after) so
 * that whole programs' `../../lib/...` imports resolve as in tests/.
 */
export async function runExamples(root: string, examples: readonly Example[], modules: ReadonlyMap<string, ApiModule>, jobs = 3): Promise<ExampleResult[]> {
  const dir = join(root, `.doc_examples_${process.pid}`);
  const src = join(dir, 'ex');
  const out = join(dir, 'build');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  try {
    const programs = examples.map((ex, i) => ({ ex, name: `example_${String(i).padStart(3, '0')}`, ...programOf(ex, modules) }));
    for (const p of programs) writeFileSync(join(src, `${p.name}.ts`), p.text);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['ex/*.ts'], exclude: [] }));

    // tsc as a user runs it, without any module hooks of the calling process.
    const tsc = spawnSync('sh', ['-c', 'unset NODE_OPTIONS; exec "$@"', 'sh', join(root, 'node_modules/.bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
      { cwd: root, encoding: 'utf8' });
    const diagnostics = new Map<string, string[]>();
    for (const m of tsc.stdout.matchAll(/^(\S+?)\((\d+),(\d+)\): (error TS\d+: .*)$/gm)) {
      const p = programs.find((x) => m[1]!.endsWith(`${x.name}.ts`));
      if (!p) continue;
      const line = Number(m[2]) - p.offset;
      diagnostics.set(p.name, [...(diagnostics.get(p.name) ?? []), `line ${line} of the example: ${m[4]}`]);
    }

    const runnable = programs.filter((p) => !diagnostics.has(p.name));
    const b = await bundleTests(runnable.map((p) => ({ source: join(src, `${p.name}.ts`), out: p.name })), out);
    for (const f of b.outputs) {
      mkdirSync(join(f.path, '..'), { recursive: true });
      writeFileSync(f.path, f.contents);
    }
    for (const p of runnable) writeLauncher(out, flatName(p.name));

    const results = new Map<string, ExampleResult>();
    for (const p of programs) {
      const d = diagnostics.get(p.name);
      if (d) results.set(p.name, { example: p.ex, ok: false, detail: `does not typecheck:\n${d.join('\n')}` });
    }
    const queue = [...runnable];
    const worker = async (): Promise<void> => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const r = await runOne(join(out, p.name));
        const where = relative(root, join(src, `${p.name}.ts`));
        results.set(p.name, { example: p.ex, ok: r.code === 0, detail: `exit status ${r.code} (${where}):\n${r.output}` });
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
    return programs.map((p) => results.get(p.name)!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
