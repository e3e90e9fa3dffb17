/**
 * The encoder against GNU as: every instruction form the assembler offers,
 * over registers that need REX, SIB, disp8-0 (rbp/r13) and the byte
 * registers spl..dil, assembled by both and compared byte for byte; then
 * whole compiled programs (code and data), whose listings name every
 * instruction the compiler emitted. Without binutils the comparisons SKIP
 * with the reason.
 */
import t from 'tap';
import { Asm, R, type AluOp, type Cond, type Gpr, type MemOperand, type Width } from '../../../../lib/kvm/x86/asm.js';
import { compileGuestProgram } from '../../../../lib/kvm/x86/agent.js';
import { gnuAsMissing, gnuAssemble, hexBytes } from './gnu_as.js';
import { env, kitchenSinkProgram } from './programs.js';
import { recordGuestProgram } from '../../../../lib/guest/builder.js';

const missing = gnuAsMissing();

type Case = [name: string, emit: (a: Asm) => void];

const ALL = Object.values(R) as Gpr[];
const SOME: Gpr[] = [R.rax, R.rcx, R.rsp, R.rbp, R.rsi, R.rdi, R.r8, R.r12, R.r13, R.r15];
const WIDTHS: Width[] = [1, 2, 4, 8];
const ALU_OPS: AluOp[] = ['add', 'or', 'and', 'sub', 'xor', 'cmp'];
const CONDS: Cond[] = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const MEMS: MemOperand[] = [
  { base: R.rdi }, { base: R.rsp }, { base: R.rbp }, { base: R.r12 }, { base: R.r13 }, { base: R.r9 },
  { base: R.rdi, disp: 8 }, { base: R.rdi, disp: -8 }, { base: R.rsp, disp: 0x1000 }, { base: R.r13, disp: -0x81 },
  { base: R.rbp, index: R.rax, scale: 8 }, { base: R.rsi, index: R.rcx, scale: 1, disp: 2 }, { base: R.r15, index: R.r9, scale: 4, disp: 0x7f },
];
const IMMS = [0n, 1n, 0x7fn, 0x80n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x123456789abcdef0n, -1n, -0x80n, -0x81n, -0x80000000n, -0x80000001n];

