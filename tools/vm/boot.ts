// Runs QEMU once and watches it: the guest's job output is streamed to our
// stdout and stderr as it comes, the overall timeout kills a wedged guest,
// and the job's exit status is read back from the scratch share.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { STATUS_FILE, UPTIME_END_FILE, UPTIME_START_FILE } from './job.js';

export interface BootRequest {
  qemu: string;
  args: readonly string[];
  scratch: string;
  timeoutS: number;
  stdout: Writable;
  stderr: Writable;
  /** Seconds between SIGTERM and SIGKILL when the timeout hits. */
  killGraceS?: number;
}

export type BootOutcome =
  /** The job ran; `status` is its exit status. */
  | { kind: 'status'; status: number; wallS: number; bootS?: number; jobS?: number }
  /** QEMU ended without a job status: a panic, a broken init, a QEMU error. */
  | { kind: 'no-status'; qemuExit: string; wallS: number }
  | { kind: 'timeout'; wallS: number }
  /** QEMU did not start at all. */
  | { kind: 'spawn-error'; message: string };

function readNumber(path: string, re: RegExp): number | undefined {
  try {
    const m = re.exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Forwards a child's stream without ending ours (two children may share it). */
function forward(from: NodeJS.ReadableStream, to: Writable): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', resolve);
    from.on('error', () => resolve());
  });
}

export function boot(req: BootRequest): Promise<BootOutcome> {
  const t0 = Date.now();
  const wall = (): number => (Date.now() - t0) / 1000;
  return new Promise((resolve) => {
    // stdin closed: QEMU reads nothing from us. stdout/stderr are pipes the
    // serial ports write to (qemu_args.ts) and we forward.
    const child = spawn(req.qemu, req.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const streams = Promise.all([forward(child.stdout, req.stdout), forward(child.stderr, req.stderr)]);
    const grace = (req.killGraceS ?? 5) * 1000;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), grace).unref();
    }, req.timeoutS * 1000);
    // make interrupted (Ctrl-C, CI cancel): take QEMU down with us.
    const onSignal = (sig: NodeJS.Signals): void => {
      child.kill('SIGKILL');
      process.exitCode = 128 + (sig === 'SIGINT' ? 2 : 15);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const cleanup = (): void => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    };
    child.on('error', (e) => {
      // Only a failed spawn leaves no pid; later errors (a failed kill) are
      // followed by 'close' as usual.
      if (child.pid === undefined) {
        cleanup();
        resolve({ kind: 'spawn-error', message: e.message });
      }
    });
    child.on('close', (code, signal) => {
      cleanup();
      void streams.then(() => {
        const status = readNumber(join(req.scratch, STATUS_FILE), /^([0-9]+)\s*$/);
        // A status file written before the timer fired still counts: the job
        // finished, only the reboot was slow.
        if (status !== undefined) {
          const start = readNumber(join(req.scratch, UPTIME_START_FILE), /^([0-9.]+)/);
          const end = readNumber(join(req.scratch, UPTIME_END_FILE), /^([0-9.]+)/);
          resolve({
            kind: 'status', status, wallS: wall(),
            bootS: start, jobS: start !== undefined && end !== undefined ? end - start : undefined,
          });
        } else if (timedOut) {
          resolve({ kind: 'timeout', wallS: wall() });
        } else {
          resolve({ kind: 'no-status', qemuExit: signal ? `killed by ${signal}` : `exit status ${code}`, wallS: wall() });
        }
      });
    });
  });
}
