// The build typechecks what it bundles, as the kernel's build compiles
// before it links: esbuild only strips types, so without this step a test
// that passes a GPA where an HVA belongs (a compile error by design,
// lib/kvm/addr.ts) would build and run. One tsc over the selected
// entry points and what they import, with the project's tsconfig.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { BuildError } from './collections.js';

export interface TypeError {
  /** Absolute path, or undefined for an error of the whole program (a missing type library). */
  readonly file: string | undefined;
  /** `path:line:col: error TSnnnn: message` (the first line of tsc's report). */
  readonly text: string;
}

/** tsc's errors for `sources`; `scratch` holds the temporary tsconfig. */
export function typecheck(root: string, sources: readonly string[], scratch: string): TypeError[] {
  if (sources.length === 0) return [];
  mkdirSync(scratch, { recursive: true });
  const config = join(scratch, `.typecheck.${process.pid}.tsconfig.json`);
  writeFileSync(config, JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    // Type libraries are looked up from the config's folder, which is not the project's.
    // tsc's incremental record, one per set of entry points, in the build
    // folder: a build after an edit re-checks what the edit can affect
    // instead of the whole program (about 3 s to 1 s here).
    compilerOptions: {
      typeRoots: [join(root, 'node_modules/@types')],
      incremental: true,
      tsBuildInfoFile: join(scratch, '.stamps', `typecheck-${createHash('sha256').update([...sources].sort().join('\n')).digest('hex').slice(0, 16)}.tsbuildinfo`),
    },
    include: [],
    files: sources,
  }));
  try {
    // Without the caller's module hooks: tsc's entry point is an ES module
    // that a CommonJS require hook (a test runner's) cannot load.
    const r = spawnSync('sh', ['-c', 'unset NODE_OPTIONS; exec "$@"', 'sh', join(root, 'node_modules/.bin/tsc'), '-p', config, '--pretty', 'false'],
      { cwd: root, encoding: 'utf8' });
    if (r.error || (r.status !== 0 && r.status !== 1 && r.status !== 2)) {
      throw new BuildError(`typechecking failed to run: ${r.error?.message ?? r.stderr.trim()}`);
    }
    const errors: TypeError[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^(.+?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(line);
      if (!m) {
        if (/^error TS\d+:/.test(line)) errors.push({ file: undefined, text: line });
        continue;
      }
      const file = resolve(root, m[1]!);
      const shown = file.startsWith(`${root}${sep}`) ? relative(root, file) : file;
      errors.push({ file, text: `${shown}:${m[2]}:${m[3]}: ${m[4]}` });
    }
    if (r.status !== 0 && errors.length === 0) throw new BuildError(`typechecking failed: ${r.stdout.trim() || r.stderr.trim()}`);
    return errors;
  } finally {
    rmSync(config, { force: true });
  }
}
