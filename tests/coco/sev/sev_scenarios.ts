/**
 * SEV and SEV-ES scenarios (reference/platforms.md §2.2, §2.3; scenarios 1,
 * 2, 9, 18, 32), shared by the sev and sev_es collections: the two types
 * have the same memory model and differ in the launch (UPDATE_VMSA).
 */
import { EINVAL, EIO, ENODEV } from '../../../lib/kvm/errno.js';
import {
  KVM_CAP_MEMORY_ATTRIBUTES, KVM_MEMORY_ATTRIBUTE_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_ABORT, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_NE, ASSERT_TRUE, TEST } from '../../../lib/harness/index.js';
import {
  __vmSetMemoryAttributes, hostFill, hostRead, hostWrite, mmap, vmCheckCap, vmCreateBarebonesType, vmCreateGuestMemfd,
} from '../../../lib/kvm_util/index.js';
import { sha, toHex } from '../../../lib/platform/digest.js';
import { cocoVmCreate, runToUcall, sourcePage, usePlatform } from '../../../lib/kvm_util/coco.js';
import { sevSetCbit } from '../../../platforms/sev/guest.js';
import {
  __sevIoctl, __vmSevLaunchUpdateData, vmSevLaunch, vmSevLaunchFinish, vmSevLaunchMeasure, vmSevLaunchStart,
  vmSevLaunchUpdateData, vmSevLaunchUpdateVmsa,
} from '../../../platforms/sev/host.js';
import { sevMeasurement, sevTikFromSession, DEFAULT_SEV_API } from '../../../platforms/sev/launch.js';
import { sevVmsaImage } from '../../../platforms/sev/model.js';
import { KVM_SEV_INIT2, SEV_POLICY_ES, SEV_POLICY_NO_DBG, SEV_RET_INVALID_GUEST_STATE, encodeSevInit } from '../../../platforms/sev/uapi.js';
import { gmemFlagsAboveReported } from '../scenarios.js';

