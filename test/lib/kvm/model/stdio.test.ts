import t from 'tap';
import { setup, gmem } from './helpers.js';
import { EINVAL, ENODEV, ENOTTY, ESPIPE } from '../../../../lib/kvm/errno.js';
import { KVM_CHECK_EXTENSION, KVM_MEM_GUEST_MEMFD, MAP_SHARED, PROT_READ } from '../../../../lib/kvm/uapi.js';

t.test('fds 0..2 are open pipes, as in any process (the real /dev/kvm oracle answers EINVAL, not EBADF, for guest_memfd = 0)', async (t) => {
  const e = setup(0);
  for (const fd of [0, 1, 2]) {
    const st = e.b.fstat(fd);
    t.equal(st.ret, 0, `fd ${fd} is open`);
    t.equal(st.stat!.mode, 0o010600, `fd ${fd} is a FIFO`);
    t.same(e.b.ioctl(fd, KVM_CHECK_EXTENSION, 10), { ret: -1, errno: ENOTTY }, `fd ${fd}: KVM ioctl → ENOTTY`);
    t.same(e.b.pread(fd, new Uint8Array(4), 0n), { ret: -1, errno: ESPIPE });
    t.same(e.b.lseek(fd, 0n, 0), { ret: -1, errno: ESPIPE });
    t.same(e.b.fallocate(fd, 0, 0n, 4096n), { ret: -1, errno: ESPIPE }, 'vfs_fallocate(): FIFO → ESPIPE');
    t.equal(e.b.mmap(0n, 4096n, PROT_READ, MAP_SHARED, fd, 0n).errno, ENODEV);
  }
  t.same(e.b.read(0, new Uint8Array(8)), { ret: 0, errno: 0 }, 'stdin at end of file');
  t.same(e.b.write(1, new Uint8Array(8)), { ret: 8, errno: 0 }, 'stdout consumes');
  const g = gmem(e, 2 * 1024 * 1024);
  t.ok(g.fd >= 3, 'new fds start after the standard ones');
  for (const fd of [0, 1, 2]) {
    t.same(e.vm.__setUserMemoryRegion2({ slot: 0, flags: KVM_MEM_GUEST_MEMFD, guestPhysAddr: 0, memorySize: 0x200000, userspaceAddr: 0, guestMemfd: fd }),
      { ret: -1, errno: EINVAL }, `guest_memfd = ${fd}: not a guest_memfd`);
  }
  t.same(e.b.close(0), { ret: 0, errno: 0 });
  t.equal(e.b.open('/dev/kvm').ret, 0, 'the lowest free fd is reused');
});
