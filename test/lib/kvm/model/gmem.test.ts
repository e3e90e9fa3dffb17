import t from 'tap';
import { anon, gmem, op, setup, vcpu, addSlot, readUcall, expectFault } from './helpers.js';
import { MAP_FAILED } from '../../../../lib/kvm/backend.js';
import { EBADF, EINVAL, ENODEV, EOPNOTSUPP, ESPIPE, EFBIG } from '../../../../lib/kvm/errno.js';
import {
  FALLOC_FL_KEEP_SIZE as KEEP, FALLOC_FL_PUNCH_HOLE as PUNCH, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP,
  KVM_CAP_GUEST_MEMFD_FLAGS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE, KVM_EXIT_IO,
} from '../../../../lib/kvm/uapi.js';

const P = PAGE_SIZE;
const MMAP = GUEST_MEMFD_FLAG_MMAP;
const SHARED = GUEST_MEMFD_FLAG_INIT_SHARED;

t.test('#17 KVM_CREATE_GUEST_MEMFD: new fd, st_size, st_blksize, distinct inodes', async (t) => {
  const e = setup(0);
  const g1 = gmem(e, P);
  const g2 = gmem(e, 2 * P);
  const s1 = g1.__fstat().stat!;
  const s2 = g2.__fstat().stat!;
  t.equal(s1.size, BigInt(P));
  t.equal(s2.size, BigInt(2 * P));
  t.equal(s1.blksize, P);
  t.not(s1.ino, s2.ino);
  t.equal(s1.mode & 0o170000, 0o100000, 'S_IFREG');
  t.same(g1.__fstat().stat, s1, 'fd1 unchanged after fd2');
  t.ok(e.vm.__createGuestMemfd(P, 0, [1n, 2n, 3n, 4n, 5n, 6n]).gmem, 'reserved is not checked');
});

t.test('#18 KVM_CREATE_GUEST_MEMFD with size 0, 1..PAGE-1 or unaligned → EINVAL', async (t) => {
  const e = setup(0);
  let bad = 0;
  for (let s = 1; s < P; s++) if (e.vm.__createGuestMemfd(s).res.errno !== EINVAL) bad++;
  t.equal(bad, 0, 'sizes 1..PAGE-1');
  for (const s of [0n, BigInt(P + 1), BigInt(3 * P - 1), -4096n, 1n << 63n]) t.same(e.vm.__createGuestMemfd(s).res, { ret: -1, errno: EINVAL }, `size ${s}`);
  t.same(e.vm.__ioctl(0xc040aed4, 4096), { ret: -1, errno: 14 }, 'no struct → EFAULT');
});

t.test('#19/#20 guest_memfd flags per VM type and profile', async (t) => {
  for (const [kernel, type, want] of [['6.18', 0, 3n], ['6.18', 1, 1n], ['6.18', 4, 1n], ['6.18', 5, 1n], ['6.18', 2, 3n],
    ['6.12', 0, 0n], ['6.12', 1, 0n], ['6.19', 1, 1n], ['7.4', 1, 3n], ['7.4', 0, 3n], ['7.4', 5, 3n]] as const) {
    const e = setup(type, kernel);
    const cap = kernel === '6.12' ? 0n : BigInt(e.vm.__checkExtension(KVM_CAP_GUEST_MEMFD_FLAGS).ret);
    t.equal(cap, want, `${kernel} type ${type}: KVM_CAP_GUEST_MEMFD_FLAGS`);
    for (let bit = 0n; bit < 64n; bit++) {
      const r = e.vm.__createGuestMemfd(P, 1n << bit).res;
      if ((1n << bit) & want) t.ok(r.ret >= 0, `${kernel} type ${type} bit ${bit} accepted`);
      else if (r.errno !== EINVAL) t.fail(`${kernel} type ${type} bit ${bit}: ${r.errno}`);
    }
  }
  const e = setup(1);
  t.same(e.vm.__createGuestMemfd(P, MMAP | SHARED).res, { ret: -1, errno: EINVAL }, '6.18 INIT_SHARED refused for SW_PROTECTED');
});

