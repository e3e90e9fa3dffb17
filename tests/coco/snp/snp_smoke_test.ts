/**
 * sev_smoke_test's SNP half on the model (reference/kselftest.md §4.6,
 * checklist item 58): a launched SNP guest ends itself through the GHCB MSR
 * protocol, as an SEV-ES guest does, and the VMM sees
 * KVM_EXIT_SYSTEM_EVENT(KVM_SYSTEM_EVENT_SEV_TERM) with ndata 1 and the
 * MSR value in data[0] (sev_handle_vmgexit_msr_protocol()).
 */
import { TEST, TEST_HARNESS_MAIN, TH_LOG } from '../../../lib/harness/index.js';
import { vmMemSetPrivate, type KvmVcpu } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, sourcePage } from '../../../lib/kvm_util/coco.js';
import { sevEsGhcbTerminate } from '../../../platforms/sev/guest.js';
import { GHCB_SEV_ES_PROT_UNSUPPORTED, SEV_TERM_SET_GEN } from '../../../platforms/sev/uapi.js';
import { SNP_POLICY_DEFAULT, snpLaunchFinish, snpLaunchStart, snpLaunchUpdate } from '../../../platforms/snp/host.js';
import { KVM_SEV_SNP_PAGE_TYPE_NORMAL } from '../../../platforms/snp/uapi.js';
import { expectSevTerm } from '../ghcb_term.js';

const PAYLOAD = 0x58;
/** SNP guest policy bit 19: debugging allowed (SNP_POLICY_DBG in the selftests' sev.h). */
const SNP_POLICY_DBG = 1n << 19n;

/**
 * An SNP guest whose launched private page it checks first (it ran, on a
 * page the firmware validated) before asking for termination.
 */
function launchTerminatingGuest(policy: bigint, reasonSet?: number, reasonCode?: number): KvmVcpu {
  const { vm, vcpu, gpa } = cocoVmCreate('snp', (g, base) => {
    g.memcmp(base, 4096, PAYLOAD, { view: 'private' });
    sevEsGhcbTerminate(g, reasonSet, reasonCode);
    // Not reached: the run ends at the request.
    g.done();
  }, { npages: 1 });
  snpLaunchStart(vm, policy);
  vmMemSetPrivate(vm, gpa, 4096);
  snpLaunchUpdate(vm, { gfnStart: gpa >> 12n, uaddr: sourcePage(PAYLOAD), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  snpLaunchFinish(vm);
  return vcpu;
}

TEST('item_58_ghcb_msr_termination', async () => {
  // test_sev_smoke(guest_snp_code, KVM_X86_SNP_VM, snp_default_policy()), with and without SNP_POLICY_DBG.
  for (const policy of [SNP_POLICY_DEFAULT, SNP_POLICY_DEFAULT | SNP_POLICY_DBG]) {
    TH_LOG(`policy 0x${policy.toString(16)}`);
    // data[0] = GHCB_MSR_TERM_REQ (0x100): reason set 0, code 0.
    await expectSevTerm(launchTerminatingGuest(policy), 0x100n);
  }
});

TEST('item_58_ghcb_msr_termination_carries_the_reason', async () => {
  // What a guest sends when the hypervisor's GHCB protocol range does not fit:
  // set 0 (general), code 1 (GHCB_SEV_ES_PROT_UNSUPPORTED) → 0x10100.
  await expectSevTerm(launchTerminatingGuest(SNP_POLICY_DEFAULT, SEV_TERM_SET_GEN, GHCB_SEV_ES_PROT_UNSUPPORTED), 0x10100n);
});

void TEST_HARNESS_MAIN();
