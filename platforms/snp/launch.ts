/**
 * The SNP launch flow (arch/x86/kvm/svm/sev.c, snp_launch_*(); reference
 * §2.4 d): SNP_LAUNCH_START, then SNP_LAUNCH_UPDATE per range (pages copied
 * from `uaddr` into guest_memfd, made private in the RMP, measured), then
 * SNP_LAUNCH_FINISH (the VMSAs measured too). The launch digest is a
 * SHA-384 chain: each page's digest is SHA-384 of its PAGE_INFO record
 * (SNP firmware ABI, SNP_LAUNCH_UPDATE), which holds the previous digest,
 * the page's content hash (zero for ZERO/UNMEASURED/SECRETS/CPUID pages),
 * the page type and the GPA.
 */
import { DIGEST_SIZE, le64, sha } from '../../lib/platform/digest.js';
import { KVM_SEV_SNP_PAGE_TYPE_NORMAL, type SnpCpuidFn } from './uapi.js';

export type SnpLaunchState = 'init' | 'started' | 'finished';

/**
 * Where every vCPU's VMSA is measured: the RMP records a VMSA page at GPA
 * (u64)-1, which the measurement takes page-aligned and cut to 52 bits.
 */
export const SNP_VMSA_GPA = 0xfffffffff000n;

export class SnpLaunch {
  state: SnpLaunchState = 'init';
  policy = 0n;
  private ld: Uint8Array = new Uint8Array(DIGEST_SIZE.sha384);

  /** The launch digest so far. */
  get digest(): Uint8Array {
    return Uint8Array.from(this.ld);
  }

  start(policy: bigint): boolean {
    if (this.state !== 'init') return false;
    this.policy = policy;
    this.state = 'started';
    return true;
  }

  /** The new digest is the hash of the page's PAGE_INFO, which carries the old one. */
  measurePage(gpa: bigint, type: number, page: Uint8Array): void {
    this.ld = sha('sha384', snpPageInfo(this.ld, gpa, type, page));
  }

  finish(vmsas: readonly Uint8Array[]): boolean {
    if (this.state !== 'started') return false;
    for (const v of vmsas) this.measurePage(SNP_VMSA_GPA, 2, v);
    this.state = 'finished';
    return true;
  }
}

/** PAGE_INFO: digest_cur(48) | contents(48) | length(2) | page_type(1) | imi(1) | vmpl perms(4) | gpa(8). */
export function snpPageInfo(cur: Uint8Array, gpa: bigint, type: number, page: Uint8Array): Uint8Array {
  const info = new Uint8Array(112);
  info.set(cur, 0);
  if (type === KVM_SEV_SNP_PAGE_TYPE_NORMAL || type === 2) info.set(sha('sha384', page), 48);
  new DataView(info.buffer).setUint16(96, 112, true);
  info[98] = type;
  info.set(le64(gpa), 104);
  return info;
}

/** The digest a guest owner expects for these pages, in launch order. */
export function expectedSnpDigest(pages: readonly { gpa: bigint; type: number; data: Uint8Array }[]): Uint8Array {
  const l = new SnpLaunch();
  for (const p of pages) l.measurePage(p.gpa, p.type, p.data);
  return l.digest;
}

/**
 * The firmware's CPUID check: each entry is masked by what the platform
 * allows (`allowed`, keyed `leaf:subleaf`); a leaf it does not know, or a
 * bit it does not allow, is an INVALID_PARAM, and the corrected entries are
 * what KVM copies back to the source buffer.
 */
export function snpCheckCpuid(fns: readonly SnpCpuidFn[], allowed: ReadonlyMap<string, SnpCpuidFn>): { ok: boolean; corrected: SnpCpuidFn[] } {
  let ok = true;
  const corrected = fns.map((f) => {
    const a = allowed.get(`${f.eaxIn >>> 0}:${f.ecxIn >>> 0}`);
    const c = a
      ? { ...f, eax: f.eax & a.eax, ebx: f.ebx & a.ebx, ecx: f.ecx & a.ecx, edx: f.edx & a.edx }
      : { ...f, eax: 0, ebx: 0, ecx: 0, edx: 0 };
    if (c.eax !== f.eax || c.ebx !== f.ebx || c.ecx !== f.ecx || c.edx !== f.edx) ok = false;
    return c;
  });
  return { ok, corrected };
}

/** The model's platform CPUID limits [H]: the leaves a typical part reports, as masks. */
export const DEFAULT_SNP_CPUID_ALLOWED: ReadonlyMap<string, SnpCpuidFn> = new Map([
  ['0:0', { eaxIn: 0, ecxIn: 0, eax: 0x10, ebx: 0xffffffff, ecx: 0xffffffff, edx: 0xffffffff }],
  ['1:0', { eaxIn: 1, ecxIn: 0, eax: 0xffffffff, ebx: 0xffffffff, ecx: 0x7ffefbff, edx: 0x178bfbff }],
  ['2147483648:0', { eaxIn: 0x80000000, ecxIn: 0, eax: 0x80000021, ebx: 0xffffffff, ecx: 0xffffffff, edx: 0xffffffff }],
  ['2147483679:0', { eaxIn: 0x8000001f, ecxIn: 0, eax: 0x0001ffff, ebx: 0xffffffff, ecx: 0xffffffff, edx: 0xffffffff }],
]);
