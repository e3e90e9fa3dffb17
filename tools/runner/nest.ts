// --format ktap / tap14: a test whose output is itself TAP (its first line
// is a `TAP version` or `KTAP version` line, as every kselftest.h and
// harness program prints) is nested as a subtest: indented two spaces in
// KTAP (Documentation/dev-tools/ktap.rst), four in TAP 14, which also opens
// it with `# Subtest: <name>`. Any other output keeps the kernel runner's
// `# ` prefix (prefix.ts), so a parser never sees it as results.
import { LinePrefixer } from './prefix.js';
import type { BodyFormat } from './process.js';

const VERSION = /^(K?TAP version \d+)\r?$/;

export class NestingFormat implements BodyFormat {
  readonly #indenter: LinePrefixer;
  readonly #subtest: string | undefined;
  #decided: 'nest' | 'prefix' | undefined;
  #pending: Buffer = Buffer.alloc(0);
  readonly #prefixer = new LinePrefixer();

  /** `subtest`: the TAP 14 `# Subtest:` name, if the format has one. */
  constructor(indent: number, subtest?: string) {
    this.#indenter = new LinePrefixer(Buffer.from(' '.repeat(indent)));
    this.#subtest = subtest;
  }

  push(chunk: Buffer): Buffer {
    if (this.#decided === undefined) {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      const nl = this.#pending.indexOf(0x0a);
      // Decided by the first line; a long first line is not a version line.
      if (nl < 0 && this.#pending.length < 64) return Buffer.alloc(0);
      const first = this.#pending.subarray(0, nl < 0 ? this.#pending.length : nl).toString('latin1');
      this.#decided = VERSION.test(first) ? 'nest' : 'prefix';
      const head = this.#decided === 'nest' && this.#subtest !== undefined ? Buffer.from(`# Subtest: ${this.#subtest}\n`) : Buffer.alloc(0);
      const body = this.#pending;
      this.#pending = Buffer.alloc(0);
      return Buffer.concat([head, this.#route(body)]);
    }
    return this.#route(chunk);
  }

  #route(chunk: Buffer): Buffer {
    return this.#decided === 'prefix' ? this.#prefixer.push(chunk) : this.#indenter.push(chunk);
  }

  end(): Buffer {
    if (this.#decided === undefined) {
      this.#decided = 'prefix';
      const body = this.#pending;
      this.#pending = Buffer.alloc(0);
      return Buffer.concat([this.#prefixer.push(body), this.#prefixer.end()]);
    }
    return this.#decided === 'prefix' ? this.#prefixer.end() : this.#indenter.end();
  }
}