export function sevScenarios(name: 'sev' | 'sev_es'): void {
  const es = name === 'sev_es';
  const policy = SEV_POLICY_NO_DBG | (es ? SEV_POLICY_ES : 0);
  const launch = (c: ReturnType<typeof cocoVmCreate>): Uint8Array =>
    vmSevLaunch(c.vm, policy, [{ hva: c.region!.hva, len: 4096 }], es);

  TEST('scenario_01_in_place_launch_under_inaccessible_policy', () => {
    // KVM_SEV_INIT2 already ran in cocoVmCreate(), before its vCPU.
    const { vm } = cocoVmCreate(name, undefined, { npages: 1, gmem: false });
    vmSevLaunchStart(vm, policy);
    // Private memory that is inaccessible from creation: a guest_memfd without MMAP.
    const gmem = vmCreateGuestMemfd(vm, 4096, 0n);
    const m = mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
    // The VMM cannot place the plaintext, so LAUNCH_UPDATE_DATA never starts...
    ASSERT_EQ(m.errno, ENODEV);
    // ...and there is no address KVM could pin for it either.
    const r = __vmSevLaunchUpdateData(vm, 0x7f0000000000n, 4096);
    ASSERT_EQ(r.ret, -1);
  });

  TEST('scenario_01_in_place_launch_with_vmm_writable_memory', async () => {
    const c = cocoVmCreate(name, (g, base) => {
      g.memcmp(base, 4096, 0x5a, { view: 'private' });
      g.done();
    }, { npages: 1, gmem: false });
    hostFill(c.region!.hva, 4096, 0x5a);
    launch(c);
    // Encrypted in place: the host now sees ciphertext, the guest plaintext.
    ASSERT_NE(hostRead(c.region!.hva, 16)[0], 0x5a);
    await runToUcall(c.vcpu, UCALL_DONE);
  });

  TEST('launch_measurement_matches_guest_owner', () => {
    const c = cocoVmCreate(name, undefined, { npages: 1, gmem: false });
    hostFill(c.region!.hva, 4096, 0x42);
    const session = sourcePage(0x99);
    vmSevLaunchStart(c.vm, policy, { uaddr: session, len: 64 });
    vmSevLaunchUpdateData(c.vm, c.region!.hva, 4096);
    if (es) vmSevLaunchUpdateVmsa(c.vm);
    const blob = vmSevLaunchMeasure(c.vm);
    vmSevLaunchFinish(c.vm);
    const payload = new Uint8Array(4096).fill(0x42);
    const ld = es ? sha('sha256', payload, sevVmsaImage(0)) : sha('sha256', payload);
    const tik = sevTikFromSession(new Uint8Array(64).fill(0x99));
    const want = sevMeasurement(tik, DEFAULT_SEV_API, policy, ld, blob.subarray(32, 48));
    ASSERT_EQ(toHex(blob.subarray(0, 32)), toHex(want));
  });

  TEST('scenario_02_gmem_private_attribute_refused', () => {
    const { vm, gpa } = cocoVmCreate(name, undefined, { npages: 1, gmem: false });
    // has_private_mem = false: no supported attributes...
    ASSERT_EQ(vmCheckCap(vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
    // ...so PRIVATE is EINVAL, and a private guest_memfd is of no use.
    const r = __vmSetMemoryAttributes(vm, gpa, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  });

  TEST('scenario_09_launch_update_after_finish', () => {
    const c = cocoVmCreate(name, undefined, { npages: 2, gmem: false });
    launch(c);
    const r = __vmSevLaunchUpdateData(c.vm, c.region!.hva + 4096n, 4096);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EIO);
    ASSERT_EQ(r.fwError, SEV_RET_INVALID_GUEST_STATE);
  });

  TEST('scenario_18_host_write_is_silent_corruption', async () => {
    const c = cocoVmCreate(name, (g, base) => {
      g.memset(base, 4096, 0x33, { view: 'private' });
      g.sync(1);
      // Expects what the host wrote; C=1 decrypts it to garbage instead.
      g.memcmp(base, 4096, 0x77, { view: 'private' });
      g.done();
    }, { npages: 1, gmem: false });
    launch(c);
    await runToUcall(c.vcpu, UCALL_SYNC);
    // The host reads ciphertext, not 0x33, and nothing faults.
    const seen = hostRead(c.region!.hva, 4096);
    ASSERT_TRUE(seen.some((b) => b !== 0x33));
    hostWrite(c.region!.hva, new Uint8Array(4096).fill(0x77));
    // The guest's own assert fails: it read garbage, not a fault or an exit.
    const uc = await runToUcall(c.vcpu, UCALL_ABORT);
    ASSERT_TRUE(uc.buffer.includes('Guest expected 0x77'));
  });

  TEST('c_bit_clear_read_sees_ciphertext', async () => {
    const c = cocoVmCreate(name, (g, base) => {
      g.memset(base, 4096, 0x21, { view: 'private' });
      sevSetCbit(g, base, 4096, false);
      g.memcmp(base, 4096, 0x21);
      g.done();
    }, { npages: 1, gmem: false });
    launch(c);
    await runToUcall(c.vcpu, UCALL_ABORT);
  });

  TEST('sev_init2_on_other_vm_types', () => {
    // sev_init2_tests: KVM_SEV_INIT2 on a default or SW_PROTECTED VM is EINVAL.
    for (const other of ['default', 'sw_protected']) {
      const { vm } = cocoVmCreate(other, undefined, { npages: 0 });
      const r = __sevIoctl(vm, KVM_SEV_INIT2, encodeSevInit());
      ASSERT_EQ(r.ret, -1);
      ASSERT_EQ(r.errno, EINVAL);
    }
    // Flags must be zero: on a VM not yet initialised and without vCPUs, so
    // that nothing but the flag can be the reason.
    const vm = vmCreateBarebonesType(usePlatform(name).vmType);
    ASSERT_EQ(__sevIoctl(vm, KVM_SEV_INIT2, encodeSevInit({ flags: 1 })).errno, EINVAL);
    ASSERT_EQ(__sevIoctl(vm, KVM_SEV_INIT2, encodeSevInit()).ret, 0);
  });

  TEST('scenario_32_gmem_flags_above_reported', () => {
    gmemFlagsAboveReported(name);
  });
}
