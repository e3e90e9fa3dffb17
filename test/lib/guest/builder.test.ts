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

t.test('wrongly typed or out-of-range arguments are refused when recorded, naming the call and the argument', async (t) => {
  const g = new GuestBuilder();
  const r = g.reg();
  const bad = (v: unknown): never => v as never;
  // [what, the call, the error class, the message]
  const cases: [string, () => void, ErrorConstructor, RegExp][] = [
    ['gpa as a string', () => g.memset(bad('0x1000'), 4096, 1), TypeError, /^g\.memset\(\): gpa must be a bigint or an integer number, got string "0x1000"$/],
    ['gpa not an integer', () => g.memcmp(1.5, 4096, 1), RangeError, /^g\.memcmp\(\): gpa must be an integer, got number 1\.5$/],
    ['negative gpa', () => g.read(-1, 1), RangeError, /gpa must be in 0\.\.2\^64-1, got -1/],
    ['gpa past 64 bits', () => g.load(r, 1n << 64n), RangeError, /g\.load\(\): gpa must be in 0\.\.2\^64-1/],
    ['size NaN', () => g.memset(0x1000, NaN, 1), RangeError, /g\.memset\(\): size must be an integer, got number NaN/],
    ['size undefined', () => g.read(0x1000, bad(undefined)), TypeError, /g\.read\(\): size must be a bigint or an integer number, got undefined/],
    ['pattern as a string', () => g.memset(0x1000, 1, bad('a')), TypeError, /g\.memset\(\): pattern must be/],
    ['an unknown view', () => g.memcmp(0x1000, 1, 1, { view: bad('secret') }), RangeError, /view must be one of 'auto', 'private', 'shared', got string "secret"/],
    ['a register of another program', () => g.ucall(1, [{ reg: 5 }]), RangeError, /not a register of this guest program/],
    ['null as a register', () => g.mov(bad(null), 1), RangeError, /not a register of this guest program: null/],
    ['ucall cmd as a bigint', () => g.ucall(bad(1n)), TypeError, /g\.ucall\(\): cmd must be a non-negative integer number/],
    ['a stage as a string', () => g.sync(bad('1')), TypeError, /g\.ucall\(\): args\[1\] must be a bigint or an integer number/],
    ['printf of a number', () => g.printf(bad(5)), TypeError, /text must be a string/],
    ['an unknown ALU function', () => g.alu(bad('mul'), r, 1), RangeError, /g\.alu\(\): fn must be one of/],
    ['an unknown comparison', () => g.if(cmp(r, bad('lt'), 1), () => {}), RangeError, /cmp must be one of 'eq', 'ne', 'ltu', 'leu', 'gtu', 'geu'/],
    ['a condition that is a number', () => g.while(bad(1), () => {}), TypeError, /a guest condition must come from eq\(\)/],
    ['a body that is not a function', () => g.loop(2, bad(undefined)), TypeError, /body must be a function, got undefined/],
    ['an else that is not a function', () => g.if(eq(r, 1), () => {}, bad(1)), TypeError, /g\.if\(\): otherwise must be a function/],
    ['hypercall nr undefined', () => g.hypercall(bad(undefined), []), TypeError, /g\.hypercall\(\): nr must be/],
    ['hypercall args not an array', () => g.hypercall(1, bad(5)), TypeError, /args must be an array/],
    ['a hypercall argument past 64 bits', () => g.hypercall(1, [1n << 64n]), RangeError, /args\[0\] does not fit 64 bits/],
    ['a platform argument that is an object', () => g.platform('tdx.accept', { gpa: bad({}) }), TypeError, /g\.platform\(\) tdx\.accept: args\.gpa must be a bigint/],
    ['a platform argument not an integer', () => g.platform('tdx.accept', { gpa: 0.5 }), TypeError, /args\.gpa must be/],
    ['a platform call that is not a string', () => g.platform(bad(1), {}), TypeError, /g\.platform\(\): call must be a string/],
    ['an assert message that is not a string', () => g.assert(true, 'x', bad(1)), TypeError, /g\.assert\(\): message must be a string/],
    ['an assert condition that is a number', () => g.assert(bad(1), 'x'), TypeError, /cond must be a boolean or a guest condition/],
    ['a fail message that is not a string', () => g.fail(bad(undefined)), TypeError, /g\.fail\(\): message must be a string/],
    ['an expected value that is a string', () => g.hypercall(1, [], { expect: bad('0') }), TypeError, /g\.hypercall\(\): expect must be/],
  ];
  for (const [what, call, cls, msg] of cases) {
    try {
      call();
      t.fail(`${what}: accepted`);
    } catch (e) {
      t.ok(e instanceof cls, `${what}: a ${cls.name}`);
      t.match((e as Error).message, msg, what);
    }
  }
  t.same(g.ops, [], 'nothing half-recorded');
  // What C accepts stays accepted: memset()'s int pattern keeps its low byte, a negative hypercall argument is its u64.
  g.memset(0x1000, 1, 0x1aa);
  g.hypercall(1, [-1]);
  t.same([(g.ops[0] as Extract<GuestOp, { op: 'write' }>).pattern, (g.ops[1] as Extract<GuestOp, { op: 'hypercall' }>).args], [0xaa, [-1n]]);
});
