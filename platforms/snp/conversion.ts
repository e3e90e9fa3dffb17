/** SNP's guest conversion protocol (lib/platform/types.ts, ConversionProtocol). */
import { PAGE } from '../../lib/platform/common.js';
import { decodeMapGpaRange, hypercallComplete } from '../../lib/platform/conversions.js';
import type { ConversionProtocol } from '../../lib/platform/types.js';

/** SNP: rescind validation before →shared, GHCB PSC for the range, PVALIDATE after →private. */
export const snpConversion: ConversionProtocol = {
  convert(g, at, len, toPrivate) {
    const gpa = BigInt(at);
    const npages = BigInt(len) / PAGE;
    if (!toPrivate) g.platform('snp.pvalidate', { gpa, npages, size: '4K', validate: false, all: true }, { expect: 0n, expr: 'pvalidate(rescind) == 0' });
    const entries: string[] = [];
    for (let i = 0n; i < npages; i++) entries.push(`0x${(gpa / PAGE + i).toString(16)}:${toPrivate ? 'private' : 'shared'}:4K`);
    g.platform('snp.psc', { entries: entries.join(',') }, { expect: 0n, expr: 'snp_page_state_change() == 0' });
    if (toPrivate) g.platform('snp.pvalidate', { gpa, npages, size: '4K', validate: true, all: true }, { expect: 0n, expr: 'pvalidate() == 0' });
  },
  decodeExit: decodeMapGpaRange,
  complete: hypercallComplete,
  reacquire(g, gpa, len) {
    g.platform('snp.pvalidate', { gpa, npages: BigInt(len) / PAGE, size: '4K', validate: true, all: true }, { expect: 0n, expr: 'pvalidate() == 0' });
  },
  passesRawFlags: false,
  privateView: 'private',
  sharedView: 'shared',
};

