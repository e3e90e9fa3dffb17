import t from 'tap';
import { encodeUserspaceMemoryRegion2, SIZEOF_KVM_USERSPACE_MEMORY_REGION2, decodeUserspaceMemoryRegion2 } from '../../../lib/kvm/structs.js';
import {
  KVM_SET_USER_MEMORY_REGION2, KVM_CREATE_GUEST_MEMFD, KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_USER_MEMORY_REGION,
  KVM_PRE_FAULT_MEMORY, KVM_ENABLE_CAP, KVM_RUN_SIZE, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_RUN, KVM_MEMORY_ENCRYPT_OP,
  KVM_GET_REGS, KVM_SET_REGS, SIZEOF_UCALL,
} from '../../../lib/kvm/uapi.js';
import {
  SIZEOF_KVM_MEMORY_ATTRIBUTES, SIZEOF_KVM_CREATE_GUEST_MEMFD, SIZEOF_KVM_PRE_FAULT_MEMORY, SIZEOF_KVM_ENABLE_CAP,
  encodeMemoryAttributes, encodeCreateGuestMemfd, encodePreFaultMemory, encodeEnableCap,
} from '../../../lib/kvm/structs.js';
import { KvmRun } from '../../../lib/kvm/kvm_run.js';


t.test('kvm_userspace_memory_region2 layout', async (t) => {
  const b = encodeUserspaceMemoryRegion2({ slot: 10, flags: 4, guestPhysAddr: 0xc0000000n, memorySize: 0x200000n, userspaceAddr: 0, guestMemfdOffset: 4096, guestMemfd: 7 });
  t.equal(b.byteLength, SIZEOF_KVM_USERSPACE_MEMORY_REGION2);
  const dv = new DataView(b.buffer);
  t.equal(dv.getUint32(0, true), 10);
  t.equal(dv.getBigUint64(8, true), 0xc0000000n);
  t.equal(dv.getBigUint64(32, true), 4096n);
  t.equal(dv.getUint32(40, true), 7);
  t.equal(decodeUserspaceMemoryRegion2(b).memorySize, 0x200000n);
});

/** _IOC(dir, 'KVMIO', nr, size) as include/uapi/asm-generic/ioctl.h builds it. */
const ioc = (dir: number, nr: number, size: number): number => ((dir << 30) | (size << 16) | (0xae << 8) | nr) >>> 0;

t.test('#61 uAPI numbers, struct sizes and kvm_run offsets', async (t) => {
  t.equal(KVM_SET_USER_MEMORY_REGION2, 0x40a0ae49);
  t.equal(KVM_SET_USER_MEMORY_REGION2, ioc(1, 0x49, 160));
  t.equal(KVM_SET_USER_MEMORY_REGION, ioc(1, 0x46, 32));
  t.equal(KVM_CREATE_GUEST_MEMFD, 0xc040aed4);
  t.equal(KVM_CREATE_GUEST_MEMFD, ioc(3, 0xd4, 64));
  t.equal(KVM_SET_MEMORY_ATTRIBUTES, 0x4020aed2);
  t.equal(KVM_SET_MEMORY_ATTRIBUTES, ioc(1, 0xd2, 32));
  t.equal(KVM_PRE_FAULT_MEMORY, ioc(3, 0xd5, 64));
  t.equal(KVM_ENABLE_CAP, ioc(1, 0xa3, 104));
  t.equal(KVM_MEMORY_ENCRYPT_OP, ioc(3, 0xba, 8));
  t.equal(KVM_GET_REGS, ioc(2, 0x81, 144));
  t.equal(KVM_SET_REGS, ioc(1, 0x82, 144));
  t.equal(KVM_CREATE_VM, 0xae01);
  t.equal(KVM_CHECK_EXTENSION, 0xae03);
  t.equal(KVM_RUN, 0xae80);
  t.equal(SIZEOF_KVM_MEMORY_ATTRIBUTES, 32);
  t.equal(SIZEOF_KVM_CREATE_GUEST_MEMFD, 64);
  t.equal(SIZEOF_KVM_PRE_FAULT_MEMORY, 64);
  t.equal(SIZEOF_KVM_ENABLE_CAP, 104);
  t.equal(SIZEOF_UCALL, 1096);
  t.equal(KVM_RUN_SIZE, 2352);
  const a = new DataView(encodeMemoryAttributes({ address: 1, size: 2, attributes: 3, flags: 4 }).buffer);
  t.same([0, 8, 16, 24].map((o) => a.getBigUint64(o, true)), [1n, 2n, 3n, 4n]);
  const g = new DataView(encodeCreateGuestMemfd({ size: 5, flags: 6, reserved: [7] }).buffer);
  t.same([0, 8, 16].map((o) => g.getBigUint64(o, true)), [5n, 6n, 7n]);
  const p = new DataView(encodePreFaultMemory({ gpa: 8, size: 9, flags: 10 }).buffer);
  t.same([0, 8, 16].map((o) => p.getBigUint64(o, true)), [8n, 9n, 10n]);
  const c = new DataView(encodeEnableCap({ cap: 201, flags: 1, args: [0x1000] }).buffer);
  t.same([c.getUint32(0, true), c.getUint32(4, true)], [201, 1]);
  t.equal(c.getBigUint64(8, true), 0x1000n);
  t.equal(encodeMemoryAttributes({ address: -1n, size: 1n << 64n, attributes: 0 }).length, 32, 'values past 2^64 are truncated');
  t.equal(new DataView(encodeMemoryAttributes({ address: (1n << 64n) + 5n, size: 0, attributes: 0 }).buffer).getBigUint64(0, true), 5n);
  const run = new KvmRun(new Uint8Array(4096 * 3));
  run.exitReason = 39;
  run.setMemoryFault(8n, 0xc0000000n, 4096n);
  t.equal(run.dv.getUint32(8, true), 39, 'exit_reason @8');
  t.equal(run.dv.getBigUint64(32, true), 8n, 'union @32');
  t.equal(run.dv.getBigUint64(48, true), 4096n, 'memory_fault.size @48');
  run.hypercallRet = 0x1234n;
  t.equal(run.dv.getBigUint64(88, true), 0x1234n, 'hypercall.ret @88');
});
