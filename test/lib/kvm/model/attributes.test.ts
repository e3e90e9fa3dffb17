import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { setup } from './helpers.js';
import { EINVAL } from '../../../../lib/kvm/errno.js';
import { RangeMap } from '../../../../lib/kvm/model/range_map.js';
import { createModelBackend, type PlatformVmContext } from '../../../../lib/kvm/model/index.js';

const E = (errno: number) => ({ ret: -1, errno });
const OK = { ret: 0, errno: 0 };

/** A SW_PROTECTED VM whose attribute state tests can read through the platform context. */
function swVm() {
  const b = createModelBackend({ kernel: '6.18' });
  let ctx: PlatformVmContext | undefined;
  const sw = b.platforms.get(1)!;
  b.registerPlatform(1, { ...sw, attach: (c) => { ctx = c; return sw.attach(c); } });
  const sys = b.open('/dev/kvm').ret;
  const fd = b.ioctl(sys, 0xae01, 1).ret;
  return { b, fd, attr: (gpa: bigint) => ctx!.attributes(gpa) };
}

t.test('#40 KVM_SET_MEMORY_ATTRIBUTES validation → EINVAL', async (t) => {
  const sw = setup(1).vm;
  t.same(sw.__setMemoryAttributes(0, 4096, 8, 1), E(EINVAL), 'flags != 0');
  t.same(sw.__setMemoryAttributes(0, 4096, 16), E(EINVAL), 'unsupported attribute');
  t.same(sw.__setMemoryAttributes(0, 4096, 1n << 63n), E(EINVAL), 'unsupported high attribute');
  t.same(sw.__setMemoryAttributes(0, 0, 8), E(EINVAL), 'size 0');
  t.same(sw.__setMemoryAttributes((1n << 64n) - 4096n, 8192, 8), E(EINVAL), 'address + size overflows');
  t.same(sw.__setMemoryAttributes(1, 4096, 8), E(EINVAL), 'unaligned address');
  t.same(sw.__setMemoryAttributes(0, 4095, 8), E(EINVAL), 'unaligned size');
  t.same(sw.__setMemoryAttributes(0, 4096, 8), OK);
  const def = setup(0).vm;
  t.same(def.__setMemoryAttributes(0, 4096, 8), E(EINVAL), 'PRIVATE on a VM without private memory');
  t.same(def.__setMemoryAttributes(0, 4096, 0), OK, 'attribute 0 is always supported');
  t.same(def.__ioctl(0x4020aed2, 7), E(14), 'no struct → EFAULT');
});

t.test('#41 attributes need no memslot and replace what the range had', async (t) => {
  const { b, fd, attr } = swVm();
  const set = (a: bigint, s: bigint, v: bigint) => b.ioctl(fd, 0x4020aed2, new Uint8Array(new BigUint64Array([a, s, v, 0n]).buffer));
  t.same(set(0xc0000000n, 0x200000n, 8n), OK, 'PRIVATE over a GPA with no memslot');
  t.equal(attr(0xc0000000n), 8n);
  t.equal(attr(0xc01ff000n), 8n);
  t.equal(attr(0xc0200000n), 0n);
  t.same(set(0xc0001000n, 0x1000n, 0n), OK, 'punch a shared page into the middle');
  t.equal(attr(0xc0000000n), 8n);
  t.equal(attr(0xc0001000n), 0n);
  t.equal(attr(0xc0002000n), 8n);
  t.same(set(0n, 1n << 50n, 8n), OK, 'a huge range is one run');
  t.equal(attr(0xc0001000n), 8n);
  t.equal(attr((1n << 50n) - 4096n), 8n);
  t.equal(attr(1n << 50n), 0n);
});

t.test('#42 a new VM has every GFN shared', async (t) => {
  const { attr } = swVm();
  for (const g of [0n, 0x1000n, 0xc0000000n, (1n << 52n) - 4096n]) t.equal(attr(g), 0n, `gpa ${g.toString(16)}`);
});

t.test('RangeMap: split, merge, uniform, lookup', async (t) => {
  const m = new RangeMap();
  m.set(0, 100, 8n);
  m.set(10, 20, 0n);
  m.set(50, 60, 4n);
  t.same(m.entries(), [{ start: 0, end: 10, value: 8n }, { start: 20, end: 50, value: 8n }, { start: 50, end: 60, value: 4n }, { start: 60, end: 100, value: 8n }]);
  m.set(50, 60, 8n);
  t.same(m.entries(), [{ start: 0, end: 10, value: 8n }, { start: 20, end: 100, value: 8n }], 'equal neighbours merge');
  m.set(10, 20, 8n);
  t.same(m.entries(), [{ start: 0, end: 100, value: 8n }]);
  t.ok(m.uniform(0, 100, 8n));
  t.notOk(m.uniform(0, 101, 8n));
  t.ok(m.uniform(100, 200, 0n));
  t.equal(m.get(99), 8n);
  t.equal(m.get(100), 0n);
  m.set(0, 1000, 0n);
  t.equal(m.size, 0);
});
