/** The policy rules of lib/kvm/model/mempolicy.ts (mm/mempolicy.c). */
import t from 'tap';
import { EFAULT, EINVAL } from '../../../../lib/kvm/errno.js';
import {
  MPOL_BIND, MPOL_DEFAULT, MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES, MPOL_INTERLEAVE, MPOL_LOCAL,
  MPOL_PREFERRED, MPOL_PREFERRED_MANY,
} from '../../../../lib/kvm/numa_uapi.js';
import { SharedPolicy, getNodes, makePolicy, mpolEqual, placeNode, reportPolicy, sanitizeMode } from '../../../../lib/kvm/model/mempolicy.js';

t.test('get_nodes(): maxnode counts one past the last node, the words read must exist, bits past MAX_NUMNODES are EINVAL', async (t) => {
  t.same(getNodes([3n], 0n), { errno: EINVAL }, 'maxnode 0 with a mask: --maxnode wraps past a page of bits');
  t.same(getNodes(null, 0n), { ok: 0n }, 'maxnode 0 with NULL, as guest_memfd_test passes MPOL_DEFAULT');
  t.same(getNodes([3n], 1n), { ok: 0n }, 'maxnode 1: no node at all');
  t.same(getNodes([3n], 2n), { ok: 1n }, 'maxnode 2: node 0 only');
  t.same(getNodes([3n], 65n), { ok: 3n });
  t.same(getNodes(null, 65n), { ok: 0n }, 'NULL nodemask');
  t.same(getNodes([1n], 66n), { errno: EFAULT }, 'the kernel reads a second word the buffer lacks');
  t.same(getNodes([1n, 1n], 129n), { errno: EINVAL }, 'node 64 is past MAX_NUMNODES');
  t.same(getNodes([1n, 0n], 129n), { ok: 1n }, 'zero words past MAX_NUMNODES are fine');
  t.same(getNodes([1n], BigInt(4096 * 8 + 2)), { errno: EINVAL }, 'more than a page of bits');
});

t.test('sanitize_mpol_flags(): unknown modes, STATIC with RELATIVE, NUMA_BALANCING outside BIND/PREFERRED_MANY', async (t) => {
  t.same(sanitizeMode(999), { errno: EINVAL });
  t.same(sanitizeMode(MPOL_BIND | MPOL_F_STATIC_NODES), { ok: { mode: MPOL_BIND, flags: MPOL_F_STATIC_NODES } });
  t.same(sanitizeMode(MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES), { errno: EINVAL });
  t.same(sanitizeMode(MPOL_INTERLEAVE | MPOL_F_NUMA_BALANCING), { errno: EINVAL });
  t.same(sanitizeMode(MPOL_PREFERRED_MANY | MPOL_F_NUMA_BALANCING), { ok: { mode: MPOL_PREFERRED_MANY, flags: MPOL_F_NUMA_BALANCING } });
});

t.test('mpol_new(): DEFAULT takes no nodes, empty PREFERRED is LOCAL, other modes need a node with memory', async (t) => {
  t.same(makePolicy(MPOL_DEFAULT, 0, 0n, 2), { ok: null });
  t.same(makePolicy(MPOL_DEFAULT, 0, 1n, 2), { errno: EINVAL });
  const local = makePolicy(MPOL_PREFERRED, 0, 0n, 2);
  t.ok('ok' in local && local.ok?.mode === MPOL_LOCAL, 'PREFERRED without nodes becomes LOCAL');
  t.same(makePolicy(MPOL_PREFERRED, MPOL_F_STATIC_NODES, 0n, 2), { errno: EINVAL });
  t.same(makePolicy(MPOL_LOCAL, 0, 1n, 2), { errno: EINVAL });
  t.same(makePolicy(MPOL_BIND, 0, 0n, 2), { errno: EINVAL });
  t.same(makePolicy(MPOL_BIND, 0, 4n, 2), { errno: EINVAL }, 'node 2 has no memory on a two-node host');
  const bind = makePolicy(MPOL_BIND, 0, 6n, 2);
  t.ok('ok' in bind && bind.ok?.nodes === 2n && bind.ok.userNodes === 2n, 'the mask is cut to the nodes with memory');
  const stat = makePolicy(MPOL_BIND, MPOL_F_STATIC_NODES, 6n, 2);
  t.ok('ok' in stat && stat.ok?.nodes === 2n && stat.ok.userNodes === 6n, 'STATIC_NODES reports the user mask');
  const rel = makePolicy(MPOL_BIND, MPOL_F_RELATIVE_NODES, 4n, 2);
  t.ok('ok' in rel && rel.ok?.nodes === 1n, 'RELATIVE_NODES folds node 2 onto node 0 of two');
  const pref = makePolicy(MPOL_PREFERRED, 0, 3n, 2);
  t.ok('ok' in pref && pref.ok?.nodes === 1n, 'PREFERRED keeps the first node');
});

t.test('get_mempolicy() reports and placement', async (t) => {
  t.same(reportPolicy(null), { policy: MPOL_DEFAULT, nodes: 0n });
  const il = makePolicy(MPOL_INTERLEAVE, 0, 3n, 2);
  if (!('ok' in il) || !il.ok) throw new Error('interleave');
  t.same(reportPolicy(il.ok), { policy: MPOL_INTERLEAVE, nodes: 3n });
  t.same([placeNode(il.ok), placeNode(il.ok), placeNode(il.ok)], [0, 1, 0], 'interleave goes round the mask');
  const bind1 = makePolicy(MPOL_BIND, 0, 2n, 2);
  const bind01 = makePolicy(MPOL_BIND, 0, 3n, 2);
  if (!('ok' in bind1) || !('ok' in bind01)) throw new Error('bind');
  t.equal(placeNode(bind1.ok), 1, 'BIND to node 1 allocates there');
  t.equal(placeNode(bind01.ok), 0, 'BIND allowing the local node stays local');
  t.equal(placeNode(null), 0, 'the default policy is the local node');
  const again = makePolicy(MPOL_BIND, 0, 2n, 2);
  if (!('ok' in again)) throw new Error('bind');
  t.ok(mpolEqual(bind1.ok, again.ok), 'same mode, flags and nodes are equal');
  t.notOk(mpolEqual(bind1.ok, bind01.ok));
  t.notOk(mpolEqual(bind1.ok, null));
});

t.test('a shared policy replaces ranges and deletes with NULL (mpol_set_shared_policy())', async (t) => {
  const a = makePolicy(MPOL_BIND, 0, 1n, 2);
  const b = makePolicy(MPOL_BIND, 0, 2n, 2);
  if (!('ok' in a) || !('ok' in b) || !a.ok || !b.ok) throw new Error('bind');
  const sp = new SharedPolicy();
  sp.set(0, 10, a.ok);
  sp.set(4, 6, b.ok);
  t.same([3, 4, 5, 6].map((i) => sp.lookup(i)?.nodes), [1n, 2n, 2n, 1n]);
  sp.set(5, 8, null);
  t.same([4, 5, 7, 8].map((i) => sp.lookup(i)?.nodes ?? null), [2n, null, null, 1n]);
  sp.clear();
  t.equal(sp.lookup(0), null);
});
