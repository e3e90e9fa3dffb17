import t from 'tap';
import '../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { KvmSystem } from '../../../lib/kvm/handles.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { EINVAL, ENOENT } from '../../../lib/kvm/errno.js';

t.test('handles wrap raw calls and return {ret, errno}', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  t.same(KvmSystem.__open(b, '/dev/none').res, { ret: -1, errno: ENOENT });
  const { sys } = KvmSystem.__open(b);
  const { vm } = sys!.__createVm(1);
  const bad = sys!.__createVm(99);
  t.equal(bad.vm, undefined);
  t.same(bad.res, { ret: -1, errno: EINVAL });
  const { gmem } = vm!.__createGuestMemfd(8192, 0);
  t.equal(gmem!.size, 8192n);
  t.same(gmem!.__fallocate(3, 0, 4096), { ret: 0, errno: 0 });
  t.same(vm!.__setUserMemoryRegion2({ slot: 1, flags: 4, guestPhysAddr: 0x1000, memorySize: 8192, userspaceAddr: 0, guestMemfd: gmem!.fd }), { ret: 0, errno: 0 });
  t.same(vm!.__setMemoryAttributes(0x1000, 4096, 8), { ret: 0, errno: 0 });
  const { vcpu } = vm!.__createVcpu(0);
  const pf = vcpu!.__preFaultMemory(0x1000, 8192);
  // The private page maps from the gmem; the shared one has no userspace_addr mapping (EFAULT), so the call stops there with progress.
  t.same(pf, { res: { ret: 0, errno: 0 }, range: { gpa: 0x2000n, size: 0x1000n } });
  t.same(vcpu!.__setRegs({ rsi: 5n }), { ret: 0, errno: 0 });
  t.equal(vcpu!.__getRegs().regs!.rsi, 5n);
  t.equal(vcpu!.run.bytes.byteLength, 3 * 4096);
  t.same(gmem!.__setMemoryAttributes2(0, 4096, 8).res, { ret: -1, errno: 25 }, '6.18: ENOTTY (no kvm_gmem_ioctl())');
  t.same(gmem!.__close(), { ret: 0, errno: 0 });
});
