import t from 'tap';
import { createHash } from 'node:crypto';
import { toHex } from '../../../lib/platform/digest.js';
import { DEFAULT_SNP_CPUID_ALLOWED, SnpLaunch, expectedSnpDigest, snpCheckCpuid } from '../../../platforms/snp/launch.js';
import { formatPscEntries, mergePscRuns, parsePscEntries } from '../../../platforms/snp/model.js';
import { Rmp } from '../../../platforms/snp/rmp.js';
import {
  KVM_SEV_SNP_PAGE_TYPE_NORMAL, KVM_SEV_SNP_PAGE_TYPE_UNMEASURED, KVM_SEV_SNP_PAGE_TYPE_ZERO, PVALIDATE_FAIL_INPUT,
  PVALIDATE_FAIL_NOUPDATE, PVALIDATE_FAIL_SIZEMISMATCH, PVALIDATE_SUCCESS, decodeCpuidPage, encodeCpuidPage,
} from '../../../platforms/snp/uapi.js';

t.test('PVALIDATE against the RMP', async (t) => {
  const r = new Rmp();
  t.equal(r.pvalidate(5n, false, true), PVALIDATE_FAIL_INPUT, 'not assigned');
  r.makePrivate(5n);
  t.equal(r.pvalidate(5n, false, true), PVALIDATE_SUCCESS);
  t.equal(r.pvalidate(5n, false, true), PVALIDATE_FAIL_NOUPDATE);
  t.equal(r.pvalidate(5n, false, false), PVALIDATE_SUCCESS, 'rescind');
  r.makePrivate(512n, true);
  t.equal(r.pvalidate(513n, false, true), PVALIDATE_FAIL_SIZEMISMATCH, '4K inside a 2M entry');
  t.equal(r.pvalidate(512n, true, true), PVALIDATE_SUCCESS, '2M on a 2M entry');
  r.psmash(600n);
  t.equal(r.psmashes, 1);
  t.equal(r.pvalidate(512n, true, false), PVALIDATE_FAIL_SIZEMISMATCH, '2M on 4K entries after PSMASH');
  t.equal(r.get(700n)!.validated, true, 'PSMASH keeps the state');
});

t.test('PSC entries round-trip and merge into MAP_GPA_RANGE runs', async (t) => {
  const e = [
    { gfn: 0x10n, toPrivate: true, huge: false },
    { gfn: 0x11n, toPrivate: true, huge: false },
    { gfn: 0x12n, toPrivate: false, huge: false },
    { gfn: 0x200n, toPrivate: true, huge: true },
    { gfn: 0x400n, toPrivate: true, huge: true },
  ];
  t.same(parsePscEntries(formatPscEntries(e)), e);
  t.same(mergePscRuns(e), [
    { gpa: 0x10000n, npages: 2n, toPrivate: true, huge: false },
    { gpa: 0x12000n, npages: 1n, toPrivate: false, huge: false },
    { gpa: 0x200000n, npages: 1024n, toPrivate: true, huge: true },
  ]);
});

t.test('launch digest: content counts for NORMAL only', async (t) => {
  const a = new Uint8Array(4096).fill(1);
  const b = new Uint8Array(4096).fill(2);
  const d = (type: number, data: Uint8Array) => toHex(expectedSnpDigest([{ gpa: 0x1000n, type, data }]));
  t.not(d(KVM_SEV_SNP_PAGE_TYPE_NORMAL, a), d(KVM_SEV_SNP_PAGE_TYPE_NORMAL, b));
  t.equal(d(KVM_SEV_SNP_PAGE_TYPE_UNMEASURED, a), d(KVM_SEV_SNP_PAGE_TYPE_UNMEASURED, b));
  t.not(d(KVM_SEV_SNP_PAGE_TYPE_UNMEASURED, a), d(KVM_SEV_SNP_PAGE_TYPE_ZERO, a), 'the page type is measured');
  const l = new SnpLaunch();
  t.ok(l.start(0n));
  t.notOk(l.start(0n));
  t.ok(l.finish([]));
  t.notOk(l.finish([]));
});

t.test('CPUID page check corrects what the platform does not allow', async (t) => {
  const page = encodeCpuidPage([
    { eaxIn: 1, ecxIn: 0, eax: 1, ebx: 2, ecx: 0xffffffff, edx: 3 },
    { eaxIn: 0xdead, ecxIn: 0, eax: 1, ebx: 1, ecx: 1, edx: 1 },
  ]);
  const fns = decodeCpuidPage(page);
  t.equal(fns.length, 2);
  const r = snpCheckCpuid(fns, DEFAULT_SNP_CPUID_ALLOWED);
  t.notOk(r.ok);
  t.equal(r.corrected[0]!.ecx, 0x7ffefbff);
  t.same(r.corrected[1], { eaxIn: 0xdead, ecxIn: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 });
  t.ok(snpCheckCpuid(r.corrected, DEFAULT_SNP_CPUID_ALLOWED).ok);
});

t.test('launch digest from first principles: each step is SHA-384 of a 112-byte PAGE_INFO holding the previous digest', async (t) => {
  const page = new Uint8Array(4096).map((_, i) => i * 7);
  const vmsa = new Uint8Array(4096).fill(0x5e);
  // PAGE_INFO (SNP firmware ABI, SNP_LAUNCH_UPDATE): digest_cur[48], contents[48],
  // length u16 = 0x70, page_type u8, imi u8, vmpl3/2/1 perms u8, reserved u8, gpa u64.
  const pageInfo = (cur: Buffer, contents: Buffer, type: number, gpa: bigint): Buffer => {
    const info = Buffer.alloc(0x70);
    cur.copy(info, 0);
    contents.copy(info, 48);
    info.writeUInt16LE(0x70, 96);
    info[98] = type;
    info.writeBigUInt64LE(gpa, 104);
    return info;
  };
  const sha384 = (b: Uint8Array): Buffer => createHash('sha384').update(b).digest();
  let ld: Buffer = Buffer.alloc(48);
  ld = sha384(pageInfo(ld, sha384(page), KVM_SEV_SNP_PAGE_TYPE_NORMAL, 0x1000n));
  ld = sha384(pageInfo(ld, Buffer.alloc(48), KVM_SEV_SNP_PAGE_TYPE_ZERO, 0x2000n));
  const l = new SnpLaunch();
  t.ok(l.start(0n));
  l.measurePage(0x1000n, KVM_SEV_SNP_PAGE_TYPE_NORMAL, page);
  l.measurePage(0x2000n, KVM_SEV_SNP_PAGE_TYPE_ZERO, new Uint8Array(4096));
  t.equal(toHex(l.digest), ld.toString('hex'));
  t.equal(toHex(expectedSnpDigest([
    { gpa: 0x1000n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, data: page },
    { gpa: 0x2000n, type: KVM_SEV_SNP_PAGE_TYPE_ZERO, data: new Uint8Array(4096) },
  ])), ld.toString('hex'));
  // Every vCPU's VMSA (type 2) is measured at the same GPA, 0xfffffffff000.
  for (let i = 0; i < 2; i++) ld = sha384(pageInfo(ld, sha384(vmsa), 2, 0xfffffffff000n));
  t.ok(l.finish([vmsa, vmsa]));
  t.equal(toHex(l.digest), ld.toString('hex'));
});
