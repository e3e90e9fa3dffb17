import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { SERIES_VM_TYPES, setup } from './helpers.js';
import { createModelBackend } from '../../../../lib/kvm/model/index.js';
import { KvmSystem } from '../../../../lib/kvm/handles.js';
import { EBADF, EEXIST, EINVAL, ENOENT, ENOTTY } from '../../../../lib/kvm/errno.js';
import {
  KVM_CAP_EXIT_HYPERCALL, KVM_CAP_GUEST_MEMFD, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_MEMORY_ATTRIBUTES,
  KVM_CAP_MEMORY_FAULT_INFO, KVM_CAP_NR_MEMSLOTS, KVM_CAP_PRE_FAULT_MEMORY, KVM_CAP_USER_MEMORY2, KVM_CAP_VM_TYPES,
  KVM_CREATE_VM, KVM_GET_VCPU_MMAP_SIZE, KVM_VCPU_MMAP_SIZE, KVM_SET_MEMORY_ATTRIBUTES, KVM_RUN,
} from '../../../../lib/kvm/uapi.js';

t.test('/dev/kvm open, missing device → ENOENT, bad fds → EBADF', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  t.ok(b.open('/dev/kvm').ret >= 3);
  t.same(createModelBackend({ devKvm: false }).open('/dev/kvm'), { ret: -1, errno: ENOENT });
  t.same(b.open('/dev/nope'), { ret: -1, errno: ENOENT });
  t.same(b.ioctl(99, KVM_CREATE_VM, 0), { ret: -1, errno: EBADF });
  t.same(b.close(-1), { ret: -1, errno: EBADF });
  t.same(b.ioctl(Number.NaN, KVM_CREATE_VM, 0), { ret: -1, errno: EBADF });
  const fd = b.open('/dev/kvm').ret;
  t.same(b.close(fd), { ret: 0, errno: 0 });
  t.same(b.close(fd), { ret: -1, errno: EBADF });
  t.equal(b.description, 'model (kernel 6.18)');
  t.throws(() => createModelBackend({ kernel: '5.4' as '6.18' }), /unknown kernel profile '5.4'/);
});

t.test('#13 KVM_CREATE_VM with an unsupported type or type >= 32 → EINVAL', async (t) => {
  const { sys } = setup();
  for (const type of [6, 7, 31, 32, 33, 64, 1 << 31, -1, 2 ** 40]) {
    t.same(sys.__createVm(type).res, { ret: -1, errno: EINVAL }, `type ${type}`);
  }
  for (const type of [0, 1, 2, 3, 4, 5]) t.ok(sys.__createVm(type).res.ret >= 0, `type ${type} ok`);
  t.same(sys.__ioctl(KVM_CREATE_VM, new Uint8Array(8)), { ret: -1, errno: EINVAL }, 'a pointer is not a type');
});

t.test('#14 KVM_CAP_VM_TYPES is the bitmap of supported types (SW_PROTECTED = bit 1)', async (t) => {
  const { sys, vm } = setup();
  t.same(sys.__checkExtension(KVM_CAP_VM_TYPES), { ret: 0x3f | SERIES_VM_TYPES, errno: 0 });
  t.equal(sys.__checkExtension(KVM_CAP_VM_TYPES).ret & 2, 2);
  t.equal(vm.__checkExtension(KVM_CAP_VM_TYPES).ret, 0x3f | SERIES_VM_TYPES);
});

t.test('#15 KVM_CAP_MEMORY_ATTRIBUTES: 8 on SW_PROTECTED, 0 on default, 8 at system scope', async (t) => {
  const { sys, vm } = setup(0);
  t.equal(vm.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 0);
  t.equal(sys.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 8);
  t.equal(sys.__createVm(1).vm!.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 8);
  t.equal(sys.__createVm(4).vm!.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 8, 'SNP');
  t.equal(sys.__createVm(5).vm!.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 8, 'TDX');
  t.equal(sys.__createVm(2).vm!.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 0, 'SEV has no private mem');
});

