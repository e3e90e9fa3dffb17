// Runs one test process the way `timeout T ./test 2>&1 | prefix.pl` does in
// kselftest/runner.sh, without a shell: its own session and process group,
// cwd = the test's directory, stdout+stderr merged and streamed through the
// prefixer, and on timeout the whole group is signalled (coreutils timeout
// sends SIGTERM to its group; a test that ignores SIGTERM is killed after a
// grace period instead of hanging the run). The group is also swept with
// SIGKILL after the test exits, so no grandchild outlives its test. When the
// run is stopped (SIGINT/SIGTERM/SIGHUP) or a test is killed after its
// timeout, every process below the test is killed too, whatever group or
// session it moved to (proc_tree.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { setLongTimeout, type LongTimer } from './long_timer.js';
import { openMergedPipe } from './merged_pipe.js';
import { LinePrefixer } from './prefix.js';
import { descendants, fileHolders, killAll, type ProcInfo } from './proc_tree.js';
import { signalMessage } from './signal_text.js';
import type { Sink } from './sink.js';

export const TIMEOUT_RC = 124;
/** Shell conventions for "found but cannot execute" and "not found". */
export const CANNOT_EXEC_RC = 126;
export const NOT_FOUND_RC = 127;

const KILL_GRACE_MS = 2000;
/** After the test exits, how long a silent pipe may stay open (held by an escaped process). */
const DRAIN_IDLE_MS = 2000;

/** Turns the test's raw output into the body lines of the stream (prefix.ts, nest.ts). */
export interface BodyFormat {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

export interface ProcessSpec {
  file: string;
  args: readonly string[];
  cwd: string;
  timeoutSec: number;
  body: Sink;
  signal: AbortSignal;
  /** Variables added to the runner's environment (a matrix cell). */
  env?: Record<string, string>;
  /** How the body is shown; the kernel's `# ` prefix by default. */
  format?: BodyFormat;
  /** Sees the test's raw output, for the log tree and the reports. */
  raw?: (chunk: Buffer) => void;
}

export interface ProcessResult {
  rc: number;
  timedOut: boolean;
  aborted: boolean;
  pid: number | undefined;
}

interface Exit {
  code: number | null;
  sig: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    // ESRCH: the group is already empty.
  }
}

function exitCode(e: Exit): number {
  if (e.error) return e.error.code === 'ENOENT' ? NOT_FOUND_RC : CANNOT_EXEC_RC;
  if (e.code !== null) return e.code;
  // A shell reports death by signal N as 128+N.
  return 128 + (e.sig ? constants.signals[e.sig] : 0);
}

export async function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  const prefixer = spec.format ?? new LinePrefixer();
  const { readFd, writeFd } = openMergedPipe();
  let child: ChildProcess;
  try {
    child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      stdio: ['ignore', writeFd, writeFd],
      detached: true,
      ...(spec.env && Object.keys(spec.env).length > 0 ? { env: { ...process.env, ...spec.env } } : {}),
    });
  } catch (e) {
    closeSync(readFd);
    closeSync(writeFd);
    const err = e as NodeJS.ErrnoException;
    await spec.body.write(prefixer.push(Buffer.from(`${spec.file}: ${err.message}\n`)));
    return { rc: exitCode({ code: null, sig: null, error: err }), timedOut: false, aborted: false, pid: undefined };
  }
  closeSync(writeFd);

  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, sig }));
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, sig: null, error }));
  });

  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  let lastProgress = Date.now();
  let pumpError: Error | undefined;
  let writing = false;
  const pump = (async () => {
    try {
      for await (const chunk of reader) {
        lastProgress = Date.now();
        spec.raw?.(chunk as Buffer);
        const out = prefixer.push(chunk as Buffer);
        writing = true;
        await spec.body.write(out);
        writing = false;
        lastProgress = Date.now();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      // Our own output failed (EPIPE...): nobody is reading, stop the test.
      pumpError = e as Error;
      killGroup(child, 'SIGKILL');
    }
  })();

  let timedOut = false;
  let aborted = false;
  let exitedYet = false;
  let graceTimer: NodeJS.Timeout | undefined;
  // Collected while the test is alive: once it is gone its children are
  // reparented and no longer point back at it.
  let tree: ProcInfo[] = [];
  const collectTree = (): void => {
    if (child.pid !== undefined && !exitedYet) tree = [...tree, ...descendants(child.pid)];
  };
  const timer: LongTimer | undefined = spec.timeoutSec > 0
    ? setLongTimeout(() => {
      timedOut = true;
      collectTree();
      killGroup(child, 'SIGTERM');
      graceTimer = setTimeout(() => {
        collectTree();
        killGroup(child, 'SIGKILL');
        killAll(tree);
      }, KILL_GRACE_MS);
    }, spec.timeoutSec * 1000)
    : undefined;
  const onAbort = (): void => {
    aborted = true;
    collectTree();
    killGroup(child, 'SIGKILL');
    killAll(tree);
  };
  if (spec.signal.aborted) onAbort();
  else spec.signal.addEventListener('abort', onAbort, { once: true });

  const exit = await exited;
  exitedYet = true;
  timer?.clear();
  clearTimeout(graceTimer);
  spec.signal.removeEventListener('abort', onAbort);
  killGroup(child, 'SIGKILL');
  if (timedOut || aborted) killAll(tree);

  if (exit.error) {
    // The exec failed: say so in the body, where a shell's message would be.
    await spec.body.write(prefixer.push(Buffer.from(`${spec.file}: ${exit.error.message}\n`)));
  }

  // Drain what is left in the pipe. Group members are dead now; only a
  // process that left the group could hold the write end open. A stop of
  // the run ends the drain at once and kills whoever still holds the pipe,
  // so the stream can close with its bail-out line.
  const stopDrain = (): void => {
    aborted = true;
    killAll(fileHolders(readFd));
    reader.destroy();
  };
  if (spec.signal.aborted) stopDrain();
  else spec.signal.addEventListener('abort', stopDrain, { once: true });
  const watchdog = setInterval(() => {
    if (!writing && Date.now() - lastProgress > DRAIN_IDLE_MS) reader.destroy();
  }, 250);
  try {
    await pump;
  } finally {
    clearInterval(watchdog);
    spec.signal.removeEventListener('abort', stopDrain);
    reader.destroy();
  }
  if (pumpError) throw pumpError;
  if (exit.sig && !timedOut && !aborted) {
    // runner.sh's shell reports the death after the test's output, through
    // the same prefixer, so it runs on from an unterminated last line.
    const msg = signalMessage(exit.sig);
    if (msg !== '') await spec.body.write(prefixer.push(Buffer.from(msg)));
  }
  const tail = prefixer.end();
  if (tail.length > 0) await spec.body.write(tail);

  return {
    rc: timedOut ? TIMEOUT_RC : exitCode(exit),
    timedOut,
    aborted,
    pid: child.pid,
  };
}
