/**
 * The compiler's image, structurally: where things go, what the page
 * tables map (exactly: the area, the ucall struct and the ops' constant
 * ranges, in large pages), the CPU state for KVM_SET_SREGS/REGS, and the
 * AgentError for what the agent cannot compile. What the code does is
 * checked on real KVM against the model by the end-to-end tests.
 */
import t, { type Test } from 'tap';
import { recordGuestProgram, type GuestCode } from '../../../../lib/guest/builder.js';
import type { GuestOp, GuestProgram } from '../../../../lib/kvm/guest_program.js';
import { SIZEOF_UCALL } from '../../../../lib/kvm/uapi.js';
import {
  AgentError, __compileGuestProgram, agentRegs, compileGuestProgram, longModeSregs, type AgentEnv, type AgentImage,
} from '../../../../lib/kvm/x86/agent.js';
import { PAGE_1G, PAGE_2M, type GpaRange } from '../../../../lib/kvm/x86/paging.js';
import { GDT_SIZE, GDT_TSS, KVM_SREGS_OFFSET, SIZEOF_KVM_SREGS, TSS_SIZE, buildGdt, decodeSegment } from '../../../../lib/kvm/x86/segments.js';
import { listMappings, pageWalk } from './page_walk.js';
import { AREA_GPA, AREA_SIZE, HI, UCALL_GPA, env, kitchenSinkProgram } from './programs.js';

const HERE = 'test/lib/kvm/x86/agent.test.ts';

/** The constant ranges of a program's memory ops, nested ones included. */
function opRanges(ops: readonly GuestOp[]): GpaRange[] {
  const out: GpaRange[] = [];
  for (const op of ops) {
    if ((op.op === 'write' || op.op === 'check' || op.op === 'read') && op.size > 0) out.push({ gpa: op.gpa, size: BigInt(op.size) });
    if (op.op === 'load' || op.op === 'store') out.push({ gpa: op.gpa, size: BigInt(op.width) });
    if (op.op === 'loop' || op.op === 'while') out.push(...opRanges(op.body));
    if (op.op === 'if') out.push(...opRanges(op.then), ...opRanges(op.else));
  }
  return out;
}

/** The large pages `ranges` need, as sorted bases. */
function expectedPages(ranges: readonly GpaRange[], unit: bigint): bigint[] {
  const s = new Set<bigint>();
  for (const r of ranges) for (let p = r.gpa / unit; p * unit < r.gpa + r.size; p++) s.add(p * unit);
  return [...s].sort((a, b) => (a < b ? -1 : 1));
}

function checkImage(t: Test, img: AgentImage, program: GuestProgram, e: AgentEnv): void {
  const { layout } = img;
  t.ok(BigInt(img.bytes.length) <= e.area.size, `image ${img.bytes.length} bytes fits the area`);
  const parts = [layout.pageTables, { gpa: layout.gdt.gpa, size: 4096n }, layout.stack, layout.code];
  t.equal(parts[0]!.gpa, e.area.gpa, 'page tables first');
  for (let i = 1; i < parts.length; i++) t.equal(parts[i]!.gpa, parts[i - 1]!.gpa + parts[i - 1]!.size, `part ${i} follows part ${i - 1}`);
  const codeEnd = layout.code.gpa + layout.code.size;
  t.ok(layout.data.gpa >= codeEnd && layout.data.gpa < codeEnd + 16n && layout.data.gpa % 16n === 0n, 'data 16-aligned after the code');
  t.equal(layout.data.gpa + layout.data.size, e.area.gpa + BigInt(img.bytes.length), 'data ends the image');
  t.equal(layout.pageTables.gpa % 4096n + layout.stack.gpa % 4096n + layout.code.gpa % 4096n, 0n, 'tables, stack and code page-aligned');
  t.ok(layout.stack.size >= 8192n, 'a stack of two pages or more');
  t.equal(img.cr3, e.area.gpa, 'CR3 = the PML4 at the start of the area');
  t.equal(img.rip, layout.code.gpa, 'RIP = the first op');
  t.equal(img.rsp, layout.stack.gpa + layout.stack.size, 'RSP = the top of the stack');
  t.same(img.gdt, { base: layout.gdt.gpa, limit: GDT_SIZE - 1 });
  t.same(img.tr, { base: layout.tss.gpa, limit: TSS_SIZE - 1, selector: GDT_TSS });
  t.ok(layout.tss.gpa >= layout.gdt.gpa + BigInt(GDT_SIZE) && layout.tss.gpa + BigInt(TSS_SIZE) <= layout.stack.gpa, 'the TSS sits after the GDT, in its page');
  const off = (gpa: bigint): number => Number(gpa - e.area.gpa);
  t.same(img.bytes.subarray(off(layout.gdt.gpa), off(layout.gdt.gpa) + GDT_SIZE), buildGdt(layout.tss.gpa), 'the GDT is in the image');

  // What the tables map: exactly the large pages under the area, the ucall struct and the ops' ranges.
  const unit = e.gbPages ? PAGE_1G : PAGE_2M;
  const must = [{ gpa: e.area.gpa, size: e.area.size }, { gpa: e.ucallGpa, size: BigInt(SIZEOF_UCALL) }, ...opRanges(program.ops)];
  const want = expectedPages(must, unit);
  const maps = listMappings(img.bytes, e.area.gpa, img.cr3);
  t.same(maps.map((m) => m.va), want, `${want.length} pages of ${unit >> 20n} MiB mapped, no more`);
  t.ok(maps.every((m) => m.size === unit), 'all leaves are large pages of that size');
  let bad = 0;
  for (const r of must) {
    for (const va of [r.gpa, r.gpa + r.size - 1n]) {
      const w = pageWalk(img.bytes, e.area.gpa, img.cr3, va);
      if ('fault' in w || w.pa !== va) bad++;
    }
  }
  t.equal(bad, 0, 'every first and last byte translates to itself');
  t.ok(img.bytes.subarray(off(layout.code.gpa)).length > 0, 'code present');
}

