import t from 'tap';
import { EFAULT, EINVAL, ENODEV, ENOENT, ENOTTY, ESPIPE } from '../../../../lib/kvm/errno.js';
import { GUP_TEST_PATH } from '../../../../lib/kvm/model/gup_test.js';
import { KVM_RUN, MAP_SHARED, PAGE_SIZE, PROT_READ } from '../../../../lib/kvm/uapi.js';
import { addSlot, gmem, setup } from './helpers.js';

const P = BigInt(PAGE_SIZE);

t.test('each file kind answers as the VFS does for the methods its file_operations lack', async (t) => {
  const e = setup(0, '6.12');
  const v = e.vm.__createVcpu(0).vcpu!;
  const g = gmem(e, 2n * P);
  const gup = e.b.open(GUP_TEST_PATH).ret;
  const buf = new Uint8Array(8);
  const mmapErrno = (fd: number): number => e.b.mmap(0n, P, PROT_READ, MAP_SHARED, fd, 0n).errno;
  // kvm_chardev_ops: opened with open(2), so pread reaches vfs_read() and its missing method.
  t.same(e.b.read(e.sys.fd, buf), { ret: -1, errno: EINVAL }, '/dev/kvm read');
  t.same(e.b.pread(e.sys.fd, buf, 0n), { ret: -1, errno: EINVAL }, '/dev/kvm pread');
  t.same(e.b.lseek(e.sys.fd, 0n, 0), { ret: 0, errno: 0 }, '/dev/kvm noop_llseek');
  t.equal(mmapErrno(e.sys.fd), ENODEV, '/dev/kvm mmap');
  t.same(e.b.fallocate(e.sys.fd, 0, 0n, P), { ret: -1, errno: ENODEV }, '/dev/kvm fallocate');
  // kvm_vm_fops and kvm_vcpu_fops: anon inode files without FMODE_PREAD.
  for (const [what, fd] of [['VM', e.vm.fd], ['vCPU', v.fd]] as const) {
    t.same(e.b.write(fd, buf), { ret: -1, errno: EINVAL }, `${what} write`);
    t.same(e.b.pwrite(fd, buf, 0n), { ret: -1, errno: ESPIPE }, `${what} pwrite`);
    t.same(e.b.lseek(fd, 0n, 1), { ret: 0, errno: 0 }, `${what} noop_llseek`);
    t.same(e.b.ftruncate(fd, 0n), { ret: -1, errno: EINVAL }, `${what} ftruncate`);
  }
  t.equal(mmapErrno(e.vm.fd), ENODEV, 'VM mmap');
  t.equal(mmapErrno(v.fd), 0, 'vCPU mmap (kvm_vcpu_mmap)');
  // kvm_gmem_fops on 6.12: no mmap, no ioctl, no llseek.
  t.equal(mmapErrno(g.fd), ENODEV, '6.12 guest_memfd mmap');
  t.same(e.b.ioctl(g.fd, KVM_RUN), { ret: -1, errno: ENOTTY }, 'guest_memfd ioctl');
  t.same(e.b.lseek(g.fd, 0n, 0), { ret: -1, errno: ESPIPE }, 'guest_memfd lseek');
  // gup_test_fops: nonseekable_open(), an ioctl that answers EINVAL to what it does not know.
  t.same(e.b.lseek(gup, 0n, 0), { ret: -1, errno: ESPIPE }, 'gup_test lseek');
  t.same(e.b.pread(gup, buf, 0n), { ret: -1, errno: ESPIPE }, 'gup_test pread');
  t.same(e.b.read(gup, buf), { ret: -1, errno: EINVAL }, 'gup_test read');
  t.same(await e.b.kvmRun(gup), { ret: -1, errno: EINVAL }, 'KVM_RUN on gup_test is gup_test_ioctl()');
  t.same(await e.b.kvmRun(e.vm.fd), { ret: -1, errno: ENOTTY }, 'KVM_RUN on a VM is kvm_vm_ioctl()');
  t.same(await e.b.kvmRun(e.sys.fd), { ret: -1, errno: EINVAL }, 'KVM_RUN on /dev/kvm is kvm_dev_ioctl()');
});

t.test('KVM_PRE_FAULT_MEMORY takes the guest access fault path: a private GFN without a memslot is a memory fault', async (t) => {
  const e = setup(1);
  addSlot(e, 10, 0x100000000n, P);
  e.vm.__setMemoryAttributes(0x200000000n, P, 8);
  const v = e.vm.__createVcpu(0).vcpu!;
  t.same(v.__preFaultMemory(0x200000000n, P).res, { ret: -1, errno: EFAULT }, 'kvm_handle_noslot_fault(): private → -EFAULT');
  t.same(v.__preFaultMemory(0x300000000n, P).res, { ret: -1, errno: ENOENT }, 'a shared GFN without a memslot is emulation (ENOENT)');
});
