/**
 * Where in the test's TypeScript source a call came from.
 *
 * C selftests get `__FILE__`/`__LINE__` from the preprocessor; here the
 * location comes from the V8 stack. Bundled tests run under
 * `node --enable-source-maps` and tests under development run through tsx,
 * so in both cases the frames already name the `.ts` file and line. Stack
 * parsing and the `#arg` text recovery (from disk, or from the program's own
 * source map when the `.ts` files are not installed) live in
 * lib/source/location.ts, shared with the harness.
 */
import { existsSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { callArgumentTexts, parseStack, type StackFrame } from '../source/location.js';
import type { SourceLoc } from '../kvm/guest_program.js';

export { callArgumentTexts, parseStack, type StackFrame };

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

/** The first frame outside the library, as kselftest prints `__FILE__:__LINE__`. */
function locOf(frames: readonly StackFrame[]): SourceLoc {
  const f = frames.find((fr) => !isLibraryFrame(fr)) ?? frames[frames.length - 1];
  return f ? { file: displayPath(f.file), line: f.line } : { file: '<unknown>', line: 0 };
}

/**
 * The first frame outside the library: the test source line that recorded a
 * guest op or called an assertion helper.
 */
export function callerLoc(): SourceLoc {
  return locOf(currentStack());
}

/** Captured frames not yet formatted: V8 formats (and source-maps) a stack on its first read. */
interface StackHolder { stack?: string }

/**
 * A location captured now and resolved on first read of `file` or `line`.
 * Capturing the frames is cheap; formatting them through the source map is
 * what costs (tens of µs per op), and only a failing op's location is ever
 * printed. `file` and `line` are own enumerable accessors, so spreading,
 * comparing or JSON-encoding a location resolves it like a plain object.
 */
class LazySourceLoc implements SourceLoc {
  declare readonly file: string;
  declare readonly line: number;
  #holder: StackHolder | undefined;
  #loc: SourceLoc | undefined;

  constructor(holder: StackHolder) {
    this.#holder = holder;
    Object.defineProperties(this, LAZY_FIELDS);
  }

  resolve(): SourceLoc {
    if (!this.#loc) {
      this.#loc = locOf(parseStack(this.#holder?.stack));
      this.#holder = undefined;
    }
    return this.#loc;
  }
}

const LAZY_FIELDS: PropertyDescriptorMap = {
  file: { enumerable: true, get(this: LazySourceLoc) { return this.resolve().file; } },
  line: { enumerable: true, get(this: LazySourceLoc) { return this.resolve().line; } },
};

/**
 * callerLoc() for recording: the frames are taken now, turned into a file
 * and line only when read (a failure report, a compile error).
 */
export function lazyCallerLoc(): SourceLoc {
  const holder: StackHolder = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  Error.captureStackTrace(holder, lazyCallerLoc);
  Error.stackTraceLimit = limit;
  return new LazySourceLoc(holder);
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