t.test('kitchen sink: layout, tables, CPU state', async (t) => {
  const program = kitchenSinkProgram();
  for (const e of [env(), env({ gbPages: false }), env({ ucallGpa: 0x123456789000n, hypercall: 'vmmcall' }), env({ area: { gpa: 0x40000000n, size: AREA_SIZE } })]) {
    const img = compileGuestProgram(program, e);
    t.test(`${e.gbPages ? '1 GiB' : '2 MiB'} pages, ucall 0x${e.ucallGpa.toString(16)}, area 0x${e.area.gpa.toString(16)}`, async (t) => checkImage(t, img, program, e));
    const again = compileGuestProgram(program, e);
    t.same(again.bytes, img.bytes, 'compiling is deterministic');
    t.equal(img.listing, undefined, 'no listing unless asked');
  }
  t.test('an empty program', async (t) => {
    const p = recordGuestProgram(() => {});
    checkImage(t, compileGuestProgram(p, env()), p, env());
  });
});

t.test('sregs and regs come from the image', async (t) => {
  const img = compileGuestProgram(kitchenSinkProgram(), env());
  const s = longModeSregs(new Uint8Array(SIZEOF_KVM_SREGS), img);
  const dv = new DataView(s.buffer);
  t.equal(dv.getBigUint64(KVM_SREGS_OFFSET.cr3, true), img.cr3);
  t.equal(dv.getBigUint64(KVM_SREGS_OFFSET.gdt, true), img.gdt.base);
  t.equal(dv.getUint16(KVM_SREGS_OFFSET.gdt + 8, true), img.gdt.limit);
  const tr = decodeSegment(s, KVM_SREGS_OFFSET.tr);
  t.same({ base: tr.base, limit: tr.limit, selector: tr.selector, type: tr.type }, { base: img.tr.base, limit: img.tr.limit, selector: img.tr.selector, type: 0xb });
  const r = new DataView(agentRegs(img).buffer);
  t.equal(r.getBigUint64(128, true), img.rip);
  t.equal(r.getBigUint64(48, true), img.rsp);
  t.equal(r.getBigUint64(136, true), 2n);
});

