import t from 'tap';
import { GuestBuilder, any, cmp, eq, recordGuestProgram, type GuestCode } from '../../../lib/guest/builder.js';
import { __kvmHypercallMapGpaRange, kvmHypercallMapGpaRange } from '../../../lib/guest/helpers.js';
import { GUEST_NR_REGS, formatGuestMessage, type GuestOp } from '../../../lib/kvm/guest_program.js';
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

t.test('registers, scalar memory, control flow and runtime asserts are recorded with their operands', async (t) => {
  const p = recordGuestProgram((g) => {
    const a = g.reg();
    const b = g.reg();
    g.load(a, 0x1000n, 4, { view: 'shared' });
    g.store(0x2000n, a, 2);
    g.mov(b, 7);
    g.alu('shl', b, a);
    g.if(eq(a, 1), (x) => x.syncN(a), (y) => y.sync(2));
    g.while(any(eq(a, 0), cmp(b, 'gtu', 3)), (w) => w.load(a, 0x1000n));
    g.spinWhileEq(a, 0xc0000000n, 0n);
    g.assert(any(eq(a, 1), eq(a, 0xbeef)), 'a == 1 || a == MMIO', "got '%lx' (%#lx, %lu%%)", a, b, 3);
    g.assertEq(a, 1, 'val', '1');
    g.hypercall(12, [1, 2], { dst: b });
  });
  t.same(p.ops.map((o) => o.op), ['load', 'store', 'mov', 'alu', 'if', 'while', 'load', 'while', 'assert', 'assert', 'hypercall']);
  const load = p.ops[0] as Extract<GuestOp, { op: 'load' }>;
  t.same([load.dst, load.gpa, load.width, load.view], [{ reg: 0 }, 0x1000n, 4, 'shared']);
  const iff = p.ops[4] as Extract<GuestOp, { op: 'if' }>;
  t.same(iff.cond, { any: [{ a: { reg: 0 }, cmp: 'eq', b: 1n }] });
  t.same(iff.then.map((o) => o.op), ['ucall']);
  t.same(iff.else.map((o) => o.op), ['ucall']);
  const w = p.ops[5] as Extract<GuestOp, { op: 'while' }>;
  t.equal(w.cond.any.length, 2, 'any() flattens its comparisons');
  const as = p.ops[8] as Extract<GuestOp, { op: 'assert' }>;
  t.same(as.args, [{ reg: 0 }, { reg: 1 }, 3n]);
  const eqA = p.ops[9] as Extract<GuestOp, { op: 'assert' }>;
  t.equal(eqA.message, '%#lx != %#lx (val != 1)');
  t.same((p.ops[10] as Extract<GuestOp, { op: 'hypercall' }>).dst, { reg: 1 });
  t.equal(formatGuestMessage(as.message, [0x1n, 0xabn, 3n]), "got '1' (0xab, 3%)");
  t.equal(formatGuestMessage('%#lx %lx %lu %ld %x %d', [0n, 0n, 18446744073709551615n, 5n, 255n, 7n]), '0 0 18446744073709551615 5 ff 7');
});

t.test('guest programs refuse what no backend could run, when recorded', async (t) => {
  const g = new GuestBuilder();
  for (let i = 0; i < GUEST_NR_REGS; i++) g.reg();
  t.throws(() => g.reg(), /a guest program has 8 registers/);
  t.throws(() => new GuestBuilder().load({ reg: 0 }, 0, 8), /not a register of this guest program/);
  t.throws(() => { const h = new GuestBuilder(); h.load(h.reg(), 0, 3 as 4); }, /width 3: must be 1, 2, 4 or 8/);
  t.throws(() => { const h = new GuestBuilder(); h.assert(eq(h.reg(), 1), 'x', '%lx %lx', 1); }, /2 conversions but 1 values/);
  t.throws(() => { const h = new GuestBuilder(); h.assert(eq(h.reg(), 1), 'x', '%s', 1); }, /unsupported conversion/);
  t.throws(() => new GuestBuilder().loop(-1, () => {}), /loop count -1/);
  t.throws(() => new GuestBuilder().mov({ reg: 0 }, 1), /not a register/);
  t.throws(() => { const h = new GuestBuilder(); h.mov(h.reg(), 1.5); }, /not an integer/);
  t.throws(() => new GuestBuilder().hypercall(1, [1, 2, 3, 4, 5]), /at most 4 args/);
  t.same(new GuestBuilder().ops, [], 'a failed body leaves nothing half-recorded');
  const h = new GuestBuilder();
  t.throws(() => h.if(eq(h.reg(), 1), () => { throw new Error('boom'); }), /boom/);
  h.sync(1);
  t.same(h.ops.map((o) => o.op), ['ucall'], 'the frame of a body that threw is dropped');
});