t.test('#21 read, write, pread, pwrite on a guest_memfd fail', async (t) => {
  const g = gmem(setup(0), 4 * P, MMAP | SHARED);
  const buf = new Uint8Array(64);
  t.same(g.__read(buf), { ret: -1, errno: EINVAL }, 'read: no read method (vfs_read)');
  t.same(g.__write(buf), { ret: -1, errno: EINVAL }, 'write: no write method (vfs_write)');
  t.same(g.__pread(buf, 0), { ret: -1, errno: ESPIPE }, 'pread: no FMODE_PREAD');
  t.same(g.__pwrite(buf, 0), { ret: -1, errno: ESPIPE }, 'pwrite: no FMODE_PWRITE');
  t.same(g.__pread(buf, -1), { ret: -1, errno: EINVAL }, 'negative offset');
  t.same(g.backend.lseek(g.fd, 0n, 0), { ret: -1, errno: ESPIPE }, 'lseek: no llseek');
  t.same(g.backend.lseek(g.fd, 0n, 9), { ret: -1, errno: EINVAL }, 'bad whence');
  t.same(g.backend.ftruncate(g.fd, 8192n), { ret: -1, errno: EINVAL }, 'ftruncate: kvm_gmem_setattr');
  t.same(g.__ioctl(0xae03, 0), { ret: -1, errno: 25 }, 'ioctl on a gmem → ENOTTY');
});

t.test('#22 mmap without MMAP → ENODEV; MAP_PRIVATE → EINVAL', async (t) => {
  const e = setup(0);
  const g0 = gmem(e, 4 * P);
  for (const n of [1, 4]) t.same(g0.__mmap(n * P), { addr: MAP_FAILED, errno: ENODEV }, `${n} pages`);
  const g1 = gmem(e, 4 * P, MMAP);
  t.same(g1.__mmap(4 * P, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE), { addr: MAP_FAILED, errno: EINVAL });
  t.equal(g1.__mmap(4 * P).errno, 0);
  t.same(setup(0, '6.12').vm.__createGuestMemfd(P).gmem!.__mmap(P), { addr: MAP_FAILED, errno: ENODEV }, '6.12: no mmap');
  t.same(e.b.mmap(0n, BigInt(P), 3, MAP_SHARED, e.vm.fd, 0n), { addr: MAP_FAILED, errno: ENODEV }, 'VM fd has no mmap');
  t.same(e.b.mmap(0n, BigInt(P), 3, MAP_SHARED, 999, 0n), { addr: MAP_FAILED, errno: EBADF });
  t.same(e.b.mmap(0n, 0n, 3, MAP_SHARED, g1.fd, 0n), { addr: MAP_FAILED, errno: EINVAL }, 'length 0');
  t.same(e.b.mmap(0n, BigInt(P), 3, MAP_SHARED, g1.fd, 1n), { addr: MAP_FAILED, errno: EINVAL }, 'unaligned offset');
});

t.test('#23 MMAP without INIT_SHARED: SIGBUS on every access; with INIT_SHARED: zeros, keeps writes, SIGBUS past i_size', async (t) => {
  const e = setup(0);
  const priv = gmem(e, 4 * P, MMAP);
  const a = priv.__mmap(4 * P).addr;
  expectFault(t, () => e.b.hostFill(a, 4 * P, 0xaa), 'SIGBUS', 'memset');
  expectFault(t, () => e.b.hostRead(a, 1), 'SIGBUS', 'read byte 0');
  const sw = setup(1);
  const g = gmem(sw, 4 * P, MMAP);
  expectFault(t, () => sw.b.hostRead(g.__mmap(4 * P).addr + 4096n, 1), 'SIGBUS', 'SW_PROTECTED MMAP-only read');

  const s = gmem(e, 4 * P, MMAP | SHARED);
  const m = s.__mmap(16 * P).addr;
  t.ok(e.b.hostRead(m, 4 * P).every((x) => x === 0), 'zero on first touch');
  e.b.hostFill(m, 4 * P, 0xaa);
  t.ok(e.b.hostRead(m, 4 * P).every((x) => x === 0xaa), 'keeps what the host wrote');
  expectFault(t, () => e.b.hostRead(m + BigInt(4 * P), 1), 'SIGBUS', 'at i_size');
  expectFault(t, () => e.b.hostWrite(m + BigInt(15 * P), new Uint8Array(1)), 'SIGBUS', 'past i_size');
  t.ok(e.b.hostRead(m, 4 * P).every((x) => x === 0xaa), 'first size bytes intact');
  const m2 = s.__mmap(4 * P).addr;
  t.ok(e.b.hostRead(m2, 4 * P).every((x) => x === 0xaa), 'a second mapping sees the same pages');
  expectFault(t, () => e.b.hostRead(0x1000n, 1), 'SIGSEGV', 'unmapped address');
  t.same(e.b.munmap(m, BigInt(16 * P)), { ret: 0, errno: 0 });
  expectFault(t, () => e.b.hostRead(m, 1), 'SIGSEGV', 'after munmap');
  t.same(e.b.munmap(m + 1n, 1n), { ret: -1, errno: EINVAL }, 'munmap unaligned');
});