t.test('AgentError: one line naming the op, where it was recorded, and why', async (t) => {
  const code = (f: GuestCode): GuestProgram => recordGuestProgram(f);
  const line = (p: GuestProgram, i = 0): number => p.ops[i]!.loc.line;

  const plat = code((g) => { g.sync(1); g.loop(2, (g) => g.platform('tdx.accept', { gpa: 0x1000n })); });
  const inner = (plat.ops[1] as Extract<GuestOp, { op: 'loop' }>).body[0]!;
  const e1 = __compileGuestProgram(plat, env());
  t.type(e1, AgentError);
  t.equal((e1 as AgentError).message,
    `guest agent: platform op 'tdx.accept' (${HERE}:${inner.loc.line}) cannot be compiled: the guest agent serves the default and SW_PROTECTED VM types only (no platform guest operations)`);
  t.same((e1 as AgentError).loc, inner.loc);
  t.throws(() => compileGuestProgram(plat, env()), AgentError);

  const beyond = code((g) => g.memset((1n << 52n) - 4096n, 8192, 1));
  t.equal((__compileGuestProgram(beyond, env()) as AgentError).message,
    `guest agent: 'write' op (${HERE}:${line(beyond)}) cannot be compiled: [0xffffffffff000, +0x2000) is not below 2^52 (the widest guest physical address x86 has)`);
  const load = code((g) => { const r = g.reg(); g.load(r, 1n << 52n, 8); });
  t.match((__compileGuestProgram(load, env()) as AgentError).message, /^guest agent: 'load' op \(.*agent\.test\.ts:\d+\) cannot be compiled: \[0x10000000000000, \+0x8\) is not below 2\^52/);
  t.doesNotThrow(() => compileGuestProgram(code((g) => g.read((1n << 47n) - 8n, 8)), env()), 'the last 8 bytes below 2^47 are fine');

  const e4 = __compileGuestProgram(kitchenSinkProgram(), env({ area: { gpa: AREA_GPA, size: 0x4000n } })) as AgentError;
  t.type(e4, AgentError);
  t.match(e4.message, /^guest agent: the program \(\d+ top-level ops\) does not fit its area \[0x200000, \+0x4000\): page tables 0x2000 \(2 tables\) \+ GDT\/TSS 0x1000 \+ stack 0x2000 \+ code 0x[0-9a-f]+ \+ data 0x[0-9a-f]+ = 0x[0-9a-f]+ bytes$/);
  t.notMatch(e4.message, /\n/, 'one line');

  // 2 MiB pages over 600 GiB-apart ranges: 600 page directories do not fit 2 MiB.
  const spread = code((g) => { for (let i = 0; i < 600; i++) g.read(BigInt(i + 1) << 30n, 8); });
  t.match((__compileGuestProgram(spread, env({ gbPages: false })) as AgentError).message, /page tables 0x25c000 \(604 tables\)/);
  t.doesNotThrow(() => compileGuestProgram(spread, env({ gbPages: true })), 'with 1 GiB pages the same program fits');

  t.match((__compileGuestProgram(code(() => {}), env({ area: { gpa: AREA_GPA + 8n, size: AREA_SIZE } })) as AgentError).message, /the area \[0x200008, \+0x200000\) is not whole 4 KiB pages/);
  t.match((__compileGuestProgram(code(() => {}), env({ ucallGpa: 1n << 47n })) as AgentError).message, /the ucall struct \[0x800000000000, \+0x448\) is not below 2\^47/);
  const badFmt: GuestProgram = { ops: [{ op: 'assert', cond: { any: [{ a: 1n, cmp: 'eq', b: 2n }] }, expr: 'e', message: 'got %s', args: [], loc: { file: 'x.ts', line: 4 } }] };
  t.match((__compileGuestProgram(badFmt, env()) as AgentError).message, /^guest agent: 'assert' op \(x\.ts:4\) cannot be compiled: guest message: unsupported conversion at '%s'/);
  const badSize: GuestProgram = { ops: [{ op: 'write', gpa: 0x300000n, size: 1.5, pattern: 1, view: 'auto', loc: { file: 'x.ts', line: 5 } }] };
  t.equal((__compileGuestProgram(badSize, env()) as AgentError).message, `guest agent: 'write' op (x.ts:5) cannot be compiled: size 1.5 is not an integer`);
  const badReg: GuestProgram = { ops: [{ op: 'mov', dst: { reg: 8 }, src: 1n, loc: { file: 'x.ts', line: 3 } }] };
  t.equal((__compileGuestProgram(badReg, env()) as AgentError).message, `guest agent: 'mov' op (x.ts:3) cannot be compiled: register {"reg":8} is not one of the 8 guest registers`);
});

t.test('views are ignored: the same code for auto, private and shared', async (t) => {
  const p = (view: 'auto' | 'private' | 'shared'): GuestProgram => recordGuestProgram((g) => {
    g.memset(HI, 64, 1, { view });
    g.memcmp(HI, 64, 1, { view });
    g.read(HI, 64, { view });
  });
  const a = compileGuestProgram(p('auto'), env()).bytes;
  t.same(compileGuestProgram(p('private'), env()).bytes, a);
  t.same(compileGuestProgram(p('shared'), env()).bytes, a);
});

/** Code and data bytes one op adds to an empty program. */
function opCost(code: GuestCode): { code: number; data: number } {
  const base = compileGuestProgram(recordGuestProgram(() => {}), env()).layout;
  const l = compileGuestProgram(recordGuestProgram(code), env()).layout;
  return { code: Number(l.code.size - base.code.size), data: Number(l.data.size - base.data.size) };
}

