// On a terminal (stderr a TTY, or --progress always): one live line on
// stderr with the totals so far and what is running, rewritten in place,
// and at the end a summary naming every test that failed or timed out (and
// every flaky one). stdout, the TAP stream, is never touched.
import type { TestReport } from './report.js';

export class Progress {
  readonly #err: NodeJS.WritableStream;
  readonly #on: boolean;
  readonly #total: number;
  readonly #running = new Set<string>();
  readonly #counts = { pass: 0, fail: 0, timeout: 0, skip: 0, xfail: 0, flaky: 0 };
  #done = 0;
  readonly #t0 = Date.now();
  readonly #tick: NodeJS.Timeout | undefined;

  constructor(err: NodeJS.WritableStream & { isTTY?: boolean }, total: number, mode: 'auto' | 'always' | 'never') {
    this.#err = err;
    this.#total = total;
    this.#on = mode === 'always' || (mode === 'auto' && err.isTTY === true);
    // A heartbeat: the elapsed time moves even while a long test runs.
    this.#tick = this.#on ? setInterval(() => this.#draw(), 1000).unref() : undefined;
  }

  start(name: string): void {
    this.#running.add(name);
    this.#draw();
  }

  end(name: string): void {
    this.#running.delete(name);
  }

  finished(status: TestReport['status']): void {
    this.#done++;
    this.#counts[status]++;
    this.#draw();
  }

  #draw(): void {
    if (!this.#on) return;
    const c = this.#counts;
    const secs = Math.round((Date.now() - this.#t0) / 1000);
    const running = [...this.#running].slice(0, 3).join(' ') + (this.#running.size > 3 ? ` +${this.#running.size - 3}` : '');
    const line = `[${this.#done}/${this.#total} ${secs}s] pass:${c.pass} fail:${c.fail} timeout:${c.timeout} skip:${c.skip} xfail:${c.xfail} flaky:${c.flaky}${running ? ` running: ${running}` : ''}`;
    const width = (this.#err as { columns?: number }).columns ?? 120;
    this.#err.write(`\r\x1b[K${line.slice(0, Math.max(20, width - 1))}`);
  }

  close(reports: readonly TestReport[]): void {
    if (this.#tick) clearInterval(this.#tick);
    if (!this.#on) return;
    const c = this.#counts;
    const lines = [`\r\x1b[K${reports.length} tests: ${c.pass} passed, ${c.fail} failed, ${c.timeout} timed out, ${c.skip} skipped, ${c.xfail} xfail, ${c.flaky} flaky`];
    for (const r of reports) {
      if (r.status === 'fail') lines.push(`FAILED    ${r.name} # ${r.reason ?? ''}`);
      else if (r.status === 'timeout') lines.push(`TIMED OUT ${r.name} # ${r.reason ?? ''}`);
      else if (r.status === 'flaky') lines.push(`FLAKY     ${r.name} (passed on attempt ${r.attempts.length})`);
    }
    this.#err.write(`${lines.join('\n')}\n`);
  }
}
