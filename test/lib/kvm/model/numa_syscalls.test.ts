/**
 * mbind(), get_mempolicy() and move_pages() on the model's host
 * (lib/kvm/model/numa_syscalls.ts): anonymous memory takes the VMA's
 * policy, shmem and (from 6.19) guest_memfd keep a shared policy per page
 * offset, and pages are placed where the policy says when first allocated.
 */
import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { createModelBackend, type ModelBackend, type KernelName } from '../../../../lib/kvm/model/index.js';
import { EFAULT, EINVAL, EIO, ENOENT } from '../../../../lib/kvm/errno.js';
import {
  MPOL_BIND, MPOL_DEFAULT, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED, MPOL_F_NODE, MPOL_INTERLEAVE, MPOL_MF_STRICT,
} from '../../../../lib/kvm/numa_uapi.js';
import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../../lib/kvm/uapi.js';
import { KvmSystem } from '../../../../lib/kvm/handles.js';

const PAGE = 4096n;

function anon(b: ModelBackend, pages: number): bigint {
  const r = b.mmap(0n, BigInt(pages) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  if (r.errno) throw new Error(`mmap: ${r.errno}`);
  return r.addr;
}

/** A mapped MMAP|INIT_SHARED guest_memfd of `pages` pages on `kernel` with `nodes` NUMA nodes. */
function gmemMapping(kernel: KernelName, nodes: number, pages: number): { b: ModelBackend; fd: number; mem: bigint } {
  const b = createModelBackend({ kernel, numaNodes: nodes });
  const { sys } = KvmSystem.__open(b);
  const { vm } = sys!.__createVm(0);
  const { gmem } = vm!.__createGuestMemfd(BigInt(pages) * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  const r = b.mmap(0n, BigInt(pages) * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, gmem!.fd, 0n);
  if (r.errno) throw new Error(`mmap: ${r.errno}`);
  return { b, fd: gmem!.fd, mem: r.addr };
}

t.test('anonymous memory: the VMA policy, placement on first touch, move_pages() status', async (t) => {
  const b = createModelBackend({ kernel: '6.18', numaNodes: 2 });
  t.equal(b.numaMaxNode(), 1);
  const mem = anon(b, 4);
  t.same(b.movePagesStatus([mem], 0).status, [-ENOENT], 'never touched: no page');
  t.same(b.mbind(mem + PAGE, 2n * PAGE, MPOL_BIND, [2n], 64n, 0), { ret: 0, errno: 0 });
  b.hostFill(mem, 4 * 4096, 1);
  t.same(b.movePagesStatus([0, 1, 2, 3].map((i) => mem + BigInt(i) * PAGE), 0).status, [0, 1, 1, 0]);
  const r = b.getMempolicy(64n, mem + PAGE, BigInt(MPOL_F_ADDR), true);
  t.same([r.ret, r.policy, r.nodemask], [0, MPOL_BIND, 2n]);
  t.same(b.getMempolicy(64n, mem, BigInt(MPOL_F_ADDR), true).policy, MPOL_DEFAULT, 'the VMA was split at the range');
  const n = b.getMempolicy(64n, mem + PAGE, BigInt(MPOL_F_ADDR | MPOL_F_NODE), false);
  t.same([n.ret, n.policy], [0, 1], 'MPOL_F_NODE|MPOL_F_ADDR: the node of the page');
  t.same(b.movePagesStatus([0x1000n], 0).status, [-EFAULT], 'nothing mapped');
});

t.test('mbind() errors: alignment, unmapped ranges, flags, STRICT on misplaced pages', async (t) => {
  const b = createModelBackend({ kernel: '6.18', numaNodes: 2 });
  const mem = anon(b, 2);
  t.equal(b.mbind(mem + 1n, PAGE, MPOL_BIND, [1n], 64n, 0).errno, EINVAL, 'unaligned start');
  t.equal(b.mbind(mem, PAGE, MPOL_BIND, [1n], 64n, 0x100).errno, EINVAL, 'unknown flag');
  t.equal(b.mbind(mem, PAGE, 999, [1n], 64n, 0).errno, EINVAL, 'unknown mode');
  t.equal(b.mbind(mem, PAGE, MPOL_BIND, [4n], 64n, 0).errno, EINVAL, 'no memory on node 2');
  t.equal(b.mbind(mem, 3n * PAGE, MPOL_BIND, [1n], 64n, 0).errno, EFAULT, 'a hole past the mapping');
  t.equal(b.mbind(mem, 0n, MPOL_BIND, [1n], 64n, 0).ret, 0, 'an empty range does nothing');
  b.hostFill(mem, 4096, 1);
  t.equal(b.mbind(mem, PAGE, MPOL_BIND, [2n], 64n, MPOL_MF_STRICT).errno, EIO, 'STRICT: a page on node 0 is not migrated');
  t.equal(b.getMempolicy(64n, mem, BigInt(MPOL_F_ADDR), true).policy, MPOL_BIND, 'the policy is set all the same');
  t.equal(b.mbind(mem, PAGE, MPOL_DEFAULT, null, 0n, MPOL_MF_STRICT).ret, 0, 'STRICT means nothing for DEFAULT');
});

t.test('get_mempolicy() errors and MEMS_ALLOWED', async (t) => {
  const b = createModelBackend({ kernel: '6.18', numaNodes: 3 });
  t.equal(b.getMempolicy(2n, 0n, 0n, true).errno, EINVAL, 'maxnode below nr_node_ids');
  t.equal(b.getMempolicy(64n, 0n, 0x80n, true).errno, EINVAL, 'unknown flag');
  t.equal(b.getMempolicy(64n, 0x1000n, 0n, true).errno, EINVAL, 'addr without MPOL_F_ADDR');
  t.equal(b.getMempolicy(64n, 0x1000n, BigInt(MPOL_F_ADDR), true).errno, EFAULT, 'MPOL_F_ADDR on nothing mapped');
  const m = b.getMempolicy(64n, 0n, BigInt(MPOL_F_MEMS_ALLOWED), true);
  t.same([m.ret, m.nodemask], [0, 7n]);
  t.equal(b.getMempolicy(64n, 0n, BigInt(MPOL_F_MEMS_ALLOWED | MPOL_F_NODE), true).errno, EINVAL);
});

t.test('memfd (shmem): the policy is the file\'s, seen through any mapping of it', async (t) => {
  const b = createModelBackend({ kernel: '6.18', numaNodes: 2 });
  const fd = b.memfdCreate('m').ret;
  b.ftruncate(fd, 2n * PAGE);
  const m1 = b.mmap(0n, 2n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n).addr;
  const m2 = b.mmap(0n, 2n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n).addr;
  t.equal(b.mbind(m1 + PAGE, PAGE, MPOL_INTERLEAVE, [3n], 64n, 0).ret, 0);
  const r = b.getMempolicy(64n, m2 + PAGE, BigInt(MPOL_F_ADDR), true);
  t.same([r.policy, r.nodemask], [MPOL_INTERLEAVE, 3n]);
  t.equal(b.getMempolicy(64n, m2, BigInt(MPOL_F_ADDR), true).policy, MPOL_DEFAULT);
});

t.test('guest_memfd from 6.19 keeps a shared policy: pages follow it, old pages stay, a punch reallocates', async (t) => {
  const { b, fd, mem } = gmemMapping('6.19', 2, 2);
  b.hostFill(mem, 4096, 1);
  t.equal(b.mbind(mem, 2n * PAGE, MPOL_BIND, [2n], 8n, 0).ret, 0);
  b.hostFill(mem, 2 * 4096, 1);
  t.same(b.movePagesStatus([mem, mem + PAGE], 0).status, [0, 1], 'the page that existed stays; the new one is on node 1');
  t.same(b.fallocate(fd, 3, 0n, PAGE), { ret: 0, errno: 0 });
  b.hostFill(mem, 4096, 1);
  t.same(b.movePagesStatus([mem], 0).status, [1], 'after the punch the page follows the policy');
  const second = b.mmap(0n, 2n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n).addr;
  t.equal(b.getMempolicy(8n, second, BigInt(MPOL_F_ADDR), true).policy, MPOL_BIND, 'another mapping sees the inode\'s policy');
});

t.test('guest_memfd before 6.19: mbind() sets only the VMA policy, pages stay on the local node', async (t) => {
  const { b, mem } = gmemMapping('6.18', 2, 1);
  t.equal(b.mbind(mem, PAGE, MPOL_BIND, [2n], 8n, 0).ret, 0);
  t.equal(b.getMempolicy(8n, mem, BigInt(MPOL_F_ADDR), true).policy, MPOL_BIND, 'the VMA has it');
  b.hostFill(mem, 4096, 1);
  t.same(b.movePagesStatus([mem], 0).status, [0], 'no vm_ops->set_policy: the folio comes from node 0');
});

t.test('KSFT_NUMA_NODES is checked', async (t) => {
  t.throws(() => createModelBackend({ kernel: '6.18', numaNodes: 0 }));
  t.throws(() => createModelBackend({ kernel: '6.18', numaNodes: 65 }));
  t.equal(createModelBackend({ kernel: '6.18' }).numaMaxNode(), process.env.KSFT_NUMA_NODES ? Number(process.env.KSFT_NUMA_NODES) - 1 : 0);
});
