/**
 * The guest agent on the real /dev/kvm against the model: the same guest
 * programs run on both backends, and the host must see the same exits with
 * the same payloads, and at every ucall the same struct ucall (cmd, args,
 * text, NUL padding, hva). Default VM type only, and no hypercalls: on a
 * PVM host (kvm_pvm) a guest vmcall/vmmcall never reaches userspace.
 * Without a usable `kvm` backend every case SKIPs with its reason.
 */
import t, { type Test } from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { any, cmp, eq, recordGuestProgram, type GuestCode } from '../../../../lib/guest/builder.js';
import type { Backend } from '../../../../lib/kvm/backend.js';
import { createKvmBackend } from '../../../../lib/kvm/kvm/index.js';
import { createModelBackend } from '../../../../lib/kvm/model/index.js';
import { UCALL_ABORT, UCALL_DONE } from '../../../../lib/kvm/uapi.js';
import { runProgram, type Exit, type RunSetup } from './e2e_runner.js';

const HI = 1n << 32n;
const MMIO = 0x900000n;

const kvm = ((): Backend | string => {
  try {
    return createKvmBackend();
  } catch (e) {
    return (e as Error).message;
  }
})();
const skip = typeof kvm === 'string' ? `Requirement not met: KSFT_BACKEND=kvm (${kvm})` : undefined;

interface Case {
  readonly name: string;
  readonly code: GuestCode;
  readonly setup?: RunSetup;
  /** What the model's run must look like, beyond equalling the real one. */
  readonly expect?: (exits: readonly Exit[], t: Test) => void;
}

