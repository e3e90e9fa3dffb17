/**
 * `__FILE__`, `__LINE__` and `#expr` for a language without a preprocessor.
 *
 * The C macros print the file and line of the macro use and the source text
 * of their arguments (`Expected 0 (0) == 1 (1)`). Here the call site comes
 * from a stack trace taken inside the ASSERT/EXPECT/TH_LOG call: selftests
 * run with --enable-source-maps (and tsx maps too), so the frame names the
 * .ts file and line. The file is shown by basename, as C shows __FILE__ for
 * a file compiled from its own directory. The argument text is read back
 * from the .ts source at that position: from disk when the file is there,
 * otherwise from the `sourcesContent` of the program's own source map, so an
 * installed bundle still prints the expressions.
 */
import { readFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import { basename, dirname, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mappedSourceContent, mapPosition, nodeMapsStacks } from './source_map.js';

export interface CallSite {
  /** The path or file: URL as the (source-mapped) stack names it. */
  readonly path: string;
  /** basename(path): what the messages print. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One frame of a V8 stack, with a file: URL turned into a path. */
export interface StackFrame {
  readonly func: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const FRAME = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

function plainPath(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

/** Parse an Error().stack into frames, dropping node internals and node_modules. */
export function parseStack(stack: string | undefined): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const raw of (stack ?? '').split('\n').slice(1)) {
    const m = FRAME.exec(raw);
    if (!m) continue;
    let file = plainPath(m[2] ?? '');
    let line = Number(m[3]);
    let column = Number(m[4]);
    // Without --enable-source-maps (a harness TEST process) the frame is a
    // bundle position: map it from the bundle's own map, loaded on first use.
    if (!nodeMapsStacks() && !file.startsWith('node:')) {
      const p = mapPosition(file, line, column);
      if (p) ({ file, line, column } = p);
    }
    if (file.startsWith('node:') || file.includes(`${sep}node_modules${sep}`)) continue;
    frames.push({ func: (m[1] ?? '').replace(/^async /, '') || '<anonymous>', file, line, column });
  }
  return frames;
}

/**
 * The caller of `skip` (a function on the current stack). Returns undefined
 * only if the runtime hides the frame, in which case the messages fall back
 * to `?:0`.
 */
export function callSite(skip: (...args: never[]) => unknown): CallSite | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, skip);
  const f = parseStack(holder.stack)[0];
  return f && { path: f.file, file: basename(f.file), line: f.line, column: f.column };
}

const sources = new Map<string, string | null>();

function fromSourceMap(file: string): string | null {
  const main = process.argv[1];
  if (!main) return null;
  // The built test is <name>.mjs started through a small launcher <name>
  // (tools/build/layout.ts); the source map belongs to the .mjs.
  for (const bundle of [resolve(main), `${resolve(main)}.mjs`]) {
    const text = mappedSourceContent(bundle, file);
    if (text !== null) return text;
  }
  const keys = [resolve(main), `${resolve(main)}.mjs`].flatMap((p) => [p, pathToFileURL(p).href]);
  for (const key of keys) {
    let map;
    try {
      map = findSourceMap(key);
    } catch {
      map = undefined;
    }
    if (!map) continue;
    const { sources: names, sourcesContent, sourceRoot } = map.payload;
    if (!sourcesContent) continue;
    const base = dirname(key.startsWith('file://') ? fileURLToPath(key) : key);
    let byName: number | undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] ?? '';
      const abs = name.startsWith('file://') ? fileURLToPath(name) : resolve(base, sourceRoot ?? '', name);
      if (abs === file) return sourcesContent[i] ?? null;
      if (basename(abs) === basename(file)) byName = byName === undefined ? i : -1;
    }
    if (byName !== undefined && byName >= 0) return sourcesContent[byName] ?? null;
  }
  return null;
}

function sourceText(site: CallSite): string | null {
  const cached = sources.get(site.path);
  if (cached !== undefined) return cached;
  const file = site.path.startsWith('file://') ? fileURLToPath(site.path) : site.path;
  let text: string | null;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = fromSourceMap(file);
  }
  sources.set(site.path, text);
  return text;
}

function lineStart(text: string, line: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return -1;
    off = nl + 1;
  }
  return off;
}

/** Index just past the string or template literal starting at `i`. */
function skipQuoted(text: string, i: number): number {
  const q = text[i];
  i++;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === q) return i + 1;
    if (q === '`' && c === '$' && text[i + 1] === '{') {
      i = skipBalanced(text, i + 1);
      continue;
    }
    i++;
  }
  return i;
}

/** Index just past the bracket group opening at `i`. */
function skipBalanced(text: string, i: number): number {
  let depth = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(text, i);
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return i;
}