t.test('#16 KVM_CAP_EXIT_HYPERCALL → 0x1000; KVM_ENABLE_CAP with other bits → EINVAL', async (t) => {
  const { sys, vm } = setup(1);
  t.equal(sys.__checkExtension(KVM_CAP_EXIT_HYPERCALL).ret, 0x1000);
  t.equal(vm.__checkExtension(KVM_CAP_EXIT_HYPERCALL).ret, 0x1000);
  t.same(vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [0x1000]), { ret: 0, errno: 0 });
  t.same(vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [0]), { ret: 0, errno: 0 });
  for (const bits of [0x1001n, 0x2000n, 1n, 1n << 63n, -1n]) t.same(vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [bits]), { ret: -1, errno: EINVAL }, `bits ${bits}`);
  t.same(vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [0x1000], 1), { ret: -1, errno: EINVAL }, 'flags != 0');
  t.same(vm.__enableCap(KVM_CAP_MEMORY_FAULT_INFO, [1]), { ret: -1, errno: EINVAL }, 'MEMORY_FAULT_INFO cannot be enabled');
  t.same(vm.__ioctl(0x4068aea3, 5), { ret: -1, errno: 14 }, 'integer instead of struct → EFAULT');
});

t.test('capabilities at system and VM scope', async (t) => {
  const { sys, vm } = setup(0);
  for (const [cap, v] of [[KVM_CAP_IMMEDIATE_EXIT, 1], [KVM_CAP_USER_MEMORY2, 1], [KVM_CAP_MEMORY_FAULT_INFO, 1], [KVM_CAP_PRE_FAULT_MEMORY, 1],
    [KVM_CAP_NR_MEMSLOTS, 32764], [KVM_CAP_GUEST_MEMFD, 1], [KVM_CAP_GUEST_MEMFD_FLAGS, 3], [999, 0]] as const) {
    t.equal(sys.__checkExtension(cap).ret, v, `system cap ${cap}`);
    t.equal(vm.__checkExtension(cap).ret, v, `vm cap ${cap}`);
  }
  t.same(sys.__getVcpuMmapSize(), { ret: KVM_VCPU_MMAP_SIZE, errno: 0 });
  t.same(sys.__ioctl(KVM_GET_VCPU_MMAP_SIZE, 1), { ret: -1, errno: EINVAL });
  t.same(sys.__ioctl(0xae00, 0), { ret: 12, errno: 0 }, 'KVM_GET_API_VERSION');
  t.same(sys.__ioctl(0x1234), { ret: -1, errno: EINVAL }, 'unknown /dev/kvm ioctl');
  t.same(vm.__ioctl(0x1234), { ret: -1, errno: ENOTTY }, 'unknown VM ioctl');
  t.same(sys.__ioctl(KVM_SET_MEMORY_ATTRIBUTES, new Uint8Array(32)), { ret: -1, errno: EINVAL }, 'VM ioctl on /dev/kvm');
});

t.test('6.12 profile: KVM_CAP_GUEST_MEMFD = has_private_mem at VM scope, no FLAGS cap', async (t) => {
  const { sys, vm } = setup(0, '6.12');
  t.equal(sys.__checkExtension(KVM_CAP_GUEST_MEMFD).ret, 1);
  t.equal(vm.__checkExtension(KVM_CAP_GUEST_MEMFD).ret, 0);
  t.equal(sys.__createVm(1).vm!.__checkExtension(KVM_CAP_GUEST_MEMFD).ret, 1);
  t.equal(sys.__checkExtension(KVM_CAP_GUEST_MEMFD_FLAGS).ret, 0);
});