function cases(): Case[] {
  const c: Case[] = [];
  for (const r of ALL) {
    c.push([`movabs ${r}`, (a) => a.movabs(r, 0x1122334455667788n)]);
    c.push([`mov r32 ${r}`, (a) => a.movR32Imm(r, 0x89abcdef)]);
    c.push([`mov r64 simm32 ${r}`, (a) => a.movR64Simm32(r, -5n)]);
    c.push([`mov8 ${r}`, (a) => a.mov8Imm(r, 0xaa)]);
    c.push([`zero ${r}`, (a) => a.zero(r)]);
    c.push([`push/pop ${r}`, (a) => { a.push(r); a.pop(r); }]);
    c.push([`inc/dec ${r}`, (a) => { a.inc(r); a.dec(r); a.dec32(r); }]);
    c.push([`div ${r}`, (a) => a.div(r)]);
    c.push([`shifts ${r}`, (a) => { for (const n of [1, 3, 63]) { a.shiftImm('shl', r, n); a.shiftImm('shr', r, n); } a.shiftCl('shl', r); a.shiftCl('shr', r); }]);
    for (const v of IMMS) c.push([`movImm ${r} ${v}`, (a) => a.movImm(r, v)]);
  }
  for (const d of SOME) {
    for (const s of SOME) {
      c.push([`mov ${d},${s}`, (a) => a.mov(d, s)]);
      c.push([`test ${d},${s}`, (a) => { a.test(d, s); a.test8(d, s); }]);
      c.push([`cmov ${d},${s}`, (a) => a.cmov('a', d, s)]);
      c.push([`movzx r8 ${d},${s}`, (a) => a.movzxR8(d, s)]);
      for (const op of ALU_OPS) c.push([`${op} ${d},${s}`, (a) => { a.alu(op, d, s); a.alu32(op, d, s); }]);
    }
    for (const op of ALU_OPS) {
      for (const v of [0n, 3n, -1n, 0x7fn, 0x80n, -0x80n, -0x81n, 0x1000n, 0x7fffffffn, -0x80000000n]) c.push([`${op} ${d},${v}`, (a) => a.aluImm(op, d, v)]);
      for (const v of [0, 0x30, 0x7f, 0x80, 0xff]) c.push([`${op}8 ${d},${v}`, (a) => a.alu8Imm(op, d, v)]);
    }
  }
  for (const m of MEMS) {
    const n = JSON.stringify(m);
    for (const w of WIDTHS) {
      for (const r of [R.rax, R.rcx, R.rsi, R.r8, R.r15]) {
        c.push([`load${w} ${r} ${n}`, (a) => a.load(w, r, m)]);
        c.push([`store${w} ${r} ${n}`, (a) => a.store(w, m, r)]);
      }
      for (const v of [0n, 0x7fn, 0x1234n, 0x7fffffffn, -2n]) c.push([`storeImm${w} ${v} ${n}`, (a) => a.storeImm(w, m, w === 8 ? v : BigInt.asUintN(w * 8, v))]);
    }
    c.push([`lea ${n}`, (a) => { a.lea(R.rax, m); a.lea(R.r15, m); a.lea(R.rsp, m); }]);
    if (!('index' in m) || m.index === undefined) c.push([`dec mem ${n}`, (a) => a.decMem(m as { base: Gpr })]);
  }
  c.push(['rip-relative', (a) => {
    const d = a.label('d');
    a.lea(R.rsi, { rip: d });
    a.load(8, R.r9, { rip: d });
    a.load(1, R.rax, { rip: d });
    a.store(2, { rip: d }, R.r10);
    a.storeImm(4, { rip: d }, 0x12345678n);
    a.storeImm(1, { rip: d }, 0x12n);
    a.bind(d);
    a.data(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    a.lea(R.rdi, { rip: d });
  }]);
  for (const v of [0, 3, -1, 0x7f, 0x80, -0x80, -0x81, 0x1000, 0x7fffffff, -0x80000000]) c.push([`push ${v}`, (a) => a.pushImm(v)]);
  c.push(['string ops', (a) => { a.repStosb(); a.repeScasb(); a.repMovsb(); a.stosb(); a.stosq(); a.lodsb(); a.lodsd(); a.lodsq(); }]);
  c.push(['system', (a) => { a.movDx(0x1000); a.inAlDx(); a.vmcall(); a.vmmcall(); a.ud2(); a.cli(); a.hlt(); a.ret(); }]);
  for (const cc of CONDS) {
    c.push([`j${cc} short`, (a) => { const l = a.label('x'); const b = a.here('b'); a.j(cc, l); a.j(cc, b); a.bind(l); }]);
    c.push([`j${cc} near`, (a) => {
      const l = a.label('x');
      const b = a.here('b');
      a.data(new Uint8Array(200));
      a.j(cc, l);
      a.j(cc, b);
      a.data(new Uint8Array(200));
      a.bind(l);
    }]);
  }
  c.push(['jmp/call', (a) => {
    const f = a.label('f');
    const b = a.here('b');
    a.jmp(f);
    a.call(f);
    a.call(b);
    a.jmp(b);
    a.bind(f);
    a.data(new Uint8Array(126));
    a.jmp(b);
    a.jmp(b);
  }]);
  c.push(['relaxation at the rel8 edge', (a) => {
    // A forward jump over exactly 127 bytes stays short; 128 needs rel32.
    const l1 = a.label('e');
    a.jmp(l1);
    a.data(new Uint8Array(127));
    a.bind(l1);
    const l2 = a.label('e');
    a.jmp(l2);
    a.data(new Uint8Array(128));
    a.bind(l2);
    // A jump that grows pushes another out of rel8 range.
    const l3 = a.label('e');
    const l4 = a.label('e');
    a.jmp(l3);
    a.jmp(l4);
    a.data(new Uint8Array(124));
    a.bind(l3);
    a.data(new Uint8Array(10));
    a.jmp(l4);
    a.data(new Uint8Array(120));
    a.bind(l4);
  }]);
  c.push(['align', (a) => { a.ret(); a.align(16); a.ret(); a.align(8); a.align(8); a.data(Uint8Array.of(9)); }]);
  return c;
}

t.test('every instruction form encodes as GNU as encodes it', { skip: missing }, async (t) => {
  const all = cases();
  const ours: Uint8Array[] = [];
  const listing: string[] = ['.intel_syntax noprefix', '.text'];
  all.forEach(([, emit], i) => {
    const a = new Asm();
    emit(a);
    const r = a.assemble({ listing: true });
    ours.push(r.bytes);
    // Each case starts 16-aligned, with its labels renamed apart.
    listing.push(`\t.balign 16, 0`, ...r.listing!.split('\n').slice(2).map((l) => l.replace(/\.L/g, `.Lc${i}_`)));
  });
  const theirs = gnuAssemble(`${listing.join('\n')}\n`);
  let at = 0;
  let bad = 0;
  all.forEach(([name], i) => {
    at = (at + 15) & ~15;
    const want = theirs.subarray(at, at + ours[i]!.length);
    if (Buffer.compare(Buffer.from(want), Buffer.from(ours[i]!)) !== 0) {
      bad++;
      t.fail(`${name}: ours ${hexBytes(ours[i]!)}, GNU as ${hexBytes(want)}`);
    }
    at += ours[i]!.length;
  });
  t.equal(at, theirs.length, 'the same total length');
  t.equal(bad, 0, `${all.length} cases, ${at} bytes, all equal`);
});

t.test('compiled programs: code and data equal GNU as on the listing', { skip: missing }, async (t) => {
  const programs = [
    ['kitchen sink, vmcall, 1 GiB pages', kitchenSinkProgram(), env()],
    ['kitchen sink, vmmcall, 2 MiB pages', kitchenSinkProgram(), env({ hypercall: 'vmmcall', gbPages: false })],
    ['ucall at a high GPA', kitchenSinkProgram(), env({ ucallGpa: 0x123456789000n, ucallHva: 0x10n })],
    ['empty program', recordGuestProgram(() => {}), env()],
  ] as const;
  for (const [name, program, e] of programs) {
    const img = compileGuestProgram(program, e, { listing: true });
    const code = img.bytes.subarray(Number(img.layout.code.gpa - e.area.gpa));
    const theirs = gnuAssemble(img.listing!);
    const diff = code.findIndex((b, i) => b !== theirs[i]);
    t.equal(theirs.length, code.length, `${name}: ${code.length} bytes`);
    t.equal(diff, -1, `${name}: identical${diff >= 0 ? ` (first difference at code offset 0x${diff.toString(16)})` : ''}`);
  }
});

t.test('assembler contract', async (t) => {
  const a = new Asm();
  const l = a.label('never');
  a.jmp(l);
  t.throws(() => a.assemble(), /never bound/);
  const b = new Asm();
  const m = b.here('twice');
  b.bind(m);
  t.throws(() => b.assemble(), /bound twice/);
  t.throws(() => new Asm().load(8, R.rax, { base: R.rax, index: R.rsp }), /rsp cannot be an index/);
  t.throws(() => new Asm().aluImm('add', R.rax, 0x80000000n), /sign-extended imm32/);
  t.throws(() => new Asm().storeImm(8, { base: R.rdi }, 0x80000000n), /sign-extended imm32/);
  t.throws(() => new Asm().pushImm(2 ** 31), /sign-extended imm32/);
  const c = new Asm();
  c.ret();
  t.equal(c.assemble().listing, undefined, 'no listing unless asked');
});