t.test('#24 fallocate mode lacking KEEP_SIZE or with other bits → EOPNOTSUPP', async (t) => {
  const g = gmem(setup(0), 4 * P);
  for (const mode of [0, PUNCH, 0x04, 0x08, 0x10, KEEP | 0x04, KEEP | 0x08, KEEP | 0x10, KEEP | 0x20, KEEP | 0x40, KEEP | PUNCH | 0x10, 0x100, 0x80000000]) {
    t.same(g.__fallocate(mode, 0, P), { ret: -1, errno: EOPNOTSUPP }, `mode ${mode.toString(16)}`);
  }
});

t.test('#25/#26 fallocate alignment, bounds, punch past EOF, the §4.1 table', async (t) => {
  const g = gmem(setup(0), 4 * P);
  const sz = 4 * P;
  const rows: Array<[number, number, number, boolean]> = [
    [KEEP, 0, sz, true], [KEEP | PUNCH, P - 1, P, false], [KEEP, sz, P, false], [KEEP, sz + P, P, false],
    [KEEP | PUNCH, sz, P, true], [KEEP | PUNCH, sz + P, P, true], [KEEP | PUNCH, P, P - 1, false],
    [KEEP | PUNCH, P, P, true], [KEEP, P, P, true],
  ];
  for (const [mode, off, len, okay] of rows) {
    const r = g.__fallocate(mode, off, len);
    t.same(r, okay ? { ret: 0, errno: 0 } : { ret: -1, errno: EINVAL }, `mode ${mode} (${off}, ${len})`);
  }
  for (const [off, len] of [[0, 1], [0, P - 1], [0, P + 1], [1, 1], [1, P - 1], [1, P], [1, P + 1], [P, 1], [P, P - 1], [P, P + 1]] as const) {
    t.same(g.__fallocate(KEEP | PUNCH, off, len), { ret: -1, errno: EINVAL }, `invalid_punch_hole (${off}, ${len})`);
  }
  t.same(g.__fallocate(KEEP, 0, 0), { ret: -1, errno: EINVAL }, 'len 0 (vfs_fallocate)');
  t.same(g.__fallocate(KEEP, -4096, P), { ret: -1, errno: EINVAL }, 'negative offset');
  t.same(g.__fallocate(KEEP | PUNCH, (1n << 63n) - 4096n, 8192), { ret: -1, errno: EFBIG }, 'offset + len past s_maxbytes');
  t.equal(g.__fstat().stat!.size, BigInt(sz), 'the size never changes');
  t.same(g.backend.fallocate(g.backend.open('/dev/kvm').ret, KEEP, 0n, 4096n), { ret: -1, errno: ENODEV }, 'fallocate on /dev/kvm');
});

