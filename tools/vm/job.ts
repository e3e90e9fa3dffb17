// The job as the guest's init runs it: a sh script in the scratch share that
// sets the environment, enters the project directory and runs the command.
// init.sh records its exit status.

/** Where init.sh mounts the shares (under the guest's tmpfs /run). */
export const GUEST_SCRATCH = '/run/ksft-vm';
export const GUEST_RESULTS = '/run/ksft-vm-results';
/** Scratch-share files; init.sh uses the same names. */
export const JOB_FILE = 'job.sh';
export const OVERLAY_FILE = 'overlay';
/** The end marker init.sh writes to the ports after the job (port.ts). */
export const MARKER_FILE = 'marker';
export const STATUS_FILE = 'status';
export const UPTIME_START_FILE = 'uptime.start';
export const UPTIME_END_FILE = 'uptime.end';

/** POSIX sh single-quoting. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The job's environment: the host's PATH (the guest's root is the host's),
 * a HOME and TMPDIR on the guest's tmpfs (the root is read-only), the
 * locale, every KSFT_* setting except the runner's own KSFT_VM_*, and last
 * the explicit NAME=VALUE pairs, which win.
 */
export function guestEnv(host: NodeJS.ProcessEnv, extra: readonly string[], results: boolean): Map<string, string> {
  const env = new Map<string, string>();
  env.set('PATH', host.PATH && host.PATH !== '' ? host.PATH : '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin');
  env.set('HOME', '/tmp/home');
  env.set('TMPDIR', '/tmp');
  for (const k of ['LANG', 'LC_ALL', 'TZ']) {
    const v = host[k];
    if (v !== undefined) env.set(k, v);
  }
  for (const k of Object.keys(host).sort()) {
    if (k.startsWith('KSFT_') && !k.startsWith('KSFT_VM_')) env.set(k, host[k]!);
  }
  if (results) env.set('KSFT_VM_RESULTS', GUEST_RESULTS);
  for (const kv of extra) {
    const eq = kv.indexOf('=');
    env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

export interface Job {
  dir: string;
  env: Map<string, string>;
  /** A shell command line (-c) ... */
  shell?: string;
  /** ... or an argv, quoted word by word. */
  argv?: readonly string[];
}

export function jobScript(j: Job): string {
  const lines = ['# The VM job, written by tools/vm/run.ts and run by tools/vm/init.sh.'];
  for (const [k, v] of j.env) lines.push(`export ${k}=${shQuote(v)}`);
  lines.push('mkdir -p "$HOME"');
  // 125: the job could not even start (as env(1) and timeout(1) use it).
  lines.push(`cd ${shQuote(j.dir)} || exit 125`);
  lines.push(j.shell ?? j.argv!.map(shQuote).join(' '));
  return lines.join('\n') + '\n';
}
