/**
 * SNP guest operations for test programs (arch/x86/coco/sev/core.c): page
 * state changes in their MSR and GHCB forms, and PVALIDATE.
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { formatPscEntries, type PscEntry } from './model.js';
import { GHCB_MSR_PSC_RESP } from './uapi.js';
import type { Num } from '../../lib/libc/int.js';

/** GHCB MSR protocol PSC for one 4K page; the guest sees GHCB_MSR_PSC_RESP on success. */
export function snpPscMsr(g: GuestBuilder, gpa: Num, toPrivate: boolean, expect: bigint = GHCB_MSR_PSC_RESP): void {
  g.platform('snp.psc_msr', { gpa: BigInt(gpa), op: toPrivate ? 'private' : 'shared' }, { expect, expr: 'GHCB_MSR_PSC_RESP_VAL(msr) status' });
}

/** GHCB NAE SVM_VMGEXIT_PSC with a list of entries; 0 on success. */
export function snpPsc(g: GuestBuilder, entries: readonly PscEntry[], expect = 0n): void {
  g.platform('snp.psc', { entries: formatPscEntries(entries) }, { expect, expr: 'vmgexit_psc() status' });
}

/** PVALIDATE `npages` pages (or 2M regions) from `gpa`. */
export function snpPvalidate(g: GuestBuilder, gpa: Num, opts: { npages?: number; size?: '4K' | '2M'; validate?: boolean; onSizeMismatch?: 'npf' | 'return'; expect?: bigint } = {}): void {
  g.platform('snp.pvalidate', {
    gpa: BigInt(gpa), npages: opts.npages ?? 1, size: opts.size ?? '4K', validate: opts.validate ?? true, onSizeMismatch: opts.onSizeMismatch ?? 'npf',
  }, { expect: opts.expect ?? 0n, expr: 'pvalidate() rc' });
}
