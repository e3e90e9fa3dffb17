import t from 'tap';
import { addSlot, expectFault, gmem, op, readUcall, setup, vcpu } from './helpers.js';
import { EAGAIN, EFAULT, EINVAL, ENOTTY } from '../../../../lib/kvm/errno.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES,
  KVM_CAP_MEMORY_ATTRIBUTES, KVM_SET_MEMORY_ATTRIBUTES2, PAGE_SIZE,
} from '../../../../lib/kvm/uapi.js';
import { SIZEOF_KVM_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2 } from '../../../../lib/kvm/structs.js';
import { defaultUcallGpa } from '../../../../lib/kvm/model/index.js';
import { GUP_TEST_PATH, PIN_LONGTERM_TEST_START, PIN_LONGTERM_TEST_STOP } from '../../../../lib/kvm/model/gup_test.js';

const P = BigInt(PAGE_SIZE);
const GPA = 0x100000000n;
const FLAGS = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

/** struct pin_longterm_test { addr, size, flags } for PIN_LONGTERM_TEST_START. */
function pinArg(addr: bigint, size: bigint, flags = 1): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, addr, true);
  dv.setBigUint64(8, size, true);
  dv.setUint32(16, flags, true);
  return b;
}

t.test('7.4 caps: per-gmem mode moves PRIVATE from the VM to guest_memfd; per-VM mode keeps 6.18', async (t) => {
  const g = setup(1, '7.4');
  t.equal(g.sys.__checkExtension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES).ret, 8, 'system scope: PRIVATE');
  t.equal(g.vm.__checkExtension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES).ret, 8, 'SW_PROTECTED: PRIVATE');
  t.equal(g.vm.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 0, 'no per-VM attributes');
  t.equal(g.sys.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 0, 'none at system scope either');
  t.equal(g.vm.__checkExtension(KVM_CAP_GUEST_MEMFD_FLAGS).ret, 3, 'INIT_SHARED for a VM with private memory');
  t.same(g.vm.__setMemoryAttributes(GPA, P, 8), { ret: -1, errno: EINVAL }, 'per-VM PRIVATE refused');
  t.equal(setup(0, '7.4').vm.__checkExtension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES).ret, 0, 'default VM: nothing');
  for (const type of [4, 5]) t.equal(setup(type, '7.4').vm.__checkExtension(KVM_CAP_GUEST_MEMFD_FLAGS).ret, 3, `type ${type}: INIT_SHARED allowed`);
  const v = setup(1, '7.4', true);
  t.equal(v.vm.__checkExtension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES).ret, 0, 'vm_memory_attributes=Y: no gmem attributes');
  t.equal(v.vm.__checkExtension(KVM_CAP_MEMORY_ATTRIBUTES).ret, 8, 'vm_memory_attributes=Y: per-VM PRIVATE');
  t.equal(v.vm.__checkExtension(KVM_CAP_GUEST_MEMFD_FLAGS).ret, 1, 'vm_memory_attributes=Y: MMAP only, as 6.18');
  t.same(gmem(v, P, 1).__setMemoryAttributes2(0, P, 8).res, { ret: -1, errno: ENOTTY }, 'the gmem ioctl is ENOTTY');
  t.same(gmem(setup(1, '6.19'), P, 1).__setMemoryAttributes2(0, P, 8).res, { ret: -1, errno: ENOTTY }, '6.19 has no gmem ioctl');
});

