/**
 * The ucall descriptors against the model: what ucall_send writes for a
 * descriptor (renderUcallDescriptor, the routine's reference) must equal
 * what the model's writeUcall()/guestAssert() writes for the same op. The
 * machine code itself is checked on a real vCPU by the end-to-end tests.
 */
import t from 'tap';
import { GUEST_CHECK_FORMAT, expectMismatchFormat, formatGuestMessage } from '../../../../lib/kvm/guest_program.js';
import { R } from '../../../../lib/kvm/x86/asm.js';
import {
  REF_IMM32, REF_IMM64, REF_ZERO, TAG_END, TAG_TEXT, UCALL_TEXT_MAX, encodeUcallDescriptor, messageParts, renderUcallDescriptor, type ValueRef,
} from '../../../../lib/kvm/x86/format.js';

const enc = new TextEncoder();
/** The model: TextEncoder bytes, cut at UCALL_BUFFER_LEN - 1. */
const modelText = (s: string): Uint8Array => enc.encode(s).subarray(0, UCALL_TEXT_MAX);

t.test('value references: registers, zero, imm32, imm64', async (t) => {
  const d = encodeUcallDescriptor({ imm: 3n }, [{ reg: R.r8 }, { imm: 0n }, { imm: 0xffffffffn }, { imm: 0x100000000n }, { imm: -1n }], []);
  t.same(Array.from(d.subarray(0, 2)), [REF_IMM32, 3]);
  t.equal(d[5], R.r8);
  t.equal(d[6], REF_ZERO);
  t.equal(d[7], REF_IMM32);
  t.equal(d[12], REF_IMM64);
  t.equal(d[d.length - 1], TAG_END);
  const regs = new Array<bigint>(16).fill(0n);
  regs[R.r8] = 0xabcn;
  const r = renderUcallDescriptor(d, regs);
  t.equal(r.cmd, 3n);
  t.same(r.args, [0xabcn, 0n, 0xffffffffn, 0x100000000n, 0xffffffffffffffffn, 0n, 0n], 'unused args are zero');
  t.equal(r.text.length, 0);
});

t.test('messages format as formatGuestMessage() does', async (t) => {
  const values = [0n, 1n, 9n, 10n, 15n, 16n, 0xdeadbeefn, 0x8000000000000000n, 0xffffffffffffffffn, 12345678901234567890n];
  const fmts = [
    GUEST_CHECK_FORMAT,
    expectMismatchFormat('ret == 0 (100%)'),
    '%lx|%#lx|%lu|%ld|%x|%#x|%u|%d|%%|%lx',
    'no conversions',
    '',
    '%%%%',
    'é€ %lu ✓',
  ];
  let n = 0;
  for (const fmt of fmts) {
    for (let i = 0; i < values.length; i++) {
      const vals = values.map((_, j) => values[(i + j) % values.length]!);
      const regs = new Array<bigint>(16).fill(0n);
      const refs: ValueRef[] = vals.map((v, j) => (j % 2 ? { imm: v } : { reg: (8 + (j % 8)) as 8 }));
      vals.forEach((v, j) => { if (j % 2 === 0) regs[8 + (j % 8)] = v; });
      // Registers can alias (j and j+8): read what the refs will see.
      const seen = refs.map((r) => ('reg' in r ? regs[r.reg]! : BigInt.asUintN(64, r.imm)));
      const d = encodeUcallDescriptor({ imm: 2n }, [], messageParts(fmt, refs));
      const got = Buffer.from(renderUcallDescriptor(d, regs).text).toString();
      t.equal(got, formatGuestMessage(fmt, seen), `${JSON.stringify(fmt)} #${i}`);
      n++;
    }
  }
  t.ok(n > 50);
});

t.test('truncation at 1023 bytes of UTF-8, as the model cuts TextEncoder bytes', async (t) => {
  for (const text of ['x'.repeat(1022), 'x'.repeat(1023), 'x'.repeat(1024), 'x'.repeat(70000), 'é'.repeat(600), 'ab' + '€'.repeat(400)]) {
    const r = renderUcallDescriptor(encodeUcallDescriptor({ imm: 3n }, [], [text]), []);
    t.same(Buffer.from(r.text), Buffer.from(modelText(text)), `${text.length} chars`);
  }
  // A head that nearly fills the buffer, then numbers that straddle the end.
  const head = 'h'.repeat(1015) + '\n';
  const regs = new Array<bigint>(16).fill(0n);
  regs[R.r9] = 0x123456789abcdefn;
  const d = encodeUcallDescriptor({ imm: 2n }, [], [head, ...messageParts('%lx %lu', [{ reg: R.r9 }, { reg: R.r9 }])]);
  t.same(Buffer.from(renderUcallDescriptor(d, regs).text), Buffer.from(modelText(head + formatGuestMessage('%lx %lu', [regs[R.r9]!, regs[R.r9]!]))));
  // Once the text must reach the end, the rest is not stored at all.
  const big = encodeUcallDescriptor({ imm: 2n }, [], ['y'.repeat(2000), ...messageParts('%lx'.repeat(500), [])]);
  t.ok(big.length < 1023 + 64 + 16, `descriptor of ${big.length} bytes`);
  t.equal(big[12], TAG_TEXT, 'cmd (imm32) and 7 zero args take 12 bytes');
});

t.test('literals longer than a u16 are split', async (t) => {
  const d = encodeUcallDescriptor({ imm: 3n }, [], [{ conv: 'hex', value: { imm: 5n } }, 'z'.repeat(1000)]);
  t.equal(Buffer.from(renderUcallDescriptor(d, []).text).toString(), `5${'z'.repeat(1000)}`);
  t.throws(() => encodeUcallDescriptor({ imm: 1n }, new Array(8).fill({ imm: 0n }), []), /7 args/);
});
