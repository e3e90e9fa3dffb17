// Runs QEMU once and watches it: the guest's job output is streamed to our
// stdout and stderr as it comes, the kernel console to its log, the overall
// timeout kills a wedged guest, and the job's exit status is read back from
// the scratch share.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { STATUS_FILE, UPTIME_END_FILE, UPTIME_START_FILE } from './job.js';
import { PortListener } from './port.js';
import type { VmSockets } from './qemu_args.js';

export interface BootRequest {
  qemu: string;
  args: readonly string[];
  scratch: string;
  /** The socket paths the QEMU arguments name. */
  sockets: VmSockets;
  /** The run's end marker (init.sh writes it after the job). */
  marker: Buffer;
  timeoutS: number;
  /** The job's stdout and stderr. */
  stdout: Writable;
  stderr: Writable;
  /** The kernel console. */
  console: Writable;
  /** QEMU's own messages. */
  log: Writable;
  /** Seconds between SIGTERM and SIGKILL when the timeout hits. */
  killGraceS?: number;
}

export type BootOutcome =
  /** The job ran; `status` is its exit status. */
  | { kind: 'status'; status: number; wallS: number; bootS?: number; jobS?: number; undrained: string[] }
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

/** Copies a child's pipe to a stream we do not own (so never ends it). */
function forward(from: NodeJS.ReadableStream, to: Writable): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => to.write(chunk));
    from.on('end', resolve);
    from.on('error', () => resolve());
  });
}

export async function boot(req: BootRequest): Promise<BootOutcome> {
  // The listeners first: QEMU connects to them while it starts.
  const ports = [
    await PortListener.listen(req.sockets.console, req.console),
    await PortListener.listen(req.sockets.out, req.stdout, req.marker),
    await PortListener.listen(req.sockets.err, req.stderr, req.marker),
  ];
  const t0 = Date.now();
  const wall = (): number => (Date.now() - t0) / 1000;
  const exited = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean } | { error: string }>((resolve) => {
    // QEMU's own stdout and stderr carry only QEMU's messages: both to the
    // log (stderr), never to our stdout.
    const child = spawn(req.qemu, req.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const streams = Promise.all([forward(child.stdout, req.log), forward(child.stderr, req.log)]);
    let timedOut = false;
    const grace = (req.killGraceS ?? 5) * 1000;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), grace).unref();
    }, req.timeoutS * 1000);
    // make interrupted (Ctrl-C, a CI cancel): take QEMU down with us.
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
        resolve({ error: e.message });
      }
    });
    child.on('close', (code, signal) => {
      cleanup();
      void streams.then(() => resolve({ code, signal, timedOut }));
    });
  });
  // QEMU is gone: its connections have ended or never came.
  for (const p of ports) p.close();
  await Promise.all(ports.map((p) => p.done));
  if ('error' in exited) return { kind: 'spawn-error', message: exited.error };
  const status = readNumber(join(req.scratch, STATUS_FILE), /^([0-9]+)\s*$/);
  // A status written before the timer fired still counts: the job finished,
  // only the reboot was slow.
  if (status !== undefined) {
    const start = readNumber(join(req.scratch, UPTIME_START_FILE), /^([0-9.]+)/);
    const end = readNumber(join(req.scratch, UPTIME_END_FILE), /^([0-9.]+)/);
    return {
      kind: 'status', status, wallS: wall(),
      bootS: start, jobS: start !== undefined && end !== undefined ? end - start : undefined,
      undrained: [ports[1]!.drained ? [] : ['stdout'], ports[2]!.drained ? [] : ['stderr']].flat(),
    };
  }
  if (exited.timedOut) return { kind: 'timeout', wallS: wall() };
  return { kind: 'no-status', qemuExit: exited.signal ? `killed by ${exited.signal}` : `exit status ${exited.code}`, wallS: wall() };
}
