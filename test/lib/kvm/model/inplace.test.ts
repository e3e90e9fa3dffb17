import t from 'tap';
import { addSlot, gmem, op, readUcall, setup, vcpu, expectFault } from './helpers.js';
import { EINVAL, EOPNOTSUPP, ENOTTY } from '../../../../lib/kvm/errno.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE as PRESERVE,
  KVM_SET_MEMORY_ATTRIBUTES2_ZERO as ZERO, PAGE_SIZE,
} from '../../../../lib/kvm/uapi.js';
import { defaultUcallGpa } from '../../../../lib/kvm/model/index.js';

const P = BigInt(PAGE_SIZE);
const GPA = 0x100000000n;
const FLAGS = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

t.test('inplace profile: INIT_SHARED legal for SW_PROTECTED; ATTRIBUTES2 validation', async (t) => {
  const e = setup(1, 'inplace');
  const g = gmem(e, 4n * P, FLAGS);
  t.same(g.__setMemoryAttributes2(0, P, 8, ZERO | PRESERVE).res, { ret: -1, errno: EINVAL }, 'both modes');
  t.same(g.__setMemoryAttributes2(0, P, 8, 4).res, { ret: -1, errno: EINVAL }, 'unknown mode bit');
  t.same(g.__setMemoryAttributes2(0, P, 16).res, { ret: -1, errno: EINVAL }, 'unsupported attribute');
  t.same(g.__setMemoryAttributes2(0, 0, 8).res, { ret: -1, errno: EINVAL }, 'size 0');
  t.same(g.__setMemoryAttributes2(1, P, 8).res, { ret: -1, errno: EINVAL }, 'unaligned');
  t.same(g.__setMemoryAttributes2(0, 8n * P, 8).res, { ret: -1, errno: EINVAL }, 'past i_size');
  t.same(g.__setMemoryAttributes2(0, P, 8, ZERO).res, { ret: -1, errno: EOPNOTSUPP }, 'ZERO towards private');
  t.same(g.__setMemoryAttributes2(0, P, 8, PRESERVE).res, { ret: 0, errno: 0 });
  const d = setup(0, 'inplace');
  t.same(gmem(d, P, FLAGS).__setMemoryAttributes2(0, P, 8).res, { ret: -1, errno: EINVAL }, 'default VM: no PRIVATE');
  const s18 = setup(1, '6.18');
  t.same(gmem(s18, P, 1).__setMemoryAttributes2(0, P, 8).res, { ret: -1, errno: ENOTTY }, '6.18 has no gmem ioctl');
  const snp = setup(4, 'inplace');
  t.same(gmem(snp, P, FLAGS).__setMemoryAttributes2(0, P, 8, PRESERVE).res, { ret: -1, errno: EOPNOTSUPP }, 'SNP built-in: ZERO only');
});

t.test('inplace PRESERVE to private: the guest reads what the host wrote; host SIGBUS on private pages', async (t) => {
  const e = setup(1, 'inplace');
  const slot0 = addSlot(e, 0, 0n, 0x40000n);
  const g = gmem(e, 2n * P, FLAGS);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 10, flags: 4, guestPhysAddr: GPA, memorySize: 2n * P, userspaceAddr: 0, guestMemfd: g.fd }), { ret: 0, errno: 0 });
  const m = g.__mmap(2n * P).addr;
  e.b.hostFill(m, 8192, 0x5a);
  t.same(g.__setMemoryAttributes2(0, P, 8, PRESERVE).res, { ret: 0, errno: 0 });
  expectFault(t, () => e.b.hostRead(m, 1), 'SIGBUS', 'private page faults');
  t.equal(e.b.hostRead(m + P, 1)[0], 0x5a, 'shared page still mapped');
  const v = vcpu(e, [op.check(GPA, 4096, 0x5a), op.write(GPA, 4096, 0x66), op.sync(), op.check(GPA, 4096, 0), op.done()]);
  await v.__run();
  const uc = () => readUcall(e, (x) => slot0 + x, defaultUcallGpa(0));
  t.equal(uc().cmd, 1n, uc().text);
  t.same(g.__setMemoryAttributes2(0, P, 0, PRESERVE).res, { ret: 0, errno: 0 });
  t.equal(e.b.hostRead(m, 1)[0], 0x66, 'PRESERVE to shared exposes what the guest wrote');
  t.same(g.__setMemoryAttributes2(0, P, 8).res, { ret: 0, errno: 0 }, 'mode 0 back to private clears');
  await v.__run();
  t.equal(uc().cmd, 4n, uc().text);
  t.same(g.__setMemoryAttributes2(0, P, 0, ZERO).res, { ret: 0, errno: 0 });
  t.equal(e.b.hostRead(m, 1)[0], 0, 'ZERO to shared clears');
});

t.test('inplace: the per-VM ioctl still converts and never exposes private bytes', async (t) => {
  const e = setup(1, 'inplace');
  const g = gmem(e, P, FLAGS);
  e.vm.__setUserMemoryRegion2({ slot: 10, flags: 4, guestPhysAddr: GPA, memorySize: P, userspaceAddr: 0, guestMemfd: g.fd });
  addSlot(e, 0, 0n, 0x40000n);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const v = vcpu(e, [op.write(GPA, 4096, 0x99), op.done()]);
  await v.__run();
  e.vm.__setMemoryAttributes(GPA, P, 0);
  t.equal(e.b.hostRead(g.__mmap(P).addr, 1)[0], 0);
});

t.test('inplace: pages start private without INIT_SHARED (SIGBUS); a gmem without MMAP has no in-place ioctl', async (t) => {
  const d = setup(0, 'inplace');
  const g = gmem(d, P, GUEST_MEMFD_FLAG_MMAP);
  expectFault(t, () => d.b.hostRead(g.__mmap(P).addr, 1), 'SIGBUS', 'MMAP-only on a default VM');
  const s = setup(1, 'inplace');
  t.same(gmem(s, P).__setMemoryAttributes2(0, P, 8).res, { ret: -1, errno: EINVAL }, 'no MMAP → EINVAL');
  const legacy = gmem(s, P);
  addSlot(s, 10, GPA, P, legacy);
  const slot0 = addSlot(s, 0, 0n, 0x40000n);
  const v = vcpu(s, [op.write(GPA, 4096, 0x12, 'shared'), op.done()]);
  await v.__run();
  t.equal(readUcall(s, (x) => slot0 + x, defaultUcallGpa(0)).cmd, 4n, 'a non-mmap gmem slot keeps the per-VM attributes (shared at start)');
});
