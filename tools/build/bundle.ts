// esbuild bundling. Tests: one call for every entry point, ESM, written as
// <name>.mjs with its source map <name>.mjs.map beside an executable launcher <name>
// (see layout.ts). The runner: one CommonJS file, kselftest/runner.cjs,
// started by the run_kselftest.sh launcher (see build.ts).
import { build, type Message, type OutputFile } from 'esbuild';
import { relative, resolve } from 'node:path';
import { BuildError } from './collections.js';

export interface TestEntry {
  /** Absolute path of the .ts entry point. */
  source: string;
  /** Output path relative to the out dir, without extension: tests/kvm/guest_memfd_test. */
  out: string;
}

// esbuild's ESM output turns require() of a builtin inside a bundled CJS
// dependency into a function that throws; giving the module a real require() fixes it.
const ESM_REQUIRE_BANNER = "import { createRequire as __ksftCreateRequire } from 'node:module'; const require = __ksftCreateRequire(import.meta.url);";

function failure(what: string, errors: readonly Message[]): BuildError {
  const lines = errors.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text));
  return new BuildError(`${what} failed:\n${lines.join('\n')}`);
}

/** The bundles, and for each entry's output (`out` of TestEntry) the source files it was made from (absolute paths). */
export interface TestBundles {
  readonly outputs: OutputFile[];
  readonly inputs: ReadonlyMap<string, ReadonlySet<string>>;
}

export async function bundleTests(entries: readonly TestEntry[], outdir: string): Promise<TestBundles> {
  if (entries.length === 0) return { outputs: [], inputs: new Map() };
  try {
    const r = await build({
      entryPoints: entries.map((e) => ({ in: e.source, out: e.out })),
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // A map of its own, beside the bundle: read only when a location is
      // needed (lib/source/source_map.ts), not parsed at every start.
      sourcemap: 'linked',
      banner: { js: ESM_REQUIRE_BANNER },
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // Metafile paths are relative to esbuild's working directory.
    const inputs = new Map<string, ReadonlySet<string>>();
    for (const [out, meta] of Object.entries(r.metafile.outputs)) {
      if (!out.endsWith('.mjs')) continue; // not the .mjs.map
      const rel = relative(outdir, resolve(out)).replace(/\.mjs$/, '');
      inputs.set(rel, new Set(Object.keys(meta.inputs).map((p) => resolve(p))));
    }
    return { outputs: r.outputFiles, inputs };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (errors) throw failure('bundling the tests', errors);
    throw e;
  }
}

/** A single-file bundle and the sources it was made from (absolute paths). */
export interface ToolBundle {
  readonly file: OutputFile;
  readonly inputs: readonly string[];
}

/** The runner (CommonJS) or another build-time program (ESM) as one file. */
export async function bundleTool(source: string, outfile: string, format: 'cjs' | 'esm' = 'cjs'): Promise<ToolBundle> {
  try {
    const r = await build({
      entryPoints: [source],
      outfile,
      bundle: true,
      platform: 'node',
      format,
      target: 'node20',
      ...(format === 'esm' ? { banner: { js: ESM_REQUIRE_BANNER } } : {}),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return { file: r.outputFiles[0]!, inputs: Object.keys(r.metafile.inputs).map((p) => resolve(p)) };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (errors) throw failure(`bundling ${source}`, errors);
    throw e;
  }
}