t.test('KVM_CREATE_VCPU: ids, duplicates, vCPU ioctls, KVM_RUN via ioctl', async (t) => {
  const { vm, b } = setup(0);
  const a = vm.__createVcpu(0);
  t.ok(a.vcpu);
  t.same(vm.__createVcpu(0).res, { ret: -1, errno: EEXIST });
  t.same(vm.__createVcpu(16384).res, { ret: -1, errno: EINVAL }, 'KVM_MAX_VCPU_IDS: 4096 vCPUs * 4 under MAXSMP');
  t.ok(vm.__createVcpu(4096).vcpu, 'a sparse x2APIC id below KVM_MAX_VCPU_IDS');
  t.same(vm.__createVcpu(-1).res, { ret: -1, errno: EINVAL });
  const v = a.vcpu!;
  t.same(v.__setRegs({ rdi: 0x1234n, rax: -1n }), { ret: 0, errno: 0 });
  const r = v.__getRegs();
  t.equal(r.regs!.rdi, 0x1234n);
  t.equal(r.regs!.rax, (1n << 64n) - 1n);
  t.equal(r.regs!.rflags, 2n);
  t.same(v.__ioctl(0x8090ae81, 0), { ret: -1, errno: 14 }, 'GET_REGS without a buffer → EFAULT');
  t.same(v.__ioctl(KVM_RUN), { ret: -1, errno: ENOTTY }, 'KVM_RUN goes through kvmRun()');
  t.same(v.__ioctl(0x1234), { ret: -1, errno: EINVAL });
  t.equal(b.kvmRunView(v.fd).byteLength, KVM_VCPU_MMAP_SIZE);
  t.same(await b.kvmRun(vm.fd), { ret: -1, errno: ENOTTY }, 'KVM_RUN on a VM fd');
  t.same(await b.kvmRun(12345), { ret: -1, errno: EBADF });
});

t.test('VM lifetime: vCPU keeps the VM alive after the VM fd is closed', async (t) => {
  const { vm } = setup(0);
  const v = vm.__createVcpu(0).vcpu!;
  t.same(vm.__close(), { ret: 0, errno: 0 });
  t.same(v.__getRegs().res, { ret: 0, errno: 0 });
});

t.test('dup shares the description; fstat of kvm files', async (t) => {
  const { b, sys, vm } = setup(0);
  const d = b.dup(vm.fd).ret;
  t.ok(d > vm.fd);
  vm.__close();
  t.ok(b.ioctl(d, 0xae03, KVM_CAP_USER_MEMORY2).ret === 1, 'the dup still reaches the VM');
  t.equal(sys.__fstat().stat!.mode & 0o170000, 0o020000, '/dev/kvm is a character device');
  t.same(b.dup(777), { ret: -1, errno: EBADF });
  t.same(KvmSystem.__open(createModelBackend({ devKvm: false })).res, { ret: -1, errno: ENOENT });
});

t.test('KVM_CHECK_EXTENSION takes a long: high bits name no capability (oracle: 0x10000000a → 0); KVM_CAP_MULTI_ADDRESS_SPACE', async (t) => {
  const { sys, vm } = setup();
  for (const h of [sys, vm]) {
    t.equal(h.__checkExtension(KVM_CAP_NR_MEMSLOTS).ret, 32764);
    t.same(h.__ioctl(0xae03, (1n << 32n) + 10n), { ret: 0, errno: 0 });
    t.same(h.__ioctl(0xae03, (1n << 63n) + 10n), { ret: 0, errno: 0 });
    t.same(h.__ioctl(0xae03, -1n), { ret: 0, errno: 0 });
  }
  t.equal(sys.__checkExtension(118).ret, 2, 'KVM_MAX_NR_ADDRESS_SPACES with SMM');
  t.equal(vm.__checkExtension(118).ret, 2, 'default VM: SMM address space');
  t.equal(setup(1).vm.__checkExtension(118).ret, 1, 'SW_PROTECTED: private memory, no SMM (kvm_arch_nr_memslot_as_ids)');
});
