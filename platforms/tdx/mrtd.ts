/**
 * MRTD, the TD build-time measurement (reference/platforms.md §2.1 d):
 * one SHA-384 over a stream of 128-byte records, extended by TDH.MEM.PAGE.ADD
 * (the GPA and page metadata, never the content [H]) and TDH.MR.EXTEND (the
 * GPA of a 256-byte chunk, then the chunk), closed by TDH.MR.FINALIZE.
 * So INIT_MEM_REGION with and without KVM_TDX_MEASURE_MEMORY_REGION give
 * different MRTDs for the same content.
 */
import { StreamMeasure, le64, tag } from '../../lib/platform/digest.js';

export const MR_EXTEND_CHUNK = 256;

export class Mrtd {
  private readonly m = new StreamMeasure('sha384');

  /** TDH.MEM.PAGE.ADD: "MEM.PAGE.ADD" and the GPA in a 128-byte record. */
  pageAdd(gpa: bigint): void {
    const rec = tag('MEM.PAGE.ADD', 128);
    rec.set(le64(gpa), 16);
    this.m.update(rec);
  }

  /** TDH.MR.EXTEND over one 4K page: 16 records of header + 256 content bytes. */
  extendPage(gpa: bigint, page: Uint8Array): void {
    for (let off = 0; off < page.length; off += MR_EXTEND_CHUNK) {
      const rec = tag('MR.EXTEND', 128);
      rec.set(le64(gpa + BigInt(off)), 16);
      this.m.update(rec);
      this.m.update(page.subarray(off, off + MR_EXTEND_CHUNK));
    }
  }

  finalise(): Uint8Array {
    return this.m.finalise();
  }

  get value(): Uint8Array {
    return this.m.peek();
  }

  get finalised(): boolean {
    return this.m.finalised;
  }
}

/** The MRTD a verifier expects for pages added at `gpas` (with content when measured). */
export function expectedMrtd(pages: readonly { gpa: bigint; data: Uint8Array; measure: boolean }[]): Uint8Array {
  const m = new Mrtd();
  for (const p of pages) {
    m.pageAdd(p.gpa);
    if (p.measure) m.extendPage(p.gpa, p.data);
  }
  return m.finalise();
}
