/**
 * SNP launch: SNP_LAUNCH_START/UPDATE/FINISH over kvm_gmem_populate()
 * (reference/platforms.md §2.4 d; scenarios 3, 4, 5, 6, 8, 9) and the
 * -EAGAIN partial-progress contract.
 */
import type { GuestCode } from '../../../lib/guest/builder.js';
import { EAGAIN, EEXIST, EINVAL, EIO } from '../../../lib/kvm/errno.js';
import { UCALL_DONE } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_NE, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { hostRead, hostWrite, vmMemSetPrivate } from '../../../lib/kvm_util/index.js';
import { toHex } from '../../../lib/platform/digest.js';
import { cocoVmCreate, runToUcall, sourcePage, type CocoVm, type CocoVmOptions } from '../../../lib/kvm_util/coco.js';
import { SNP_POLICY_DEFAULT, __snpLaunchUpdate, snpLaunchFinish, snpLaunchStart, snpLaunchUpdate, snpModelLaunchDigest } from '../../../platforms/snp/host.js';
import { __sevIoctl } from '../../../platforms/sev/host.js';
import { expectedSnpDigest } from '../../../platforms/snp/launch.js';
import { KVM_SEV_SNP_LAUNCH_START, SEV_RET_INVALID_GUEST_STATE, SEV_RET_INVALID_PARAM } from '../../../platforms/sev/uapi.js';
import {
  encodeSnpLaunchStart, KVM_SEV_SNP_PAGE_TYPE_CPUID, KVM_SEV_SNP_PAGE_TYPE_NORMAL, KVM_SEV_SNP_PAGE_TYPE_ZERO, decodeCpuidPage, encodeCpuidPage,
  type SnpLaunchUpdate,
} from '../../../platforms/snp/uapi.js';

const GFN = (1n << 32n) >> 12n;

/** An SNP VM after SNP_LAUNCH_START, ready for SNP_LAUNCH_UPDATE. */
function started(opts: CocoVmOptions = {}, guest?: GuestCode): CocoVm {
  const c = cocoVmCreate('snp', guest, opts);
  snpLaunchStart(c.vm);
  return c;
}

TEST('scenario_03_populate_without_private_attribute', () => {
  const { vm } = started();
  const r = __snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: sourcePage(1), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
});

TEST('scenario_04_populate_same_gfn_twice', () => {
  const { vm, gpa } = started();
  vmMemSetPrivate(vm, gpa, 4096);
  snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: sourcePage(1), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  // The RMP entry is no longer shared: sev_gmem_post_populate() says -EEXIST.
  const r = __snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: sourcePage(1), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  ASSERT_EQ(r.errno, EEXIST);
});

TEST('scenario_05_zero_page_without_uaddr', async () => {
  const { vm, vcpu, gpa } = started({}, (g, base) => {
    g.memcmp(base, 4096, 0, { view: 'private' });
    g.done();
  });
  vmMemSetPrivate(vm, gpa, 8192);
  // ZERO ignores uaddr; NORMAL with a NULL uaddr is refused.
  snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: 0n, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_ZERO, flags: 0 });
  const bad = __snpLaunchUpdate(vm, { gfnStart: GFN + 1n, uaddr: 0n, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  ASSERT_EQ(bad.errno, EINVAL);
  snpLaunchFinish(vm);
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_06_cpuid_page_with_bad_leaf', () => {
  const { vm, gpa } = started();
  vmMemSetPrivate(vm, gpa, 4096);
  const src = sourcePage(0);
  // Leaf 0x1 asks for ECX bit 31 (hypervisor-reserved here) and an unknown leaf 0x40000000.
  hostWrite(src, encodeCpuidPage([
    { eaxIn: 1, ecxIn: 0, eax: 0x00a00f11, ebx: 0, ecx: 0xffffffff, edx: 0x178bfbff },
    { eaxIn: 0x40000000, ecxIn: 0, eax: 1, ebx: 2, ecx: 3, edx: 4 },
  ]));
  const r = __snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: src, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_CPUID, flags: 0 });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EIO);
  ASSERT_EQ(r.fwError, SEV_RET_INVALID_PARAM);
  // The corrected page came back in the source buffer.
  const fixed = decodeCpuidPage(hostRead(src, 4096));
  ASSERT_EQ(fixed[0]!.ecx, 0x7ffefbff);
  ASSERT_EQ(fixed[1]!.eax, 0);
  // The corrected page is accepted.
  snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: src, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_CPUID, flags: 0 });
});

TEST('scenario_08_populate_source_not_4k_aligned_7_0', () => {
  const { vm, gpa } = started({ hardware: { populateRules: '7.0' } });
  vmMemSetPrivate(vm, gpa, 4096);
  const r = __snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: sourcePage(1, 2) + 8n, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  ASSERT_EQ(r.errno, EINVAL);
});

TEST('scenario_09_populate_after_launch_finish', () => {
  const { vm, gpa } = started();
  vmMemSetPrivate(vm, gpa, 8192);
  snpLaunchUpdate(vm, { gfnStart: GFN, uaddr: sourcePage(1), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  snpLaunchFinish(vm);
  const r = __snpLaunchUpdate(vm, { gfnStart: GFN + 1n, uaddr: sourcePage(1), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EIO);
  ASSERT_EQ(r.fwError, SEV_RET_INVALID_GUEST_STATE);
});

TEST('second_launch_start_refused', () => {
  // snp_launch_start(): one SNP context per VM; with sev->snp_context set a
  // second SNP_LAUNCH_START is -EINVAL before any firmware call (error 0),
  // before and after SNP_LAUNCH_FINISH.
  const { vm } = started();
  const again = () => __sevIoctl(vm, KVM_SEV_SNP_LAUNCH_START, encodeSnpLaunchStart(SNP_POLICY_DEFAULT));
  for (const when of ['started', 'finished']) {
    if (when === 'finished') snpLaunchFinish(vm);
    const r = again();
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
    ASSERT_EQ(r.fwError, 0);
  }
});

TEST('launch_update_eagain_resumes_partial_progress', () => {
  const { vm, gpa } = started({ hardware: { populateBatchPages: 2 } });
  vmMemSetPrivate(vm, gpa, 5n * 4096n);
  const src = sourcePage(0x3c, 5);
  let u: SnpLaunchUpdate = { gfnStart: GFN, uaddr: src, len: 5n * 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 };
  let calls = 0;
  for (;;) {
    const r = __snpLaunchUpdate(vm, u);
    calls++;
    if (r.ret === 0) break;
    ASSERT_EQ(r.errno, EAGAIN);
    // gfn_start, uaddr and len now describe what is left.
    ASSERT_NE(r.left.len, u.len);
    u = r.left;
  }
  ASSERT_EQ(calls, 3);
  const pages = Array.from({ length: 5 }, (_, i) => ({ gpa: gpa + BigInt(i) * 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, data: new Uint8Array(4096).fill(0x3c) }));
  ASSERT_EQ(toHex(snpModelLaunchDigest(vm)), toHex(expectedSnpDigest(pages)));
});

void TEST_HARNESS_MAIN();
