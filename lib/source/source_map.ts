/**
 * Source maps read only when a location is needed.
 *
 * `node --enable-source-maps` parses the map of every module as it loads,
 * which for a bundled test is megabytes of JSON before the first line runs,
 * in every process. The harness starts each TEST in a process of its own
 * without that flag; a failure message or stack is then mapped here, from
 * the bundle's own map (inline, or the file its `sourceMappingURL` names),
 * loaded on the first lookup. Under the flag (or tsx) frames already name
 * the .ts source and nothing is loaded.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadedMap {
  readonly map: SourceMap;
  /** Directory the map's `sources` are relative to. */
  readonly base: string;
}

const maps = new Map<string, LoadedMap | null>();

/** True when Node maps stack frames itself (--enable-source-maps). */
export function nodeMapsStacks(): boolean {
  return (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
}

function toPath(file: string): string {
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

const URL_COMMENT = /\/\/# sourceMappingURL=(\S+)\s*$/;

/** The map of a generated file, or null when it has none. */
export function loadMap(file: string): LoadedMap | null {
  const path = toPath(file);
  const cached = maps.get(path);
  if (cached !== undefined) return cached;
  let result: LoadedMap | null = null;
  try {
    const text = readFileSync(path, 'utf8');
    const m = URL_COMMENT.exec(text.slice(Math.max(0, text.lastIndexOf('\n//# sourceMappingURL='))));
    if (m) {
      const url = m[1]!;
      let payload: SourceMapPayload;
      let mapFile = path;
      if (url.startsWith('data:')) {
        const comma = url.indexOf(',');
        const data = url.slice(comma + 1);
        payload = JSON.parse(/;base64$/.test(url.slice(0, comma)) ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data)) as SourceMapPayload;
      } else {
        mapFile = resolve(dirname(path), decodeURIComponent(url));
        payload = JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload;
      }
      result = { map: new SourceMap(payload), base: resolve(dirname(mapFile), payload.sourceRoot ?? '') };
    }
  } catch {
    result = null;
  }
  maps.set(path, result);
  return result;
}

export interface MappedPosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** The original position of a 1-based line and column of `file`, or undefined. */
export function mapPosition(file: string, line: number, column: number): MappedPosition | undefined {
  if (!/\.[cm]?js$/.test(file)) return undefined;
  const loaded = loadMap(file);
  if (!loaded) return undefined;
  const e = loaded.map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  if (e.originalSource === undefined || e.originalLine === undefined || e.originalColumn === undefined) return undefined;
  const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : resolve(loaded.base, e.originalSource);
  return { file: src, line: e.originalLine + 1, column: e.originalColumn + 1 };
}

const FRAME_POS = /(\(|at )((?:file:\/\/)?\/[^():]+\.[cm]?js):(\d+):(\d+)(\)?)$/;

/** A stack with every frame inside a mapped bundle rewritten to its source position. */
export function mapStack(stack: string): string {
  if (nodeMapsStacks()) return stack;
  return stack.split('\n').map((l) => {
    const m = FRAME_POS.exec(l);
    if (!m) return l;
    const p = mapPosition(toPath(m[2]!), Number(m[3]), Number(m[4]));
    return p ? `${l.slice(0, m.index)}${m[1]}${p.file}:${p.line}:${p.column}${m[5]}` : l;
  }).join('\n');
}

/** The embedded text of `source` in the map of `generated`, or null. */
export function mappedSourceContent(generated: string, source: string): string | null {
  const loaded = loadMap(generated);
  if (!loaded) return null;
  const payload = loaded.map.payload;
  const contents = payload.sourcesContent;
  if (!contents) return null;
  let byName: number | undefined;
  const base = source.split('/').pop();
  for (let i = 0; i < payload.sources.length; i++) {
    const name = payload.sources[i] ?? '';
    const abs = name.startsWith('file://') ? fileURLToPath(name) : resolve(loaded.base, name);
    if (abs === source) return contents[i] ?? null;
    if (abs.split('/').pop() === base) byName = byName === undefined ? i : -1;
  }
  return byName !== undefined && byName >= 0 ? contents[byName] ?? null : null;
}
