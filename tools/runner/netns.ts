// -n/--netns: each test in a fresh network namespace with `lo` up
// (run_kselftest.sh's run_in_netns()). Namespaces are made with iproute2
// (`ip netns add/exec/del`), which needs CAP_SYS_ADMIN; when creation fails
// the test is reported `not ok ... # Create NS failed`, as the kernel does.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Netns {
  name: string;
  /** Command and argument prefix that runs a program inside the namespace. */
  exec: readonly string[];
  remove(): void;
}

function ip(args: readonly string[]): boolean {
  const r = spawnSync('ip', args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

export function createNetns(basename: string): Netns | undefined {
  const name = `${basename}-${randomBytes(3).toString('hex')}`;
  if (!ip(['netns', 'add', name])) return undefined;
  ip(['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    exec: ['ip', 'netns', 'exec', name],
    remove: () => { ip(['netns', 'del', name]); },
  };
}