t.test('KVM_SET_MEMORY_ATTRIBUTES2 validation in kvm_gmem_set_attributes() order', async (t) => {
  const e = setup(1, '7.4');
  const g = gmem(e, 4n * P, FLAGS);
  t.same(e.b.ioctl(g.fd, KVM_SET_MEMORY_ATTRIBUTES2, new Uint8Array(SIZEOF_KVM_MEMORY_ATTRIBUTES2 - 8)), { ret: -1, errno: EFAULT }, 'short struct');
  t.same(g.__setMemoryAttributes2(0, P, 8, { flags: 1 }).res, { ret: -1, errno: EINVAL }, 'flags (the dropped content modes)');
  t.same(g.__setMemoryAttributes2(0, P, 8, { reserved: [0, 0, 1] }).res, { ret: -1, errno: EINVAL }, 'reserved word');
  t.same(g.__setMemoryAttributes2(0, P, 16).res, { ret: -1, errno: EINVAL }, 'unknown attribute');
  t.same(g.__setMemoryAttributes2(0, 0, 8).res, { ret: -1, errno: EINVAL }, 'size 0');
  t.same(g.__setMemoryAttributes2(-4096n, 8192n, 8).res, { ret: -1, errno: EINVAL }, 'wrap');
  t.same(g.__setMemoryAttributes2(1, P, 8).res, { ret: -1, errno: EINVAL }, 'unaligned offset');
  t.same(g.__setMemoryAttributes2(0, P + 1n, 8).res, { ret: -1, errno: EINVAL }, 'unaligned size');
  t.same(g.__setMemoryAttributes2(4n * P, P, 8).res, { ret: -1, errno: EINVAL }, 'offset at i_size');
  t.same(g.__setMemoryAttributes2(3n * P, 2n * P, 8).res, { ret: -1, errno: EINVAL }, 'end past i_size');
  t.same(g.__setMemoryAttributes2(0, 4n * P, 8).res, { ret: 0, errno: 0 });
  t.same(gmem(setup(0, '7.4'), P, FLAGS).__setMemoryAttributes2(0, P, 8).res, { ret: -1, errno: EINVAL }, 'no private memory');
  t.same(gmem(e, P, 0).__setMemoryAttributes2(0, P, 0).res, { ret: 0, errno: 0 }, 'a gmem without MMAP converts too');
  t.same(e.b.internalErrors, []);
});

t.test('in place: host and guest share the page; SIGBUS on private pages; bytes kept both ways', async (t) => {
  const e = setup(1, '7.4');
  const slot0 = addSlot(e, 0, 0n, 0x40000n);
  const g = gmem(e, 2n * P, FLAGS);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 10, flags: 4, guestPhysAddr: GPA, memorySize: 2n * P, userspaceAddr: 0, guestMemfd: g.fd }), { ret: 0, errno: 0 });
  const m = g.__mmap(2n * P).addr;
  e.b.hostFill(m, 8192, 0x5a);
  t.same(g.__setMemoryAttributes2(0, P, 8).res, { ret: 0, errno: 0 });
  expectFault(t, () => e.b.hostRead(m, 1), 'SIGBUS', 'private page faults for the host');
  expectFault(t, () => e.b.hostFill(m, 1, 0), 'SIGBUS', 'and for host writes');
  t.equal(e.b.hostRead(m + P, 1)[0], 0x5a, 'the shared page stays mapped');
  const v = vcpu(e, [op.check(GPA, 4096, 0x5a), op.write(GPA, 4096, 0x66), op.check(GPA + P, 4096, 0x5a), op.done()]);
  await v.__run();
  const uc = readUcall(e, (x) => slot0 + x, defaultUcallGpa(0));
  t.equal(uc.cmd, 4n, `the guest reads, privately, what the host wrote while shared ${uc.text}`);
  t.same(g.__setMemoryAttributes2(0, P, 0).res, { ret: 0, errno: 0 });
  t.equal(e.b.hostRead(m, 1)[0], 0x66, 'back to shared: the host sees what the guest wrote');
  t.same(e.b.internalErrors, []);
});

