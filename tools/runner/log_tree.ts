// --output DIR: a directory per test, as the posted KVM selftest runner
// keeps one (-o there; here -o is the kernel's --override-timeout):
//   DIR/<suite>/<test>/output     the raw output (stdout and stderr merged)
//   DIR/<suite>/<test>/status     pass|fail|timeout|skip|xfail|flaky, and the reason
//   DIR/<suite>/<test>/duration   seconds, three decimals
// <suite> is the collection (coco/tdx nests), with the matrix cell in
// brackets. With --retries, earlier attempts keep their output as
// output.attempt<N>. The tree is written as tests run, so it is there for
// whatever a stopped run got through.
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Status } from './run_one.js';

export class TestLogDir {
  readonly dir: string;
  #fd: number | undefined;
  #attempt = -1;

  constructor(root: string, suite: string, test: string) {
    this.dir = join(root, suite, test);
    mkdirSync(this.dir, { recursive: true });
  }

  write(attempt: number, chunk: Buffer): void {
    if (attempt !== this.#attempt) {
      if (this.#fd !== undefined) closeSync(this.#fd);
      this.#fd = openSync(join(this.dir, `output.attempt${attempt + 1}`), 'w');
      this.#attempt = attempt;
    }
    let off = 0;
    while (off < chunk.length) off += writeSync(this.#fd!, chunk, off);
  }

  finish(status: Status, reason: string | undefined, durationMs: number, attempts: number): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    // The last attempt's output is `output`; a test that printed nothing still gets one.
    const last = join(this.dir, `output.attempt${attempts}`);
    try {
      writeFileSync(join(this.dir, 'output'), '', { flag: 'wx' });
    } catch {
      // Exists already.
    }
    if (attempts > 0) {
      try {
        // A rename, not a copy: a flood is not written twice.
        renameSync(last, join(this.dir, 'output'));
      } catch {
        // The last attempt wrote nothing: `output` stays empty.
      }
    }
    writeFileSync(join(this.dir, 'status'), `${status}${reason ? ` ${reason}` : ''}\n`);
    writeFileSync(join(this.dir, 'duration'), `${(durationMs / 1000).toFixed(3)}\n`);
  }
}

