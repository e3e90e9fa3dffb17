/**
 * GNU as as the reference encoder: assemble an Intel-syntax listing with
 * `as --64`, extract .text with `objcopy -O binary`, in a fresh temp dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why GNU as cannot be used here, or undefined when it can. */
export function gnuAsMissing(): string | undefined {
  for (const tool of ['as', 'objcopy']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `GNU ${tool} is not available (${r.error?.message ?? `exit ${r.status}`}); install binutils`;
    if (!/GNU/.test(r.stdout)) return `${tool} is not GNU binutils: ${r.stdout.split('\n')[0]}`;
  }
  return undefined;
}

/** The .text bytes GNU as makes of `listing`. Throws with as's messages on an error. */
export function gnuAssemble(listing: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-as-'));
  try {
    const src = join(dir, 'a.s');
    const obj = join(dir, 'a.o');
    const bin = join(dir, 'a.bin');
    writeFileSync(src, listing);
    const as = spawnSync('as', ['--64', src, '-o', obj], { encoding: 'utf8' });
    if (as.status !== 0) throw new Error(`as --64 failed: ${as.stderr}`);
    const oc = spawnSync('objcopy', ['-O', 'binary', '-j', '.text', obj, bin], { encoding: 'utf8' });
    if (oc.status !== 0) throw new Error(`objcopy failed: ${oc.stderr}`);
    return new Uint8Array(readFileSync(bin));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hexBytes = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
