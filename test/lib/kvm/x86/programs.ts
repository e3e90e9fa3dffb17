/**
 * Guest programs for the agent tests: one that uses every op kind and
 * operand shape the compiler distinguishes (so its listing exercises every
 * instruction form the agent emits), and the environment they compile for.
 */
import { any, cmp, eq, ne, recordGuestProgram, type GuestCode } from '../../../../lib/guest/builder.js';
import type { GuestProgram } from '../../../../lib/kvm/guest_program.js';
import type { AgentEnv } from '../../../../lib/kvm/x86/agent.js';

export const AREA_GPA = 0x200000n;
export const AREA_SIZE = 0x200000n;
export const UCALL_GPA = 0x10000n;
export const UCALL_HVA = 0x7f1234510000n;

export function env(over: Partial<AgentEnv> = {}): AgentEnv {
  return { area: { gpa: AREA_GPA, size: AREA_SIZE }, ucallGpa: UCALL_GPA, ucallHva: UCALL_HVA, hypercall: 'vmcall', gbPages: true, ...over };
}

export const HI = 1n << 32n;

/** Every op kind, constants of every size class, registers in every role, nesting. */
export const kitchenSink: GuestCode = (g) => {
  const a = g.reg();
  const b = g.reg();
  const c = g.reg();
  const last = [g.reg(), g.reg(), g.reg(), g.reg()][3]!;
  g.memset(0x300000n, 8192, 0xaa);
  g.memset(HI + 5n, 1, 0);
  g.memcmp(0x300000n, 8192, 0xaa);
  g.memcmp(HI + 0x100000n, 0x100000, 0x5a, { expr: 'mem[i] == 0x5a (100%)' });
  g.read(0x300ffdn, 3 + 4096 * 3 + 5);
  g.read(0x300000n, 4096);
  g.read(HI + 8n, 4);
  g.read(0x301000n, 8192 + 2);
  for (const w of [1, 2, 4, 8] as const) {
    g.load(a, 0x301000n, w);
    g.load(last, HI + 0x10n, w);
    g.store(0x301008n, b, w);
    g.store(HI + 0x18n, last, w);
    g.store(0x301010n, 0x8877665544332211n, w);
    g.store(0x301010n, -2, w);
  }
  g.store(0x301010n, 0x7fffffff, 8);
  g.mov(a, 0);
  g.mov(a, 5);
  g.mov(b, 0xffffffffn);
  g.mov(c, -1);
  g.mov(c, -0x80000000);
  g.mov(last, 0x123456789abcdef0n);
  g.mov(a, b);
  g.mov(last, a);
  g.mov(a, a);
  for (const fn of ['add', 'sub', 'and', 'or', 'xor'] as const) {
    g.alu(fn, a, b);
    g.alu(fn, last, 3);
    g.alu(fn, b, 0x1000);
    g.alu(fn, c, -200);
    g.alu(fn, a, 0x100000000n);
  }
  for (const fn of ['shl', 'shr'] as const) {
    g.alu(fn, a, 1);
    g.alu(fn, last, 63);
    g.alu(fn, b, 64);
    g.alu(fn, c, a);
    g.alu(fn, a, a);
  }
  g.loop(3, (g) => {
    g.loop(0x80000000, (g) => {
      g.sync(a);
      g.if(eq(a, 2), (g) => g.done());
    });
    g.loop(1, (g) => g.syncN(1, 2, 3, 4, 5, 6, 7));
    g.loop(0, (g) => g.sync(0));
  });
  g.if(any(eq(a, 1), cmp(b, 'ltu', 0x100000000n), cmp(5, 'gtu', c), cmp(last, 'geu', a)), (g) => g.printf('then'), (g) => g.printf('else %%'));
  g.if(cmp(a, 'leu', -1), (g) => g.sync(1));
  g.if(cmp(1, 'eq', 2), (g) => g.sync(2), (g) => g.sync(3));
  g.if(any(cmp(1, 'eq', 1), eq(a, 0)), (g) => g.sync(4));
  g.if(ne(a, b), () => {});
  g.while(cmp(a, 'ne', 10), (g) => g.alu('add', a, 1));
  g.while(any(eq(b, 0x80000000n), cmp(c, 'gtu', last)), (g) => g.alu('sub', b, 1));
  g.spinWhileEq(b, 0x302000n, 0);
  g.assertEq(a, 10);
  g.assert(cmp(a, 'eq', 11), 'a == 11', 'a is %lu, b is %#lx (%lx) 100%%', a, b, 0);
  g.assert(eq(a, 11), 'a == 11', '');
  g.assert(cmp(3, 'ltu', 4), 'constant', 'never');
  g.hypercall(12, [0x1000, 1, 0x10], { expect: 0 });
  g.hypercall(12, [], { expect: -1000, dst: c });
  g.hypercall(0x1234567890n, [1, 2, 3, 0xffffffffffffffffn], { dst: a });
  g.hypercall(1, [], { expect: 0x100000000n });
  g.ucall(3, [a, b, c, last, 0xffffffffffffn, 0x100000000n, 0], 'printf text é');
  g.fail('boom');
  g.fail('');
  g.loop('forever', (g) => g.sync(9));
  g.loop('forever', () => {});
  g.halt();
  g.done();
};

export function kitchenSinkProgram(): GuestProgram {
  return recordGuestProgram(kitchenSink);
}