t.test('code size per op (the shared routines are paid once)', async (t) => {
  const base = compileGuestProgram(recordGuestProgram(() => {}), env()).layout;
  t.comment(`empty program: code ${base.code.size} bytes (end ud2, check_fail, abort, ucall_send), data ${base.data.size}`);
  const r = (g: Parameters<GuestCode>[0]) => g.reg();
  const rows: [string, GuestCode, number][] = [
    ['write (GPA < 4 GiB)', (g) => g.memset(0x300000n, 4096, 1), 16],
    ['write (GPA ≥ 4 GiB)', (g) => g.memset(HI, 4096, 1), 21],
    ['check', (g) => g.memcmp(0x300000n, 4096, 1), 32],
    ['read, one page', (g) => g.read(0x300000n, 8), 8],
    ['read, 2 MiB + 4 KiB unaligned (loop)', (g) => g.read(0x300001n, 0x201000), 45],
    ['load', (g) => g.load(r(g), HI, 8), 13],
    ['store const', (g) => g.store(0x300000n, 5, 4), 11],
    ['store reg', (g) => { const x = r(g); g.store(0x300000n, x, 8); }, 8],
    ['mov const', (g) => g.mov(r(g), 0x1234), 6],
    ['mov reg', (g) => { const [x, y] = [r(g), r(g)]; g.mov(x, y); }, 3],
    ['alu reg', (g) => { const [x, y] = [r(g), r(g)]; g.alu('add', x, y); }, 3],
    ['alu imm8', (g) => g.alu('add', r(g), 1), 4],
    ['shift by reg', (g) => { const [x, y] = [r(g), r(g)]; g.alu('shl', x, y); }, 6],
    ['if (one compare, then only)', (g) => { const x = r(g); g.if({ any: [{ a: x, cmp: 'eq', b: 1n }] }, (g) => g.sync(1)); }, 18],
    ['while (one compare, body alu)', (g) => { const x = r(g); g.while({ any: [{ a: x, cmp: 'ne', b: 9n }] }, (g) => g.alu('add', x, 1)); }, 12],
    ['loop 3 × sync', (g) => g.loop(3, (g) => g.sync(1)), 23],
    ['ucall (sync/printf/done)', (g) => g.sync(1), 12],
    ['fail', (g) => g.fail('x'), 9],
    ['assert (one compare)', (g) => { const x = r(g); g.assertEq(x, 0); }, 15],
    ['hypercall, 3 args, expect', (g) => g.hypercall(12, [0x1000, 1, 0x10], { expect: 0 }), 40],
    ['halt', (g) => g.halt(), 4],
  ];
  for (const [name, code, max] of rows) {
    const c = opCost(code);
    t.comment(`${name}: code ${c.code} B, data ${c.data} B`);
    t.ok(c.code <= max, `${name}: ${c.code} <= ${max} bytes of code`);
  }
});

t.test('memory at or above 2^47 is reached through an alias window that walks to the right GPA', async (t) => {
  const low = 0x100000000n;
  const straddle = (1n << 47n) - 4096n;
  const top = (1n << 48n) - 0x300000000n;
  const p = recordGuestProgram((g) => {
    g.read(low, 8);
    g.memset(straddle, 8192, 1);
    g.memcmp(top, 0x201000, 2);
  });
  for (const gbPages of [true, false]) {
    const img = compileGuestProgram(p, env({ gbPages }));
    const alias = img.layout.mappings.filter((m) => m.va !== m.gpa);
    t.ok(alias.length >= 1, `${gbPages ? '1 GiB' : '2 MiB'} pages: alias windows ${alias.map((m) => `0x${m.va.toString(16)}->0x${m.gpa.toString(16)}`).join(' ')}`);
    for (const m of alias) t.ok(m.va + m.size <= 1n << 47n, 'every window is canonical (below 2^47)');
    for (const gpa of [straddle, straddle + 4096n, top, top + 0x200fffn]) {
      const m = img.layout.mappings.find((x) => x.va !== x.gpa && gpa >= x.gpa && gpa < x.gpa + x.size)!;
      t.ok(m, `0x${gpa.toString(16)} has a window`);
      const w = pageWalk(img.bytes, AREA_GPA, img.cr3, m.va + (gpa - m.gpa));
      t.same('pa' in w ? w.pa : w, gpa, `0x${gpa.toString(16)} walks to itself through its alias`);
    }
    const id = pageWalk(img.bytes, AREA_GPA, img.cr3, low);
    t.same('pa' in id ? id.pa : id, low, 'low memory stays identity-mapped');
  }
});
