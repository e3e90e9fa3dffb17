/**
 * SNP page-state changes and validation (reference/platforms.md §2.4 b, c;
 * scenarios 14, 15, 16, 17).
 */
import {
  KVM_EXIT_HYPERCALL, KVM_EXIT_IO, KVM_EXIT_SYSTEM_EVENT, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MAP_GPA_RANGE_PAGE_SZ_2M, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SYSTEM_EVENT_SEV_TERM, UCALL_DONE,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { REPORT_GUEST_ASSERT, _vcpuRun, getUcall, vmSetMemoryAttributes, type KvmVcpu } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate } from '../../../lib/kvm_util/coco.js';
import { snpPsc, snpPscMsr, snpPvalidate } from '../../../platforms/snp/guest.js';
import { GHCB_MSR_PSC_RESP_ERROR, PVALIDATE_FAIL_SIZEMISMATCH, VMGEXIT_PSC_ERROR_GENERIC } from '../../../platforms/snp/uapi.js';

interface MapExit { gpa: bigint; npages: bigint; attrs: bigint }

/** Run to the final ucall, answering every MAP_GPA_RANGE exit with `ret` (and converting when 0). */
async function serve(vcpu: KvmVcpu, ret = 0n): Promise<MapExit[]> {
  const exits: MapExit[] = [];
  for (;;) {
    const r = await _vcpuRun(vcpu);
    ASSERT_EQ(r.ret, 0);
    if (vcpu.run.exitReason !== KVM_EXIT_HYPERCALL) return exits;
    ASSERT_EQ(vcpu.run.hypercallNr, BigInt(KVM_HC_MAP_GPA_RANGE));
    const e = { gpa: vcpu.run.hypercallArg(0), npages: vcpu.run.hypercallArg(1), attrs: vcpu.run.hypercallArg(2) };
    exits.push(e);
    if (ret === 0n) vmSetMemoryAttributes(vcpu.vm, e.gpa, e.npages * 4096n, e.attrs & KVM_MAP_GPA_RANGE_ENCRYPTED ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n);
    vcpu.run.hypercallRet = ret;
  }
}

function expectDone(vcpu: KvmVcpu): void {
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
  const uc = getUcall(vcpu);
  if (uc.cmd !== UCALL_DONE) REPORT_GUEST_ASSERT(uc, vcpu);
}

const M = 1n << 20n;

TEST('scenario_14_psc_msr_and_batched_ghcb_psc', async () => {
  const { vcpu, gpa } = cocoVmCreate('snp', (g, base) => {
    snpPscMsr(g, base, true);
    const gfn = base >> 12n;
    snpPsc(g, [
      { gfn: gfn + 512n, toPrivate: true, huge: true },
      { gfn: gfn + 1024n, toPrivate: true, huge: false },
      { gfn: gfn + 1025n, toPrivate: true, huge: false },
      { gfn: gfn + 2048n, toPrivate: true, huge: false },
    ]);
    g.done();
  }, { npages: 4096 });
  const exits = await serve(vcpu);
  expectDone(vcpu);
  // MSR: one page. GHCB: one exit per contiguous run of the same op and size.
  ASSERT_EQ(exits.length, 4);
  ASSERT_EQ(exits[0]!.gpa, gpa);
  ASSERT_EQ(exits[0]!.npages, 1n);
  ASSERT_EQ(exits[1]!.gpa, gpa + 2n * M);
  ASSERT_EQ(exits[1]!.npages, 512n);
  ASSERT_EQ(exits[1]!.attrs, KVM_MAP_GPA_RANGE_ENCRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_2M);
  ASSERT_EQ(exits[2]!.gpa, gpa + 4n * M);
  ASSERT_EQ(exits[2]!.npages, 2n);
  ASSERT_EQ(exits[2]!.attrs, KVM_MAP_GPA_RANGE_ENCRYPTED);
  ASSERT_EQ(exits[3]!.gpa, gpa + 8n * M);
  ASSERT_EQ(exits[3]!.npages, 1n);
});

TEST('scenario_15_vmm_refuses_psc', async () => {
  const { vcpu } = cocoVmCreate('snp', (g, base) => {
    snpPscMsr(g, base, true, GHCB_MSR_PSC_RESP_ERROR);
    snpPsc(g, [{ gfn: (base >> 12n) + 1n, toPrivate: true, huge: false }], VMGEXIT_PSC_ERROR_GENERIC);
    g.done();
  });
  const exits = await serve(vcpu, 1n);
  ASSERT_EQ(exits.length, 2);
  expectDone(vcpu);
});

TEST('scenario_16_private_access_without_pvalidate', async () => {
  const { vcpu } = cocoVmCreate('snp', (g, base) => {
    snpPscMsr(g, base, true);
    g.memset(base, 8, 0x11, { view: 'private' });
    g.done();
  });
  await serve(vcpu);
  // #VC "page not validated": guest-fatal, reported as a termination request, not a memory-fault exit.
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_SYSTEM_EVENT);
  ASSERT_EQ(vcpu.run.systemEventType, KVM_SYSTEM_EVENT_SEV_TERM);
});

TEST('scenario_17_pvalidate_4k_inside_2m_rmp_entry', async () => {
  const { vcpu } = cocoVmCreate('snp', (g, base) => {
    snpPsc(g, [{ gfn: base >> 12n, toPrivate: true, huge: true }]);
    // The instruction alone reports the size mismatch...
    snpPvalidate(g, base + 4096n, { onSizeMismatch: 'return', expect: PVALIDATE_FAIL_SIZEMISMATCH });
    // ...through the #NPF path KVM PSMASHes the entry and the retry succeeds.
    snpPvalidate(g, base + 4096n);
    // The entry is 4K now: a 2M PVALIDATE no longer fits.
    snpPvalidate(g, base, { size: '2M', expect: PVALIDATE_FAIL_SIZEMISMATCH });
    g.memset(base + 4096n, 4096, 0x17, { view: 'private' });
    g.memcmp(base + 4096n, 4096, 0x17, { view: 'private' });
    g.done();
  }, { npages: 512, hardware: { largeFolios: true } });
  await serve(vcpu);
  expectDone(vcpu);
});

void TEST_HARNESS_MAIN();
