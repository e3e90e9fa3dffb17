// Where runner output goes. The kernel runner writes result lines to stdout
// and the test body plus the `# timeout set to` line to `$logfile` (stdout,
// output.log with -s, /tmp/<test> with -p). Writes are awaited so a flood of
// test output is throttled by the reader instead of piling up in memory.
import { closeSync, constants, openSync, writeSync } from 'node:fs';

export interface Sink {
  write(data: string | Buffer): Promise<void>;
  close(): void;
}

export class StreamSink implements Sink {
  #stream: NodeJS.WritableStream;
  #error: Error | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    stream.on('error', (e: Error) => { this.#error = e; });
  }

  write(data: string | Buffer): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#stream.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (e?: Error): void => {
        this.#stream.off('drain', onDrain);
        this.#stream.off('error', onError);
        if (e) reject(e);
        else resolve();
      };
      const onDrain = (): void => done();
      const onError = (e: Error): void => done(e);
      this.#stream.on('drain', onDrain);
      this.#stream.on('error', onError);
    });
  }

  close(): void {}
}

/**
 * A log file written synchronously: disk writes need no buffering. Always
 * O_APPEND, as the kernel runner's `>>"$logfile"`: it empties the file once
 * (`cat /dev/null > "$logfile"`) and then only appends, so two runs that
 * share output.log or /tmp/<test> interleave their lines instead of
 * overwriting each other at their own offsets.
 */
export class FileSink implements Sink {
  #fd: number;

  constructor(path: string, mode: 'truncate' | 'append') {
    const trunc = mode === 'truncate' ? constants.O_TRUNC : 0;
    this.#fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | trunc, 0o666);
  }

  write(data: string | Buffer): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(this.#fd, buf, off);
    return Promise.resolve();
  }

  close(): void {
    closeSync(this.#fd);
  }
}
