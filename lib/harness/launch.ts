/**
 * Test processes, started one ahead.
 *
 * C's harness forks for each TEST, which costs a fraction of a millisecond.
 * A Node test process is this program started again, and a Node start plus
 * loading the bundle costs well over a hundred milliseconds. So the process
 * for the next TEST is started while the current one runs: it loads the
 * program, registers the tests and then blocks reading fd 3 until the
 * harness names its test (protocol.ts). Each TEST still gets a process, a
 * session and a process group of its own, as C's setpgrp() child does.
 *
 * Test processes run without --enable-source-maps, which would parse the
 * bundle's whole source map at every start; locations are mapped on demand
 * (lib/source/source_map.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, unlinkSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { CHILD_ENV, CHILD_PROTOCOL, closeFd, readState, type ChildMarker, type ChildState } from './protocol.js';
import type { TestEnd } from './status.js';

export type Started = { ok: true; end: TestEnd; state: ChildState | undefined } | { ok: false };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

let seq = 0;

function signalNumberOf(name: NodeJS.Signals | null): number | null {
  if (name === null) return null;
  return (constants.signals as Record<string, number | undefined>)[name] ?? null;
}

/** The node options of this process, less the ones a test process does without. */
function childExecArgv(): string[] {
  return process.execArgv.filter((a) => a !== '--enable-source-maps');
}

export class TestProcess {
  readonly #child: ChildProcess | undefined;
  readonly #stateFd: number;
  readonly #exited: Promise<Exit>;
  #started = false;
  #done = false;

  constructor() {
    // The state file is unlinked before the process exists: nothing the
    // harness or the test leaves behind can be found on disk.
    const path = join(tmpdir(), `ksft-harness-${process.pid}-${seq++}-${Math.random().toString(36).slice(2)}`);
    this.#stateFd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    const script = process.argv[1];
    let child: ChildProcess | undefined;
    try {
      child = script === undefined
        ? undefined
        : spawn(process.execPath, [...childExecArgv(), script, ...process.argv.slice(2)], {
          detached: true,
          stdio: ['inherit', 'inherit', 'inherit', 'pipe', this.#stateFd],
          env: { ...process.env, [CHILD_ENV]: CHILD_PROTOCOL },
        });
    } catch {
      child = undefined;
    }
    this.#child = child;
    const control = child?.stdio[3] as Socket | undefined;
    // A process that died before it was told its test makes this end fail.
    control?.on('error', () => {});
    this.#exited = new Promise<Exit>((resolve) => {
      if (!child) {
        resolve({ code: null, signal: null, error: new Error('no program file') });
        return;
      }
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** The process group (= pid) of the test process, once spawned. */
  get pgid(): number | undefined {
    return this.#child?.pid;
  }

  /** Kills the whole group: the test and everything it started there. */
  kill(): void {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#done) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }

  /** Tells the process its test and waits for it, killing its group after `timeoutSec`. */
  async run(marker: ChildMarker, timeoutSec: number): Promise<Started> {
    if (this.#started) throw new Error('kselftest_harness: a test process runs one test');
    this.#started = true;
    const child = this.#child;
    const control = child?.stdio[3] as Socket | undefined;
    if (!child || child.pid === undefined || !control) {
      await this.#exited;
      this.#finish();
      return { ok: false };
    }
    control.write(`${JSON.stringify(marker)}\n`);
    let timedOut = false;
    // setTimeout() takes at most 2^31-1 ms (about 24.8 days); longer means "never" here.
    const timer = setTimeout(() => {
      timedOut = true;
      this.kill();
    }, Math.min(timeoutSec * 1000, 0x7fffffff));
    const exit = await this.#exited;
    clearTimeout(timer);
    const state = readState(this.#stateFd);
    this.#finish();
    if (exit.error) return { ok: false };
    return { ok: true, end: { code: exit.code, signal: signalNumberOf(exit.signal), timedOut }, state };
  }

  /** A process started ahead but never used: end it. */
  discard(): void {
    this.kill();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    (this.#child?.stdio[3] as Socket | undefined)?.destroy();
    closeFd(this.#stateFd);
  }
}
