// Shared measuring helpers of the bench figures: medians of interleaved
// runs, wall time of a child process, C anchors compiled with gcc, peak RSS.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function median(a: readonly number[]): number {
  if (a.length === 0) throw new Error('median of nothing');
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A scratch directory removed when the process exits. */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ksft-bench-${prefix}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Timed {
  ms: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion and returns its wall time. */
export function timeRun(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): Timed {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  const ms = performance.now() - t0;
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { ms, status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** `gcc -O2` of one C file (or inline source) into `out`. */
export function compileC(out: string, source: { file: string } | { text: string }, extra: readonly string[] = []): string {
  let file: string;
  if ('file' in source) file = source.file;
  else {
    file = `${out}.c`;
    writeFileSync(file, source.text);
  }
  const r = spawnSync('gcc', ['-O2', '-o', out, file, ...extra], { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`gcc ${file}: ${r.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
  return out;
}

/** VmHWM and VmRSS of this process, in bytes (Linux /proc). */
export function memStatus(): { hwm: number; rss: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

/** Resets VmHWM to the current RSS (clear_refs 5, Documentation/filesystems/proc.rst). */
export function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

export const fmt = {
  ms: (x: number): string => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`,
  us: (x: number): string => `${x.toFixed(2)} µs`,
  mib: (x: number): string => `${(x / 2 ** 20).toFixed(1)} MiB`,
  gbs: (bytesPerMs: number): string => {
    const bps = bytesPerMs * 1000;
    return bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} GB/s` : `${(bps / 1e6).toFixed(0)} MB/s`;
  },
};
