/**
 * The library's layers point one way (lib/README.md): the platform layer
 * (lib/platform and the plugin code it loads from platforms/<name>) sits
 * below kvm_util, which builds VMs of a platform, serves its conversion
 * exits and asserts. So no file of lib/platform, and nothing the plugin
 * definitions (platforms/index.ts) import, may reach lib/kvm_util through
 * any chain of imports, `import type` included: a type import is still a
 * layer naming the one above it. platforms/<name>/host.ts are test-facing
 * helpers above kvm_util (as the selftests' lib/x86/sev.c is part of
 * kvm_util) and no definition imports them.
 *
 * The graph is read from the sources: every `import ... from '...'`,
 * `export ... from '...'` and `import('...')` with a relative path.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under `dir`. */
function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /^\s*(?:import|export)\s[^'";]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm;

/** Each file's relative imports, resolved to the .ts files they name (root-relative paths). */
export function importGraph(root: string, dirs: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap((d) => sources(join(root, d)))) {
    const deps: string[] = [];
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (existsSync(target)) deps.push(relative(root, target));
    }
    graph.set(relative(root, file), deps);
  }
  return graph;
}

/** A shortest import chain from any of `from` to a file `to` accepts, or null. */
export function importChain(graph: ReadonlyMap<string, readonly string[]>, from: readonly string[], to: (f: string) => boolean): string[] | null {
  const prev = new Map<string, string | null>(from.map((f) => [f, null]));
  const queue = [...from];
  while (queue.length) {
    const f = queue.shift()!;
    if (to(f)) {
      const chain = [f];
      for (let p = prev.get(f); p; p = prev.get(p)) chain.unshift(p);
      return chain;
    }
    for (const d of graph.get(f) ?? []) {
      if (!prev.has(d)) {
        prev.set(d, f);
        queue.push(d);
      }
    }
  }
  return null;
}

const inFolder = (folder: string) => (f: string): boolean => f.startsWith(`${folder}/`);

const graph = importGraph(ROOT, ['lib', 'platforms']);
const files = [...graph.keys()];

t.test('lib/platform reaches no file of lib/kvm_util', async (t) => {
  const chain = importChain(graph, files.filter(inFolder('lib/platform')), inFolder('lib/kvm_util'));
  t.equal(chain?.join(' -> ') ?? null, null, 'an import chain from the platform layer up into kvm_util');
});

t.test('the plugin definitions (platforms/index.ts) reach no file of lib/kvm_util', async (t) => {
  const chain = importChain(graph, ['platforms/index.ts'], inFolder('lib/kvm_util'));
  t.equal(chain?.join(' -> ') ?? null, null, 'kvm_util imports platforms/index.ts, so a way back is a cycle');
});

t.test('guest programs (lib/guest) reach neither layer above them', async (t) => {
  const chain = importChain(graph, files.filter(inFolder('lib/guest')), (f) => inFolder('lib/kvm_util')(f) || inFolder('lib/platform')(f));
  t.equal(chain?.join(' -> ') ?? null, null, 'platform guest ops record through lib/guest');
});

t.test('kvm_util does sit on the platform layer (the direction the checks above protect)', async (t) => {
  t.ok(importChain(graph, files.filter(inFolder('lib/kvm_util')), inFolder('lib/platform')), 'kvm_util imports lib/platform');
});

t.test('the chain finder reports a cycle where there is one', async (t) => {
  const g = new Map([['lib/platform/a.ts', ['lib/x/b.ts']], ['lib/x/b.ts', ['lib/kvm_util/c.ts']], ['lib/kvm_util/c.ts', ['lib/platform/a.ts']]]);
  t.same(importChain(g, ['lib/platform/a.ts'], inFolder('lib/kvm_util')), ['lib/platform/a.ts', 'lib/x/b.ts', 'lib/kvm_util/c.ts']);
  t.equal(importChain(g, ['lib/x/b.ts'], inFolder('lib/y')), null);
  const parsed = importGraph(ROOT, ['test/lib']).get('test/lib/layers.test.ts');
  t.same(parsed, [], 'only relative imports of existing files count');
});
