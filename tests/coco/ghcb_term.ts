/**
 * What sev_smoke_test asserts when an SEV-ES or SNP guest ends itself
 * through the GHCB MSR protocol, shared by the sev_es and snp collections.
 */
import { ASSERT_EQ } from '../../lib/harness/index.js';
import { _vcpuRun, type KvmVcpu } from '../../lib/kvm_util/index.js';

/**
 * KVM_RUN ends with the termination request: KVM_EXIT_SYSTEM_EVENT (24) of
 * type KVM_SYSTEM_EVENT_SEV_TERM (6), ndata 1, data[0] the whole GHCB MSR
 * value (sev_handle_vmgexit_msr_protocol()). The numbers are written out as
 * the upstream test's view of include/uapi/linux/kvm.h.
 */
export async function expectSevTerm(vcpu: KvmVcpu, msr: bigint): Promise<void> {
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(vcpu.run.exitReason, 24);
  ASSERT_EQ(vcpu.run.systemEventType, 6);
  ASSERT_EQ(vcpu.run.systemEventNdata, 1);
  ASSERT_EQ(vcpu.run.systemEventData(0), msr);
}
