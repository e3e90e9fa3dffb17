/**
 * describeExit() (lib/kvm_util/exit_info.ts): an MMIO exit says where the
 * address is, from every memslot set through kvm_util (raw calls
 * included): outside all of them, a write a read-only slot refused, or
 * inside one, which a correct KVM serves from memory (the PVM host of
 * kvm_backend.test.ts does exit there). The exits here are written into
 * kvm_run by hand: the model serves every access inside a slot.
 */
import t from 'tap';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import {
  KVM_EXIT_HYPERCALL, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_HC_MAP_GPA_RANGE, KVM_MEM_GUEST_MEMFD, KVM_MEM_READONLY, KVM_X86_SW_PROTECTED_VM,
} from '../../../lib/kvm/uapi.js';
import {
  describeExit, kvmVmFree, setKvmBackend, vmCreateGuestMemfd, vmCreateShapeWithOneVcpu, vmMemSetPrivate, vmSetUserMemoryRegion2, vmShape,
  vmUserspaceMemRegionAdd, VM_MEM_SRC_ANONYMOUS, type KvmVcpu,
} from '../../../lib/kvm_util/index.js';

function mmio(vcpu: KvmVcpu, gpa: bigint, write: boolean): void {
  const dv = new DataView(vcpu.run.bytes.buffer, vcpu.run.bytes.byteOffset, vcpu.run.bytes.byteLength);
  vcpu.run.exitReason = KVM_EXIT_MMIO;
  dv.setBigUint64(32, gpa, true);
  dv.setUint32(48, 8, true);
  dv.setUint8(52, write ? 1 : 0);
}

t.test('MMIO: outside every slot, a read-only slot refusing a write, inside a slot', async (t) => {
  setKvmBackend(createModelBackend({ kernel: '6.18' }));
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(0));
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, 1n << 32n, 10, 1, KVM_MEM_READONLY);
  // A raw slot kvm_util does not track as a region: guest_memfd only.
  const fd = vmCreateGuestMemfd(vm, 4096, 0);
  vmSetUserMemoryRegion2(vm, 11, KVM_MEM_GUEST_MEMFD, 2n << 32n, 4096, 0, fd, 0);
  mmio(vcpu, 0xc0000000n, true);
  t.equal(describeExit(vcpu), 'vCPU 0: KVM_EXIT_MMIO (6): write of 8 bytes at gpa 0xc0000000, outside every memslot (a guest access no memslot covers exits as MMIO)');
  mmio(vcpu, 1n << 32n, true);
  t.equal(describeExit(vcpu), 'vCPU 0: KVM_EXIT_MMIO (6): write of 8 bytes at gpa 0x100000000, a write to read-only slot 10');
  mmio(vcpu, 2n << 32n, false);
  t.equal(describeExit(vcpu), 'vCPU 0: KVM_EXIT_MMIO (6): read of 8 bytes at gpa 0x200000000, inside slot 11, guest_memfd only (userspace_addr 0): KVM should have served it from memory');
  vmSetUserMemoryRegion2(vm, 11, KVM_MEM_GUEST_MEMFD, 2n << 32n, 0, 0, fd, 0);
  t.match(describeExit(vcpu), /outside every memslot/, 'a deleted slot is gone from the record');
  kvmVmFree(vm);
  setKvmBackend(undefined);
});

t.test('hypercall and memory-fault exits carry their range and direction', async (t) => {
  setKvmBackend(createModelBackend({ kernel: '6.18' }));
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(KVM_X86_SW_PROTECTED_VM));
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, 1n << 32n, 10, 2, KVM_MEM_GUEST_MEMFD);
  vmMemSetPrivate(vm, 1n << 32n, 4096);
  vcpu.run.exitReason = KVM_EXIT_HYPERCALL;
  vcpu.run.setHypercall(BigInt(KVM_HC_MAP_GPA_RANGE), [1n << 32n, 2n, 0x10n], 0n);
  t.equal(describeExit(vcpu), 'vCPU 0: KVM_EXIT_HYPERCALL (3): KVM_HC_MAP_GPA_RANGE gpa 0x100000000 npages 2 attrs 0x10 (to private)');
  vcpu.run.exitReason = KVM_EXIT_MEMORY_FAULT;
  vcpu.run.setMemoryFault(8n, 1n << 32n, 4096n);
  t.equal(describeExit(vcpu), 'vCPU 0: KVM_EXIT_MEMORY_FAULT (39): gpa 0x100000000 size 0x1000 flags 0x8 (private access); ' +
    'page states (as last requested by the test): >0x100000000 private, 0x100001000 shared');
  kvmVmFree(vm);
  setKvmBackend(undefined);
});