t.test('#27 after PUNCH_HOLE punched pages read 0 (mmap and guest), others keep contents', async (t) => {
  const e = setup(0);
  const g = gmem(e, 4 * P, MMAP | SHARED);
  const m = g.__mmap(4 * P).addr;
  e.b.hostFill(m, 4 * P, 0xaa);
  t.same(g.__fallocate(KEEP | PUNCH, 0, P), { ret: 0, errno: 0 });
  t.ok(e.b.hostRead(m, P).every((x) => x === 0), 'page 0 reads 0');
  t.ok(e.b.hostRead(m + BigInt(P), 3 * P).every((x) => x === 0xaa), 'pages 1..3 keep 0xaa');
  e.b.hostFill(m, P, 0xbb);
  t.ok(e.b.hostRead(m, P).every((x) => x === 0xbb), 'rewrite works');

  // In the guest: a SW_PROTECTED private page punched reads 0.
  const s = setup(1);
  const pg = gmem(s, 2 * P);
  const gpa = 0x100000000n;
  addSlot(s, 10, gpa, BigInt(2 * P), pg);
  const ucallHva = addSlot(s, 0, 0n, 0x20000n);
  s.vm.__setMemoryAttributes(gpa, 2 * P, 8);
  const v = vcpu(s, [op.write(gpa, 2 * P, 0x33), op.sync(1n), op.check(gpa, P, 0), op.check(gpa + BigInt(P), P, 0x33), op.done()]);
  t.equal((await v.__run()).ret, 0);
  t.same(pg.__fallocate(KEEP | PUNCH, 0, P), { ret: 0, errno: 0 });
  t.equal((await v.__run()).ret, 0);
  const uc = readUcall(s, (x) => ucallHva + x, 0x10000n);
  t.equal(v.run.exitReason, KVM_EXIT_IO);
  t.equal(uc.cmd, 4n, `guest saw zeros in the punched page and 0x33 in the other (${uc.text})`);
});

t.test('#28 the guest_memfd keeps its VM alive: fallocate after the VM fd is closed', async (t) => {
  const e = setup(1);
  const g = gmem(e, 4 * P);
  t.same(e.vm.__close(), { ret: 0, errno: 0 });
  t.same(g.__fallocate(KEEP | PUNCH, 0, 4 * P), { ret: 0, errno: 0 });
  t.same(g.__fallocate(KEEP, 0, 4 * P), { ret: 0, errno: 0 });
  t.same(g.__close(), { ret: 0, errno: 0 });
  t.same(g.__fallocate(KEEP, 0, P), { ret: -1, errno: EBADF }, 'closed fd');
});

t.test('a 1 TiB guest_memfd and anonymous mapping cost only touched pages', async (t) => {
  const e = setup(0);
  const TiB = 1n << 40n;
  const g = gmem(e, TiB, MMAP | SHARED);
  t.same(g.__fallocate(KEEP, 0, TiB), { ret: 0, errno: 0 });
  const m = g.__mmap(TiB).addr;
  for (let i = 0n; i < 16n; i++) e.b.hostFill(m + i * (TiB / 16n), 1, 1);
  const a = anon(e, TiB);
  e.b.hostFill(a + TiB - 4096n, 4096, 7);
  t.equal(e.b.residentPages(), 17);
  t.same(g.__fallocate(KEEP | PUNCH, 0, TiB), { ret: 0, errno: 0 });
  t.equal(e.b.residentPages(), 1);
});

t.test('mmap of guest_memfd and vCPU files: PROT_EXEC → EPERM (pseudo filesystem, SB_I_NOEXEC), MAP_GROWSDOWN → EINVAL, both before f_op->mmap (oracle)', async (t) => {
  const e = setup(0);
  const PROT_EXEC = 4;
  const MAP_GROWSDOWN = 0x100;
  const v = vcpu(e, []);
  for (const [name, fd] of [['gmem MMAP|INIT_SHARED', gmem(e, 4 * P, MMAP | SHARED).fd], ['gmem without MMAP', gmem(e, 4 * P).fd], ['vcpu', v.fd]] as const) {
    t.same(e.b.mmap(0n, BigInt(P), PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0n), { addr: MAP_FAILED, errno: 1 }, `${name}: exec`);
    t.same(e.b.mmap(0n, BigInt(P), PROT_READ, MAP_SHARED | MAP_GROWSDOWN, fd, 0n), { addr: MAP_FAILED, errno: EINVAL }, `${name}: growsdown`);
  }
  const m = e.b.memfdCreate('m').ret;
  t.same(e.b.ftruncate(m, BigInt(P)), { ret: 0, errno: 0 });
  t.equal(e.b.mmap(0n, BigInt(P), PROT_READ | PROT_EXEC, MAP_SHARED, m, 0n).errno, 0, 'memfd may be executable');
});
