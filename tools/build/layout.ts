// The build tree, laid out like an install directory so `make install` is a
// copy:
//   build/run_kselftest.sh          launcher of build/kselftest/runner.cjs (the runner)
//   build/kselftest/run_kselftest.sh  the launcher for an install directory
//   build/kselftest-list.txt        collection:test lines
//   build/tests/<collection>/<name> executable launcher, started as plain node
//   build/tests/<collection>/<name>.mjs  the bundled test (ESM)
//   build/tests/<collection>/<name>.mjs.map  its source map, read when a location is needed
// Programs are flattened to their basename, as lib.mk's install does.
//
// Why a launcher: Node 20 decides CommonJS or ESM for an extensionless file
// from the nearest package.json, and a bundle with top-level await only runs
// as ESM. The launcher is valid under either reading and imports the .mjs,
// whose extension settles the question wherever the tree is installed.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseList } from '../runner/list.js';

// Without --enable-source-maps: Node would parse the whole map at every
// start; locations are mapped on demand instead (lib/source/source_map.ts).
export const TEST_SHEBANG = '#!/usr/bin/env node';

export function launcherText(name: string): string {
  return `${TEST_SHEBANG}\nimport('./${name}.mjs');\n`;
}

export function writeExecutable(path: string, contents: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contents);
  chmodSync(path, 0o755);
}

export function writePlain(path: string, contents: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contents);
  chmodSync(path, 0o644);
}

export function writeLauncher(outDir: string, name: string): void {
  writeExecutable(join(outDir, name), launcherText(name));
}

/** Copies a ready-made file (TEST_PROGS, TEST_FILES, settings), keeping its mode. */
export function copyKeepMode(src: string, dst: string): void {
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(src, dst);
  chmodSync(dst, statSync(src).mode & 0o7777);
}

export function flatName(prog: string): string {
  return basename(prog);
}

/**
 * Rewrites the list: collections built now replace their old lines in place,
 * new ones are appended, others are kept.
 */
export function mergeList(listFile: string, built: ReadonlyMap<string, readonly string[]>): string {
  const order: string[] = [];
  const lines = new Map<string, string[]>();
  if (existsSync(listFile)) {
    try {
      for (const e of parseList(readFileSync(listFile, 'utf8'), listFile)) {
        if (!lines.has(e.collection)) { order.push(e.collection); lines.set(e.collection, []); }
        lines.get(e.collection)!.push(`${e.collection}:${e.test}`);
      }
    } catch {
      order.length = 0;
      lines.clear();
    }
  }
  for (const [c, l] of built) {
    if (!lines.has(c)) order.push(c);
    lines.set(c, [...l]);
  }
  const text = order.flatMap((c) => lines.get(c) ?? []).map((l) => `${l}\n`).join('');
  mkdirSync(dirname(listFile), { recursive: true });
  writeFileSync(listFile, text);
  return text;
}
