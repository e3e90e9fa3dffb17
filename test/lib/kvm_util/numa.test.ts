/** lib/kvm_util/numa.ts: the numaif.h wrappers and is_multi_numa_node_system(). */
import t from 'tap';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { ENOSYS } from '../../../lib/kvm/errno.js';
import type { Backend } from '../../../lib/kvm/backend.js';
import {
  MPOL_BIND, MPOL_F_ADDR, getErrno, getMempolicy, isMultiNumaNodeSystem, kvmGetMempolicy, kvmMbind, kvmMovePages, mbind, movePages,
  setAssertExit, setKvmBackend,
} from '../../../lib/kvm_util/index.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../lib/kvm/uapi.js';

class AssertExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
setAssertExit((code) => { throw new AssertExit(code); });

t.test('one node: not a multi-node system; two: it is, and the asserting forms pass values through', async (t) => {
  setKvmBackend(createModelBackend({ kernel: '6.19', numaNodes: 1 }));
  t.notOk(isMultiNumaNodeSystem());
  const b = createModelBackend({ kernel: '6.19', numaNodes: 2 });
  setKvmBackend(b);
  t.ok(isMultiNumaNodeSystem());
  const mem = b.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  kvmMbind(mem, 4096, MPOL_BIND, 2n, 64, 0);
  const r = kvmGetMempolicy(64, mem, MPOL_F_ADDR);
  t.same([r.policy, r.nodemask], [MPOL_BIND, 2n]);
  b.hostFill(mem, 4096, 1);
  t.same(kvmMovePages(0, [mem], null, 0), [1]);
  t.throws(() => kvmMbind(mem + 1n, 4096, MPOL_BIND, 2n, 64, 0), { message: /^exit / }, 'a failing mbind() is a test failure');
});

t.test('a backend without the calls answers ENOSYS, as a kernel without CONFIG_NUMA does', async (t) => {
  const b = createModelBackend({ kernel: '6.19', numaNodes: 2 });
  const bare: Backend = new Proxy(b, {
    get: (target, p, recv) => (['mbind', 'getMempolicy', 'movePagesStatus', 'numaMaxNode'].includes(String(p)) ? undefined : Reflect.get(target, p, recv) as unknown),
  });
  setKvmBackend(bare);
  t.notOk(isMultiNumaNodeSystem());
  t.same(mbind(0n, 4096, MPOL_BIND, 1n, 64, 0), { ret: -1, errno: ENOSYS });
  t.equal(getErrno(), ENOSYS);
  t.equal(getMempolicy(64, 0n, 0).errno, ENOSYS);
  t.equal(movePages(0, [0n], null, 0).errno, ENOSYS);
});
