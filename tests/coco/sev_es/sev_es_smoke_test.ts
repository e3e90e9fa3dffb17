/**
 * sev_smoke_test's SEV-ES half on the model (reference/kselftest.md §4.6,
 * checklist item 58): a launched SEV-ES guest ends itself through the GHCB
 * MSR protocol (GHCB_MSR_TERM_REQ in MSR_AMD64_SEV_ES_GHCB, then VMGEXIT)
 * and the VMM sees KVM_EXIT_SYSTEM_EVENT with type KVM_SYSTEM_EVENT_SEV_TERM,
 * ndata 1 and the MSR value in data[0] (sev_handle_vmgexit_msr_protocol()).
 */
import { KVM_EXIT_SHUTDOWN } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN, TH_LOG } from '../../../lib/harness/index.js';
import { _vcpuRun, hostFill, type KvmVcpu } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate } from '../../../lib/kvm_util/coco.js';
import { sevEsGhcbTerminate } from '../../../platforms/sev/guest.js';
import { vmSevLaunch } from '../../../platforms/sev/host.js';
import {
  GHCB_TERM_PSC, SEV_POLICY_ES, SEV_POLICY_NO_DBG, SEV_TERM_SET_LINUX,
} from '../../../platforms/sev/uapi.js';
import { expectSevTerm } from '../ghcb_term.js';

const PAYLOAD = 0x5a;

/**
 * An SEV-ES guest launched with `policy` whose code first checks the page
 * the launch encrypted (so it really ran, with its key) and then asks for
 * termination with the given reason.
 */
function launchTerminatingGuest(policy: number, reasonSet?: number, reasonCode?: number): KvmVcpu {
  const c = cocoVmCreate('sev_es', (g, base) => {
    g.memcmp(base, 4096, PAYLOAD, { view: 'private' });
    sevEsGhcbTerminate(g, reasonSet, reasonCode);
    // Not reached: the run ends at the request.
    g.done();
  }, { npages: 1, gmem: false });
  hostFill(c.region!.hva, 4096, PAYLOAD);
  vmSevLaunch(c.vm, policy, [{ hva: c.region!.hva, len: 4096 }], true);
  return c.vcpu;
}

TEST('item_58_ghcb_msr_termination', async () => {
  // test_sev(guest_sev_es_code, SEV_POLICY_ES | SEV_POLICY_NO_DBG) and (SEV_POLICY_ES).
  for (const policy of [SEV_POLICY_ES | SEV_POLICY_NO_DBG, SEV_POLICY_ES]) {
    TH_LOG(`policy 0x${policy.toString(16)}`);
    const vcpu = launchTerminatingGuest(policy);
    // data[0] = GHCB_MSR_TERM_REQ (0x100): reason set 0, code 0.
    await expectSevTerm(vcpu, 0x100n);
  }
});

TEST('item_58_ghcb_msr_termination_carries_the_reason', async () => {
  // data[0] is the whole MSR: reason set in bits 15:12, reason code in 23:16.
  const vcpu = launchTerminatingGuest(SEV_POLICY_ES | SEV_POLICY_NO_DBG, SEV_TERM_SET_LINUX, GHCB_TERM_PSC);
  await expectSevTerm(vcpu, 0x11100n);
  const top = launchTerminatingGuest(SEV_POLICY_ES | SEV_POLICY_NO_DBG, 0xf, 0xff);
  await expectSevTerm(top, 0xfff100n);
});

TEST('item_58_plain_sev_has_no_ghcb_msr_protocol', async () => {
  // A plain SEV guest has no GHCB: KVM intercepts MSR_AMD64_SEV_ES_GHCB for
  // non-ES guests and implements no such MSR, so the WRMSR takes #GP; with
  // no handler the guest triple-faults and shutdown_interception() reports
  // KVM_EXIT_SHUTDOWN for a non-ES guest. No system event, no MSR value.
  const c = cocoVmCreate('sev', (g, base) => {
    g.memcmp(base, 4096, PAYLOAD, { view: 'private' });
    sevEsGhcbTerminate(g);
    g.done();
  }, { npages: 1, gmem: false });
  hostFill(c.region!.hva, 4096, PAYLOAD);
  vmSevLaunch(c.vm, SEV_POLICY_NO_DBG, [{ hva: c.region!.hva, len: 4096 }]);
  const r = await _vcpuRun(c.vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(c.vcpu.run.exitReason, KVM_EXIT_SHUTDOWN);
});

void TEST_HARNESS_MAIN();