/**
 * The source text of the first `count` top-level arguments of a call that
 * starts at `open` (the index of its `(`), whitespace runs collapsed to one
 * space and comments dropped, as the C preprocessor stringifies `#arg`.
 * `count = Infinity` returns every argument.
 */
export function splitArgs(text: string, open: number, count: number): string[] | undefined {
  const args: string[] = [];
  let cur = '';
  let i = open + 1;
  const flush = (): void => {
    args.push(cur.trim());
    cur = '';
  };
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      const end = skipQuoted(text, i);
      cur += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      if (!cur.endsWith(' ')) cur += ' ';
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      const end = skipBalanced(text, i);
      cur += text.slice(i, end).replace(/\s+/g, ' ');
      i = end;
      continue;
    }
    if (c === ')') {
      if (cur.trim() !== '' || args.length > 0) flush();
      if (count === Infinity) return args;
      return args.length >= count ? args.slice(0, count) : undefined;
    }
    if (c === ',') {
      flush();
      if (args.length >= count) return args.slice(0, count);
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      if (!cur.endsWith(' ')) cur += ' ';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  return undefined;
}

/**
 * The argument texts of the `macro(...)` call at `site`, or undefined when
 * the source is unavailable or the call cannot be found on that line.
 */
export function sourceArgs(site: CallSite | undefined, macro: string, count: number): string[] | undefined {
  if (!site) return undefined;
  const text = sourceText(site);
  if (text === null) return undefined;
  const start = lineStart(text, site.line);
  if (start < 0) return undefined;
  const nl = text.indexOf('\n', start);
  const end = nl < 0 ? text.length : nl;
  const re = new RegExp(`(?<![A-Za-z0-9_$])${macro.replace(/[$.]/g, '\\$&')}\\s*\\(`, 'g');
  re.lastIndex = start;
  const want = start + site.column - 1;
  let best: RegExpExecArray | undefined;
  for (let m = re.exec(text); m && m.index < end; m = re.exec(text)) {
    if (!best || Math.abs(m.index - want) < Math.abs(best.index - want)) best = m;
  }
  if (!best) return undefined;
  return splitArgs(text, best.index + best[0].length - 1, count);
}

/**
 * Every argument text of the call to `callee` that starts on `line` of
 * `file` (the first such call on the line), as the C preprocessor's `#arg`
 * gives them; undefined when neither the file nor the program's source map
 * holds the source, or the call is not on that line.
 */
export function callArgumentTexts(file: string, line: number, callee: string): string[] | undefined {
  return sourceArgs({ path: file, file: basename(file), line, column: 1 }, callee, Infinity);
}

let machinery: string[] | undefined;

/**
 * The framework's machinery: the harness (fork, setup, teardown, the main
 * loop), the kselftest counters and kvm_util's main(). A failure's stack
 * is about the test, so these frames are left out of what is printed; the
 * library calls the test made (vmMemAdd, runToUcall) stay, as C's
 * backtrace keeps kvm_util.c.
 */
function machineryFiles(): string[] {
  if (machinery) return machinery;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  const self = parseStack(holder.stack)[0]?.file ?? '';
  const lib = dirname(dirname(self));
  machinery = [`${lib}${sep}harness${sep}`, `${lib}${sep}kselftest${sep}`, `${lib}${sep}kvm_util${sep}main.ts`];
  return machinery;
}

/** Whether a frame belongs to the framework's machinery (see machineryFiles). */
export function isMachineryFrame(f: StackFrame): boolean {
  return machineryFiles().some((m) => f.file.startsWith(m));
}

/**
 * The frames above the first machinery frame (innermost first): what the
 * test and the library calls it made were doing. Everything below it is
 * the harness or main() calling the test.
 */
export function testFrames(frames: readonly StackFrame[]): StackFrame[] {
  const cut = frames.findIndex(isMachineryFrame);
  return (cut < 0 ? frames : frames.slice(0, cut)).slice();
}

/**
 * An Error's stack as a test author wants it: the message lines, then
 * `    at func (path:line:col)` for the test's frames (testFrames(): not
 * Node's own, not a dependency's, none from the framework's machinery
 * down), with paths relative to `root` when given.
 */
export function userStack(err: Error, root?: string): string {
  const stack = err.stack ?? `${err.name}: ${err.message}`;
  const lines = stack.split('\n');
  const first = lines.findIndex((l) => FRAME.test(l));
  const head = first < 0 ? lines : lines.slice(0, first);
  const frames = testFrames(parseStack(['', ...(first < 0 ? [] : lines.slice(first))].join('\n')));
  const show = (file: string): string => (root && file.startsWith(`${root}${sep}`) ? file.slice(root.length + 1) : file);
  return [...head, ...frames.map((f) => `    at ${f.func} (${show(f.file)}:${f.line}:${f.column})`)].join('\n');
}
