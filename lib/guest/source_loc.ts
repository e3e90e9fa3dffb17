/**
 * Where in the test's TypeScript source a call came from.
 *
 * C selftests get `__FILE__`/`__LINE__` from the preprocessor; here the
 * location comes from the V8 stack. Bundled tests run under
 * `node --enable-source-maps` and tests under development run through tsx,
 * so in both cases the frames already name the `.ts` file and line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceLoc } from './program.js';

export interface StackFrame {
  readonly func: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const FRAME_RE = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

function normaliseFile(file: string): string {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file);
    } catch {
      return file;
    }
  }
  return file;
}

/** Parse an Error().stack into frames, dropping node internals. */
export function parseStack(stack: string | undefined): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const raw of (stack ?? '').split('\n').slice(1)) {
    const m = FRAME_RE.exec(raw);
    if (!m) continue;
    const file = normaliseFile(m[2]!);
    if (file.startsWith('node:') || file.includes(`${sep}node_modules${sep}`)) continue;
    frames.push({ func: (m[1] ?? '').replace(/^async /, '') || '<anonymous>', file, line: Number(m[3]), column: Number(m[4]) });
  }
  return frames;
}

let libraryDirs: string[] | undefined;

/**
 * The library's own source folders, as absolute paths. Taken from this
 * module's own frame (source-mapped in a bundle), so that a test tree that
 * mirrors lib/ (test/lib/kvm_util/...) is never mistaken for the library.
 */
function libraryDirsOf(): string[] {
  if (libraryDirs) return libraryDirs;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  const self = parseStack(holder.stack)[0]?.file ?? '';
  const lib = dirname(dirname(self));
  libraryDirs = ['kvm_util', 'guest', 'kselftest', 'platform'].map((d) => `${lib}${sep}${d}${sep}`);
  // Platform guest helpers (platforms/<name>/guest.ts) record ops for their caller too.
  libraryDirs.push(`${dirname(lib)}${sep}platforms${sep}`);
  return libraryDirs;
}

/** Source files of the library itself: frames inside them are never "the caller". */
export function isLibraryFrame(f: StackFrame): boolean {
  return libraryDirsOf().some((d) => f.file.startsWith(d));
}

/** The current stack, innermost first, without this module's own frame. */
export function currentStack(): StackFrame[] {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  Error.captureStackTrace(holder, currentStack);
  Error.stackTraceLimit = limit;
  return parseStack(holder.stack);
}

/**
 * The first frame outside the library: the test source line that recorded a
 * guest op or called an assertion helper.
 */
export function callerLoc(): SourceLoc {
  const frames = currentStack();
  const f = frames.find((fr) => !isLibraryFrame(fr)) ?? frames[frames.length - 1];
  return f ? { file: displayPath(f.file), line: f.line } : { file: '<unknown>', line: 0 };
}

const rootCache = new Map<string, string | null>();

function projectRoot(dir: string): string | null {
  const hit = rootCache.get(dir);
  if (hit !== undefined) return hit;
  let root: string | null = null;
  if (existsSync(`${dir}${sep}package.json`)) root = dir;
  else {
    const up = dirname(dir);
    root = up === dir ? null : projectRoot(up);
  }
  rootCache.set(dir, root);
  return root;
}

/**
 * A path as kselftest prints `__FILE__`: relative to the project root
 * (`tests/kvm/guest_memfd_test.ts`), or unchanged when no root is found.
 */
export function displayPath(file: string): string {
  if (!file.startsWith(sep)) return file;
  const root = projectRoot(dirname(file));
  return root ? relative(root, file) : file;
}

const sourceCache = new Map<string, string[] | null>();

function sourceLines(file: string): string[] | null {
  let lines = sourceCache.get(file);
  if (lines === undefined) {
    try {
      lines = readFileSync(file, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    sourceCache.set(file, lines);
  }
  return lines;
}

/**
 * The argument texts of the call to `callee` that starts on `line` of
 * `file`, as the C preprocessor's `#arg` would give them; null when the
 * source is not readable or the call is not on that line.
 */
export function callArgumentTexts(file: string, line: number, callee: string): string[] | null {
  const lines = sourceLines(file);
  if (!lines) return null;
  const text = lines.slice(line - 1, line + 30).join('\n');
  const re = new RegExp(`(?<![\\w$])${callee.replace(/[$]/g, '\\$')}\\s*\\(`);
  const m = re.exec(text);
  if (!m || text.slice(0, m.index).includes('\n')) return null;
  const args: string[] = [];
  const clean = (s: string): string => s.replace(/\s+/g, ' ').trim();
  let depth = 0;
  let quote: string | null = null;
  let argStart = m.index + m[0].length;
  for (let i = argStart; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        const last = clean(text.slice(argStart, i));
        if (last) args.push(last);
        return args;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push(clean(text.slice(argStart, i)));
      argStart = i + 1;
    }
  }
  return null;
}

/** The first argument's text (see callArgumentTexts). */
export function callArgumentText(file: string, line: number, callee: string): string | null {
  return callArgumentTexts(file, line, callee)?.[0] ?? null;
}

/**
 * The frame that called into a function of `selfFile` (the first frame
 * outside it), e.g. the line holding a TEST_ASSERT.
 */
export function frameOutside(frames: readonly StackFrame[], ...selfFiles: string[]): StackFrame | undefined {
  return frames.find((f) => !selfFiles.some((s) => f.file.endsWith(s)));
}
