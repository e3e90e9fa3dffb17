import t from 'tap';
import { GuestBuilder, recordGuestProgram, type GuestCode } from '../../../lib/guest/builder.js';
import { __kvmHypercallMapGpaRange, kvmHypercallMapGpaRange } from '../../../lib/guest/helpers.js';
import type { GuestOp } from '../../../lib/kvm/guest_program.js';
import { KVM_HC_MAP_GPA_RANGE, UCALL_DONE, UCALL_PRINTF, UCALL_SYNC } from '../../../lib/kvm/uapi.js';

const HERE = 'test/lib/guest/builder.test.ts';

t.test('ops are recorded in order with the recording line', async (t) => {
  const code: GuestCode = (g, base) => {
    g.memset(base!, 8192, 0x1aa); // line A
    g.memcmp(base!, 8192, 0xaa);
    g.read(base!, 8, { view: 'shared' });
    g.done();
  };
  const p = recordGuestProgram(code, [0x1000n]);
  t.same(p.ops.map((o) => o.op), ['write', 'check', 'read', 'ucall']);
  const w = p.ops[0] as Extract<GuestOp, { op: 'write' }>;
  t.equal(w.gpa, 0x1000n);
  t.equal(w.size, 8192);
  t.equal(w.pattern, 0xaa, 'patterns are bytes');
  t.equal(w.view, 'auto');
  t.equal(w.loc.file, HERE);
  t.equal(p.ops[1]!.loc.line, w.loc.line + 1);
  t.equal((p.ops[1] as Extract<GuestOp, { op: 'check' }>).expr, 'mem[i] == 0xaa');
  t.equal((p.ops[2] as Extract<GuestOp, { op: 'read' }>).view, 'shared');
  t.same(p.ops[3], { op: 'ucall', cmd: UCALL_DONE, args: [], loc: p.ops[3]!.loc });
});

t.test('TypeScript loops and tables just record more ops; loop() records a loop op', async (t) => {
  const ranges = [{ off: 0, size: 4096 }, { off: 4096, size: 8192 }];
  const p = recordGuestProgram((g) => {
    for (const r of ranges) g.memset(r.off, r.size, 1);
    g.loop('forever', (b) => b.read(0xc0000000n, 8));
    g.loop(3, (b) => { b.sync(1); b.sync(2); });
  });
  t.equal(p.ops.length, 4);
  const forever = p.ops[2] as Extract<GuestOp, { op: 'loop' }>;
  t.equal(forever.count, 'forever');
  t.equal(forever.body.length, 1);
  const three = p.ops[3] as Extract<GuestOp, { op: 'loop' }>;
  t.equal(three.count, 3);
  t.same(three.body.map((o) => (o as Extract<GuestOp, { op: 'ucall' }>).args), [[0n, 1n], [0n, 2n]]);
});

t.test('ucall helpers: GUEST_SYNC puts the stage in args[1], SYNCn in args[0..], PRINTF in the buffer', async (t) => {
  const g = new GuestBuilder();
  g.sync(7);
  g.syncN(0, 0x1000n, 4096, 0xaa, 0xcc);
  g.printf('hello 42\n');
  const [s, sn, pf] = g.ops as Extract<GuestOp, { op: 'ucall' }>[];
  t.same([s!.cmd, s!.args], [UCALL_SYNC, [0n, 7n]]);
  t.same(sn!.args, [0n, 0x1000n, 4096n, 0xaan, 0xccn]);
  t.same([pf!.cmd, pf!.text], [UCALL_PRINTF, 'hello 42\n']);
  t.throws(() => g.syncN(1, 2, 3, 4, 5, 6, 7, 8), RangeError, 'at most 7 ucall args');
});

t.test('MAP_GPA_RANGE helpers: size in pages; the asserting form expects RAX == 0', async (t) => {
  const g = new GuestBuilder();
  kvmHypercallMapGpaRange(g, 0x100000000n, 0x201000, 0x5n); // the caller's line, not the helper's
  __kvmHypercallMapGpaRange(g, 0x100000000n, 4096, 0);
  const [a, b] = g.ops as Extract<GuestOp, { op: 'hypercall' }>[];
  t.equal(a!.nr, BigInt(KVM_HC_MAP_GPA_RANGE));
  t.same(a!.args, [0x100000000n, 0x201n, 5n, 0n]);
  t.equal(a!.expect, 0n);
  t.equal(a!.expr, '!ret');
  t.equal(a!.loc.file, HERE, 'helpers report the test line');
  t.equal(b!.expect, undefined);
});

t.test('fail and record-time asserts', async (t) => {
  const g = new GuestBuilder();
  g.assert(true, 'x == 1');
  g.assert(false, 'y == 2', 'y was 3');
  g.fail('boom');
  t.same(g.ops.map((o) => [o.op, (o as Extract<GuestOp, { op: 'fail' }>).expr, (o as Extract<GuestOp, { op: 'fail' }>).message]),
    [['fail', 'y == 2', 'y was 3'], ['fail', 'Unconditional guest failure', 'boom']]);
});

t.test('the program is plain data (structured-clone safe)', async (t) => {
  const p = recordGuestProgram((g) => { g.memset(0, 1, 2); g.hypercall(12, [1, 2]); g.platform('accept', { gpa: 0n, level: 0 }, { expect: 0 }); });
  t.same(structuredClone(p), p);
});
