// One VM run from parsed options: check the input, prepare the scratch share,
// boot, report. Returns the exit status for the command line:
//   the job's own exit status when it ran,
//   1   bad input (missing kernel, QEMU not found, ...) or QEMU did not start,
//   124 the overall timeout killed QEMU (as timeout(1)),
//   125 QEMU ended without a job status (a panic, an init failure, a QEMU
//       error).
// Our own messages are single lines on stderr starting with "vm: ".
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { boot } from './boot.js';
import { chooseAccel, findExecutable, hostTscKhz, type HostFacts } from './host.js';
import { guestEnv, jobScript, JOB_FILE, MARKER_FILE, OVERLAY_FILE } from './job.js';
import { VmInputError, type VmOptions } from './options.js';
import { qemuArgs, socketPaths, VmPlanError, type VmPlan } from './qemu_args.js';

export const EXIT_TIMEOUT = 124;
export const EXIT_NO_STATUS = 125;

export interface VmIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  host: HostFacts;
  /** The project root: init.sh is taken from its tools/vm. */
  root: string;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The last line the kernel printed, for the one-line error. */
function lastConsoleLine(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    const lines = text.split(/\r?\n/).map((l) => l.replace(/\r/g, '').trim()).filter((l) => l !== '');
    const last = lines.at(-1);
    return last === undefined ? undefined : last.length > 160 ? `${last.slice(0, 157)}...` : last;
  } catch {
    return undefined;
  }
}

/** Checks the input and builds the QEMU command; throws VmInputError. */
export function prepare(o: VmOptions, io: VmIo, scratch: string): { qemu: string; plan: VmPlan; accelWhy: string; consoleLog: string } {
  const kernelFrom = io.env.KERNEL === o.kernel ? `KERNEL=${o.kernel}` : `--kernel ${o.kernel}`;
  if (!isFile(o.kernel)) throw new VmInputError(`${kernelFrom}: no such file`);
  const qemu = findExecutable(o.qemu, io.env.PATH);
  if (!qemu) {
    throw new VmInputError(o.qemu.includes('/')
      ? `QEMU binary ${o.qemu} is missing or not executable`
      : `${o.qemu} not found in PATH (apt-get install qemu-system-x86, or set KSFT_VM_QEMU)`);
  }
  if (!isDir(o.dir)) throw new VmInputError(`job directory ${o.dir}: no such directory`);
  const { accel, why } = chooseAccel(o.accel, io.host);
  const plan: VmPlan = {
    kernel: resolve(o.kernel),
    accel,
    memory: o.memory,
    smp: o.smp,
    tscKhz: o.tscKhz ?? hostTscKhz(io.host),
    init: join(io.root, 'tools/vm/init.sh'),
    scratch,
    results: o.results !== undefined ? resolve(o.results) : undefined,
    sockets: socketPaths(scratch),
    append: o.append,
  };
  const consoleLog = o.console === undefined ? join(scratch, 'console.log') : o.console === '-' ? '-' : resolve(o.console);
  if (consoleLog !== '-' && !isDir(dirname(consoleLog))) throw new VmInputError(`--console ${o.console}: no such directory ${dirname(consoleLog)}`);
  if (plan.results !== undefined && existsSync(plan.results) && !isDir(plan.results)) {
    throw new VmInputError(`--results ${o.results}: not a directory`);
  }
  try {
    qemuArgs(plan);
  } catch (e) {
    if (e instanceof VmPlanError) throw new VmInputError(e.message);
    throw e;
  }
  return { qemu, plan, accelWhy: why, consoleLog };
}

export async function runVm(o: VmOptions, io: VmIo): Promise<number> {
  const say = (s: string): void => {
    io.stderr.write(`vm: ${s}\n`);
  };
  const scratch = mkdtempSync(join(tmpdir(), 'ksft-vm-'));
  let keep = o.keep;
  try {
    let prepared;
    try {
      prepared = prepare(o, io, scratch);
    } catch (e) {
      if (e instanceof VmInputError) {
        say(e.message);
        return 1;
      }
      throw e;
    }
    const { qemu, plan, accelWhy, consoleLog } = prepared;
    if (plan.results !== undefined) mkdirSync(plan.results, { recursive: true });
    const dir = resolve(o.dir);
    const env = guestEnv(io.env, o.env, plan.results !== undefined);
    writeFileSync(join(scratch, JOB_FILE), jobScript({ dir, env, shell: o.shell, argv: o.argv }));
    writeFileSync(join(scratch, OVERLAY_FILE), `${dir}\n`);
    const marker = Buffer.from(`ksft-vm-end-${randomBytes(16).toString('hex')}`);
    writeFileSync(join(scratch, MARKER_FILE), marker);
    if (plan.tscKhz === undefined) say('warning: no host TSC frequency found (/proc/cpuinfo "cpu MHz"); the guest calibrates its own');
    say(`booting ${plan.kernel} (${plan.accel}: ${accelWhy}; -m ${plan.memory} -smp ${plan.smp}; timeout ${o.timeout} s)`);
    const consoleWhere = consoleLog === '-' ? 'stderr' : consoleLog;
    const consoleFile = consoleLog === '-' ? undefined : createWriteStream(consoleLog);
    const out = await boot({
      qemu, args: qemuArgs(plan), scratch, sockets: plan.sockets, marker, timeoutS: o.timeout,
      stdout: io.stdout, stderr: io.stderr, console: consoleFile ?? io.stderr, log: io.stderr,
    });
    if (consoleFile) await new Promise((r) => consoleFile.end(r));
    switch (out.kind) {
      case 'status': {
        const parts = [`total ${out.wallS.toFixed(1)} s`];
        if (out.bootS !== undefined) parts.push(`boot ${out.bootS.toFixed(1)} s`);
        if (out.jobS !== undefined) parts.push(`job ${out.jobS.toFixed(1)} s`);
        // The end marker missing: the guest rebooted before its last
        // output reached us (init.sh's drain timed out or was skipped).
        if (out.undrained.length > 0) say(`warning: the end of the job's ${out.undrained.join(' and ')} may be missing (no end marker from the guest)`);
        say(`job exit status ${out.status} (${parts.join(', ')})`);
        return out.status;
      }
      case 'timeout':
        keep = true;
        say(`timed out after ${o.timeout} s: QEMU killed, no job status (console log: ${consoleWhere}; scratch kept in ${scratch})`);
        return EXIT_TIMEOUT;
      case 'no-status': {
        keep = true;
        const last = consoleLog === '-' ? undefined : lastConsoleLine(consoleLog);
        say(`QEMU ended after ${out.wallS.toFixed(1)} s without a job status (${out.qemuExit}` +
          `${last !== undefined ? `; last console line: ${last}` : ''}; console log: ${consoleWhere})`);
        return EXIT_NO_STATUS;
      }
      case 'spawn-error':
        say(`cannot start ${qemu}: ${out.message}`);
        return 1;
    }
    return out satisfies never;
  } finally {
    if (keep) {
      if (o.keep) say(`scratch kept in ${scratch}`);
    } else {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}
