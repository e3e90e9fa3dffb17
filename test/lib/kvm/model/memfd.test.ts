import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { createModelBackend } from '../../../../lib/kvm/model/index.js';
import { EBADF, EINVAL } from '../../../../lib/kvm/errno.js';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

t.test('memfd SEEK_DATA/SEEK_HOLE follow the page cache (mapping_seek_hole_data(); oracle: SEEK_HOLE after one written page of 2 is 4096)', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  const fd = b.memfdCreate('m').ret;
  t.same(b.ftruncate(fd, 5n * 4096n), { ret: 0, errno: 0 });
  t.same(b.lseek(fd, 0n, SEEK_DATA), { ret: -1, errno: ENXIO }, 'no data at all');
  t.same(b.lseek(fd, 0n, SEEK_HOLE), { ret: 0, errno: 0 });
  t.same(b.pwrite(fd, new Uint8Array(100).fill(1), 4096n + 10n), { ret: 100, errno: 0 });
  t.same(b.pwrite(fd, new Uint8Array(1).fill(1), 2n * 4096n), { ret: 1, errno: 0 });
  t.same(b.lseek(fd, 0n, SEEK_DATA), { ret: 4096, errno: 0 }, 'first written page');
  t.same(b.lseek(fd, 5000n, SEEK_DATA), { ret: 5000, errno: 0 }, 'inside data');
  t.same(b.lseek(fd, 5000n, SEEK_HOLE), { ret: 3 * 4096, errno: 0 }, 'after two data pages');
  t.same(b.lseek(fd, 3n * 4096n, SEEK_DATA), { ret: -1, errno: ENXIO }, 'no data after');
  t.same(b.lseek(fd, 5n * 4096n, SEEK_HOLE), { ret: -1, errno: ENXIO }, 'at i_size');
  t.same(b.lseek(fd, -1n, SEEK_HOLE), { ret: -1, errno: ENXIO }, 'negative');
  t.same(b.fallocate(fd, 0, 3n * 4096n, 4096n), { ret: 0, errno: 0 });
  t.same(b.lseek(fd, 3n * 4096n, SEEK_DATA), { ret: -1, errno: ENXIO }, 'fallocated pages are not uptodate: still a hole');
  t.same(b.ftruncate(fd, 4096n + 50n), { ret: 0, errno: 0 });
  t.same(b.lseek(fd, 0n, SEEK_HOLE), { ret: 0, errno: 0 });
  t.same(b.lseek(fd, 4096n, SEEK_HOLE), { ret: 4096 + 50, errno: 0 }, 'a hole at i_size at the latest');
});

t.test('pread/pwrite with a negative offset and ftruncate with a negative length are EINVAL before the fd lookup (oracle)', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  const buf = new Uint8Array(8);
  t.same(b.pread(999, buf, -1n), { ret: -1, errno: EINVAL });
  t.same(b.pwrite(999, buf, -1n), { ret: -1, errno: EINVAL });
  t.same(b.ftruncate(999, -1n), { ret: -1, errno: EINVAL });
  t.same(b.pread(999, buf, 0n), { ret: -1, errno: EBADF });
  t.same(b.ftruncate(999, 0n), { ret: -1, errno: EBADF });
});