t.test('pinned page: EAGAIN and error_offset = max(offset, first pinned page), only towards private', async (t) => {
  const e = setup(1, '7.4');
  const g = gmem(e, 4n * P, FLAGS);
  const m = g.__mmap(4n * P).addr;
  const pin = e.b.open(GUP_TEST_PATH);
  t.equal(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_START, pinArg(m + 2n * P, P)).ret, 0, 'pin page 2');
  t.same(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_START, pinArg(m, P)), { ret: -1, errno: EINVAL }, 'one pinned set at a time');
  let r = g.__setMemoryAttributes2(0, 4n * P, 8, { errorOffset: 77 });
  t.same(r.res, { ret: -1, errno: EAGAIN });
  t.equal(r.errorOffset, 2n * P, 'error_offset names the pinned page');
  r = g.__setMemoryAttributes2(3n * P, P, 8, { errorOffset: 77 });
  t.same(r.res, { ret: 0, errno: 0 }, 'a range without the pin converts');
  t.equal(r.errorOffset, 77n, 'error_offset untouched on success');
  t.same(g.__setMemoryAttributes2(3n * P, P, 0).res, { ret: 0, errno: 0 }, 'towards shared a pin does not matter');
  t.equal(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_STOP).ret, 0);
  t.same(g.__setMemoryAttributes2(0, 4n * P, 8).res, { ret: 0, errno: 0 }, 'unpinned: converts');
  t.same(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_START, pinArg(m, P)), { ret: -1, errno: EFAULT }, 'a private page cannot be pinned');
  t.same(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_START, pinArg(m + 1n, P)), { ret: -1, errno: EINVAL }, 'unaligned');
  t.same(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_START, pinArg(m, 0n)), { ret: -1, errno: EINVAL }, 'no pages');
  t.same(e.b.ioctl(pin.ret, PIN_LONGTERM_TEST_START, pinArg(m, P, 4)), { ret: -1, errno: EINVAL }, 'unknown flag');
});

t.test('per-gmem: a slot without gmem is shared, deleting the slot makes the GPA shared, punch keeps state', async (t) => {
  const e = setup(1, '7.4');
  const slot0 = addSlot(e, 0, 0n, 0x40000n);
  const g = gmem(e, P, 0);
  addSlot(e, 10, GPA, P, g);
  // Without INIT_SHARED the gmem starts private: the guest's access is private, served by the gmem.
  const v = vcpu(e, [op.write(GPA, 8, 0x11), op.check(GPA, 8, 0x11), op.done()]);
  await v.__run();
  t.equal(readUcall(e, (x) => slot0 + x, defaultUcallGpa(0)).cmd, 4n);
  t.equal(g.__fallocate(3, 0, P).ret, 0, 'punch');
  const m = gmem(e, P, FLAGS);
  t.same(m.__setMemoryAttributes2(0, P, 8).res, { ret: 0, errno: 0 });
  t.equal(m.__fallocate(3, 0, P).ret, 0, 'punch a private page');
  expectFault(t, () => e.b.hostRead(m.__mmap(P).addr, 1), 'SIGBUS', 'still private after the punch');
});

t.test('SNP and TDX in place: INIT_SHARED gmem, conversion destroys the private bytes for the host', async (t) => {
  for (const type of [4, 5]) {
    const e = setup(type, '7.4');
    const g = gmem(e, P, FLAGS);
    addSlot(e, 10, GPA, P, g);
    const m = g.__mmap(P).addr;
    e.b.hostFill(m, 16, 0x33);
    t.same(g.__setMemoryAttributes2(0, P, 8).res, { ret: 0, errno: 0 }, `type ${type} to private`);
    t.same(g.__setMemoryAttributes2(0, P, 0).res, { ret: 0, errno: 0 }, `type ${type} to shared`);
    t.same(e.b.internalErrors, [], `type ${type}: no model errors`);
  }
});

t.test('encodeMemoryAttributes2 is 128 bytes with error_offset at 32', async (t) => {
  const b = encodeMemoryAttributes2({ offset: 1, size: 2, attributes: 3, flags: 4, errorOffset: 5, reserved: [6] });
  const dv = new DataView(b.buffer);
  t.equal(b.length, 128);
  t.same([0, 8, 16, 24, 32, 40].map((o) => dv.getBigUint64(o, true)), [1n, 2n, 3n, 4n, 5n, 6n]);
  t.equal(KVM_SET_MEMORY_ATTRIBUTES2, (0xc0000000 | (128 << 16) | (0xae << 8) | 0xd2) >>> 0, '_IOWR(KVMIO, 0xd2, 128 bytes)');
});
