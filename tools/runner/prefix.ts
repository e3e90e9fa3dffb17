// The runner's prefix filter (kselftest/prefix.pl): "# " before every line
// of the test's output, byte for byte, so child TAP shows as diagnostics.
// prefix.pl leaves a last line without '\n' unterminated, which glues it to
// the following result line; end() terminates it so the result line stays
// parseable.

const NL = 0x0a;
const PREFIX = Buffer.from('# ');
const NEWLINE = Buffer.from('\n');

export class LinePrefixer {
  #atLineStart = true;
  readonly #prefix: Buffer;

  /** `prefix` before every line: the runner's `# `, or a subtest's indent (nest.ts). */
  constructor(prefix: Buffer = PREFIX) {
    this.#prefix = prefix;
  }

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const parts: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      if (this.#atLineStart) parts.push(this.#prefix);
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) {
        parts.push(chunk.subarray(start));
        this.#atLineStart = false;
        break;
      }
      parts.push(chunk.subarray(start, nl + 1));
      this.#atLineStart = true;
      start = nl + 1;
    }
    return Buffer.concat(parts);
  }

  /** Terminates an unfinished last line; empty when the output ended in '\n'. */
  end(): Buffer {
    if (this.#atLineStart) return Buffer.alloc(0);
    this.#atLineStart = true;
    return NEWLINE;
  }
}
