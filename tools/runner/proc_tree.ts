// Finding what a test left running, through /proc. The kernel runner kills
// a test's process group (coreutils `timeout` signals its own group), which
// misses a process that moved to a session of its own: the kselftest
// harness puts each TEST in one (setsid in Node, setpgrp in C), so killing
// the harness's group alone leaves the running TEST behind. While the test
// is alive its descendants are still linked to it by their parent pid, so
// they can be collected before anything is killed. Once it has exited they
// are reparented; the only tie left is the output pipe they hold.
import { readdirSync, readFileSync, statSync, fstatSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
}

/** pid, ppid and process group of every process we can see. */
export function readProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    // The command name in parentheses may hold spaces and ')': fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(f[1]), pgrp: Number(f[2]) });
  }
  return out;
}

/** `root` and every process below it, by parent links. */
export function descendants(root: number, procs: readonly ProcInfo[] = readProcs()): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  let self: ProcInfo | undefined;
  for (const p of procs) {
    if (p.pid === root) self = p;
    const l = children.get(p.ppid);
    if (l) l.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcInfo[] = self ? [self] : [];
  const queue = [root];
  const seen = new Set<number>([root]);
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Processes (other than this one) that have the file behind `fd` open: for a pipe, its other users. */
export function fileHolders(fd: number): ProcInfo[] {
  let dev: number;
  let ino: number;
  try {
    const st = fstatSync(fd);
    dev = st.dev;
    ino = st.ino;
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const p of readProcs()) {
    if (p.pid === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      continue;
    }
    for (const n of fds) {
      try {
        const st = statSync(`/proc/${p.pid}/fd/${n}`);
        if (st.dev === dev && st.ino === ino) {
          out.push(p);
          break;
        }
      } catch {
        // Closed meanwhile, or not ours to look at.
      }
    }
  }
  return out;
}

/**
 * SIGKILL to each process and to its process group. The runner's own group
 * is never signalled: a test started by this runner is always in a session
 * of its own, so only a process outside the test could share it.
 */
export function killAll(procs: readonly ProcInfo[]): void {
  const own = ownGroup();
  const groups = new Set<number>();
  for (const p of procs) {
    if (p.pgrp > 1 && p.pgrp !== own) groups.add(p.pgrp);
  }
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }
  for (const p of procs) {
    if (p.pid === process.pid || p.pid <= 1) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }
}

let ownPgrp: number | undefined;
function ownGroup(): number {
  if (ownPgrp === undefined) {
    try {
      const stat = readFileSync('/proc/self/stat', 'latin1');
      ownPgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    } catch {
      ownPgrp = -1;
    }
  }
  return ownPgrp;
}