const io = (e: Exit | undefined): Extract<Exit, { reason: 'io' }> => {
  if (e?.reason !== 'io') throw new Error(`not a ucall exit: ${JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
  return e;
};

const cases: Case[] = [
  {
    name: 'ucalls: SYNC, SYNC1..7, PRINTF, DONE, then SHUTDOWN',
    code: (g) => { g.sync(5); g.syncN(1, 2, 3, 4, 5, 6, 0xffffffffffffffffn); g.printf('hello %d %%'); g.done(); },
    expect: (x, t) => {
      t.same(x.map((e) => e.reason), ['io', 'io', 'io', 'io', 'shutdown']);
      t.equal(io(x[2]).text, 'hello %d %%');
      t.equal(io(x[3]).cmd, BigInt(UCALL_DONE));
    },
  },
  {
    name: 'write and check, then a mismatch in the middle page',
    code: (g) => {
      g.memset(0x300005n, 5000, 0x5a);
      g.memcmp(0x300005n, 5000, 0x5a);
      g.memset(0x300000n, 3 * 4096, 0x11);
      g.store(0x301234n, 0x77, 1);
      g.memcmp(0x300000n, 3 * 4096, 0x11, { expr: 'mem[i] == 0x11 (100%)' });
    },
    expect: (x, t) => {
      t.equal(io(x[0]).cmd, BigInt(UCALL_ABORT));
      t.match(io(x[0]).text, /^test\/lib\/kvm\/x86\/e2e\.test\.ts:\d+: mem\[i\] == 0x11 \(100%\)\nGuest expected 0x11 at offset 4660 \(gpa 0x301234\), got 0x77$/);
      t.same(x[1], { reason: 'shutdown' }, 'no execution past an abort');
    },
  },
  {
    name: 'MMIO: loads of every width complete with the host data, stores hand their bytes over, reads once per page',
    code: (g) => {
      const r = g.reg();
      g.load(r, MMIO, 8); g.syncN(r);
      g.load(r, MMIO + 0x10n, 2); g.syncN(r);
      g.load(r, MMIO + 0x10n, 1); g.load(r, MMIO + 0x10n, 4); g.syncN(r);
      g.store(MMIO + 0x20n, 0x1122334455667788n, 8);
      g.store(MMIO + 0x20n, r, 2);
      g.store(MMIO + 0x20n, 0xabcd, 4);
      g.read(MMIO + 0xffcn, 4 + 4096 + 2);
      g.read(MMIO + 1n, 1);
      g.done();
    },
    setup: { mmio: (gpa, _len, n) => 0x0102030405060708n + gpa + BigInt(n) },
    expect: (x, t) => t.equal(x.filter((e) => e.reason === 'mmio').length, 11),
  },
  {
    name: 'registers: mov, alu with 64-bit constants, shifts mod 64, conditions',
    code: (g) => {
      const a = g.reg();
      const b = g.reg();
      const c = g.reg();
      g.mov(a, 7); g.mov(b, 0xfedcba9876543210n); g.alu('add', a, b); g.syncN(a, b);
      g.alu('sub', a, 0x100000000n); g.alu('xor', b, a); g.alu('and', b, 0xffff0000ffffn); g.alu('or', b, 0x80000000n); g.syncN(a, b);
      g.mov(c, 68); g.alu('shl', a, c); g.alu('shr', b, 65); g.syncN(a, b, c); g.alu('shl', c, 1); g.alu('shr', c, 0); g.syncN(c);
      g.mov(a, -1); g.alu('add', a, 2); g.syncN(a);
      g.if(any(eq(a, 5), cmp(b, 'gtu', 0x100000000n)), (g) => g.sync(1), (g) => g.sync(2));
      g.if(cmp(a, 'ltu', b), (g) => g.sync(3));
      g.if(cmp(7, 'geu', a), (g) => g.sync(4), (g) => g.sync(5));
      g.if(cmp(7, 'leu', 6), (g) => g.sync(6), (g) => g.sync(7));
      g.if(any(cmp(7, 'leu', 6), cmp(a, 'ne', 0xffffffffffffffffn)), (g) => g.sync(8), (g) => g.sync(9));
      g.done();
    },
  },
  {
    name: 'loops: nested counts, 0 and 1, while, forever left by done',
    code: (g) => {
      const i = g.reg();
      const j = g.reg();
      const k = g.reg();
      g.loop(3, (g) => { g.mov(j, 0); g.loop(4, (g) => { g.alu('add', j, 1); g.alu('add', k, 1); }); g.alu('add', i, 1); g.syncN(i, j, k); });
      g.loop(0, (g) => g.sync(99));
      g.loop(1, (g) => g.sync(100));
      g.mov(i, 0);
      g.while(cmp(i, 'ltu', 5), (g) => g.alu('add', i, 2));
      g.syncN(i);
      g.loop('forever', (g) => { g.alu('add', i, 1); g.if(eq(i, 10), (g) => g.done()); g.if(eq(i, 12), (g) => g.fail('end of forever')); });
    },
    expect: (x, t) => t.equal(io(x[6]).text.split('\n')[1], 'end of forever'),
  },
  {
    name: 'asserts: every conversion, zero and all-ones values, %%',
    code: (g) => {
      const a = g.reg();
      const b = g.reg();
      g.mov(b, 0xffffffffffffffffn);
      g.assert(eq(a, 0), 'a == 0', 'not printed %lx', a);
      g.assert(any(eq(a, 1), eq(b, 2)), 'a == 1 || b == 2', 'a=%lx a#=%#lx b=%lu b#=%#lx d=%d x=%x 100%% c=%lu', a, a, b, b, 12345, 0xdead, 0);
    },
    expect: (x, t) => t.match(io(x[0]).text, /\na=0 a#=0 b=18446744073709551615 b#=0xffffffffffffffff d=12345 x=dead 100% c=0$/),
  },
  { name: 'assertEq', code: (g) => { const a = g.reg(); g.mov(a, 3); g.assertEq(a, 4); } },
  { name: 'assert with an empty message', code: (g) => { const a = g.reg(); g.assert(eq(a, 4), 'a == 4', ''); } },
  { name: 'fail with an empty message', code: (g) => g.fail('') },
  {
    name: 'texts cut at 1023 bytes of UTF-8',
    code: (g) => {
      g.printf('x'.repeat(2000));
      g.printf('é'.repeat(600));
      g.printf(`ab${'€'.repeat(400)}`);
      const a = g.reg();
      g.mov(a, 0x123456789abcdefn);
      g.assert(eq(a, 0), 'y'.repeat(1010), '%lx %lu', a, a);
    },
  },
  {
    name: 'memory above 4 GiB, and across a 2 MiB boundary',
    code: (g) => {
      g.memset(HI + 0x1ff000n, 0x2000, 0x33);
      g.memcmp(HI + 0x1ff000n, 0x2000, 0x33);
      const r = g.reg();
      g.load(r, HI + 0x200ff8n, 8); g.syncN(r);
      g.store(HI + 0x10n, 0xdeadbeefcafen, 8); g.load(r, HI + 0x10n, 8); g.syncN(r);
      g.memcmp(HI, 0x20, 0);
    },
    setup: { slots: [{ gpa: HI, size: 0x400000n }] },
  },
  {
    name: 'spin on an MMIO value until the host changes it',
    code: (g) => { const r = g.reg(); g.spinWhileEq(r, MMIO, 0n); g.syncN(r); g.done(); },
    setup: { mmio: (_gpa, _len, n) => (n >= 3 ? 9n : 0n) },
    expect: (x, t) => t.equal(x.filter((e) => e.reason === 'mmio').length, 4),
  },
  {
    name: 'halt blocks until the vCPU is kicked',
    code: (g) => { g.sync(1); g.halt(); g.done(); },
    setup: { kickAfterMs: 300 },
    expect: (x, t) => t.same(x.map((e) => e.reason), ['io', 'kicked']),
  },
  { name: 'an empty program ends in SHUTDOWN', code: () => {} },
  {
    name: 'memory at or above 2^47 (an alias window): MMIO exits name the GPA',
    code: (g) => {
      const r = g.reg();
      g.load(r, (1n << 47n) + 0x1000n, 8); g.syncN(r);
      g.store((1n << 47n) - 4n, 0x11223344n, 4);
      g.read((1n << 47n) + 0x40000000n - 4n, 8);
      g.done();
    },
    setup: { mmio: (gpa) => gpa },
    expect: (x, t) => t.same(x.filter((e) => e.reason === 'mmio').map((e) => (e as { gpa: bigint }).gpa),
      [(1n << 47n) + 0x1000n, (1n << 47n) - 4n, (1n << 47n) + 0x40000000n - 4n, (1n << 47n) + 0x40000000n]),
  },
];

const model = createModelBackend({ kernel: '6.18' });

for (const c of cases) {
  t.test(c.name, { skip }, async (t) => {
    const program = recordGuestProgram(c.code);
    const want = await runProgram(model, program, c.setup);
    const got = await runProgram(kvm as Backend, program, c.setup);
    if ('unsupported' in want || 'unsupported' in got) {
      t.fail(`unsupported: model ${'unsupported' in want ? want.unsupported : 'ok'}, kvm ${'unsupported' in got ? got.unsupported : 'ok'}`);
      return;
    }
    t.same(got.exits, want.exits, `${want.exits.length} exits, the same on /dev/kvm and on the model`);
    c.expect?.(want.exits, t);
  });
}

t.test('a read of a 3- or 6-byte page part is one 2- or 4-byte load, on both backends', { skip }, async (t) => {
  const program = recordGuestProgram((g) => g.read(MMIO + 0xffdn, 3 + 4096 + 6));
  const m = await runProgram(model, program);
  const k = await runProgram(kvm as Backend, program);
  const lens = (r: typeof m): number[] => ('exits' in r ? r.exits.filter((e) => e.reason === 'mmio').map((e) => (e as { len: number }).len) : []);
  t.same(lens(k), [2, 8, 4], 'agent: the widest of 8/4/2/1 that fits');
  t.same(lens(m), lens(k), 'the model reports the same loads');
});
