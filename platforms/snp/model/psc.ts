/**
 * The GHCB page state change list (GHCB specification, the Page State
 * Change NAE event's entry list) as the guest op `snp.psc` carries it, and
 * its merge into KVM_HC_MAP_GPA_RANGE exits (arch/x86/kvm/svm/sev.c
 * snp_begin_psc()).
 */
import { PAGE } from '../../../lib/platform/common.js';

/** One GHCB PSC entry, as `snp.psc` carries them: "gfn:private|shared:4K|2M" comma-separated. */
export interface PscEntry {
  readonly gfn: bigint;
  readonly toPrivate: boolean;
  readonly huge: boolean;
}

/** One MAP_GPA_RANGE exit's worth of entries. */
export interface PscRun {
  gpa: bigint;
  npages: bigint;
  toPrivate: boolean;
  huge: boolean;
}

export function parsePscEntries(s: string): PscEntry[] {
  return s.split(',').filter(Boolean).map((e) => {
    const [gfn, op, size] = e.split(':');
    return { gfn: BigInt(gfn!), toPrivate: op === 'private', huge: size === '2M' };
  });
}

export function formatPscEntries(entries: readonly PscEntry[]): string {
  return entries.map((e) => `0x${e.gfn.toString(16)}:${e.toPrivate ? 'private' : 'shared'}:${e.huge ? '2M' : '4K'}`).join(',');
}

/** snp_begin_psc(): contiguous entries with the same op and page size merge into one MAP_GPA_RANGE exit. */
export function mergePscRuns(entries: readonly PscEntry[]): PscRun[] {
  const runs: PscRun[] = [];
  for (const e of entries) {
    const n = e.huge ? 512n : 1n;
    const last = runs[runs.length - 1];
    if (last && last.toPrivate === e.toPrivate && last.huge === e.huge && last.gpa / PAGE + last.npages === e.gfn) {
      last.npages += n;
    } else {
      runs.push({ gpa: e.gfn * PAGE, npages: n, toPrivate: e.toPrivate, huge: e.huge });
    }
  }
  return runs;
}
