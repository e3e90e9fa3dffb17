/**
 * The guest agent's ucall sender and message formatter. Every ucall, and
 * every GUEST_ASSERT failure, goes through one routine in the guest:
 * `ucall_send` takes a descriptor (laid out by the compiler in the image's
 * data) and writes the whole struct ucall {u64 cmd; u64 args[7];
 * char buffer[1024]; u64 hva} (tools/testing/selftests/kvm/include/
 * ucall_common.h) at the vCPU's ucall GPA, then makes the x86 PIO ucall
 * (lib/x86/ucall.c: RDI = &uc, `in al, dx` on UCALL_PIO_PORT).
 *
 * The buffer text is printf-like over u64 values, byte for byte what
 * formatGuestMessage() gives (lib/kvm/guest_program.ts): `%lx` lowercase
 * hex, `%#lx` hex with 0x except for zero, `%lu` decimal, truncated to
 * UCALL_BUFFER_LEN - 1 bytes of UTF-8 and NUL-padded to the end of the
 * buffer, as the model's writeUcall() leaves it.
 *
 * Descriptor: 8 value references (cmd, args[0..6]), then text items:
 *   00                  end
 *   01 len:u16 bytes    literal UTF-8 bytes
 *   02 ref              the value in hex
 *   03 ref              the value in hex with 0x (plain 0 for zero)
 *   04 ref              the value in decimal
 * A value reference is one byte: 00..0f the guest register of that number
 * as it was when ucall_send was called (all sixteen are saved on entry),
 * 10 imm64 follows, 11 zero, 12 imm32 follows (zero-extended).
 */
import { parseGuestFormat } from '../guest_program.js';
import { UCALL_BUFFER_LEN, UCALL_MAX_ARGS, UCALL_PIO_PORT } from '../uapi.js';
import { R, type Asm, type Gpr, type Label } from './asm.js';

export const TAG_END = 0;
export const TAG_TEXT = 1;
export const TAG_HEX = 2;
export const TAG_ALT_HEX = 3;
export const TAG_DEC = 4;
export const REF_IMM64 = 0x10;
export const REF_ZERO = 0x11;
export const REF_IMM32 = 0x12;

/** Where a value comes from when ucall_send runs. */
export type ValueRef = { readonly reg: Gpr } | { readonly imm: bigint };

export type Conversion = 'hex' | 'alt_hex' | 'dec';
/** A piece of buffer text: literal text, or a value printed one way. */
export type TextPart = string | { readonly conv: Conversion; readonly value: ValueRef };

/** The most text bytes a ucall buffer holds before its NUL. */
export const UCALL_TEXT_MAX = UCALL_BUFFER_LEN - 1;

const utf8 = new TextEncoder();

function encodeRef(out: number[], v: ValueRef): void {
  if ('reg' in v) {
    out.push(v.reg);
    return;
  }
  const x = BigInt.asUintN(64, v.imm);
  if (x === 0n) out.push(REF_ZERO);
  else if (x < 1n << 32n) out.push(REF_IMM32, ...leBytes(x, 4));
  else out.push(REF_IMM64, ...leBytes(x, 8));
}

function leBytes(v: bigint, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++, v >>= 8n) out.push(Number(v & 0xffn));
  return out;
}

/**
 * A message as text parts: `fmt` parsed as formatGuestMessage() parses it,
 * the i-th conversion printing `values[i]` (zero if missing, as there).
 */
export function messageParts(fmt: string, values: readonly ValueRef[]): TextPart[] {
  let i = 0;
  return parseGuestFormat(fmt).map((p) => {
    if (typeof p === 'string') return p;
    const value = values[i++] ?? { imm: 0n };
    return { conv: p.conv === 'u' ? 'dec' : p.alt ? 'alt_hex' : 'hex', value };
  });
}

/**
 * The descriptor bytes for one ucall. Literal text beyond what the buffer
 * can show is left out: once the text is known to reach UCALL_TEXT_MAX
 * bytes (every conversion prints at least one), nothing after it matters.
 */
export function encodeUcallDescriptor(cmd: ValueRef, args: readonly ValueRef[], text: readonly TextPart[]): Uint8Array {
  if (args.length > UCALL_MAX_ARGS) throw new RangeError(`a ucall has ${UCALL_MAX_ARGS} args, got ${args.length}`);
  const out: number[] = [];
  encodeRef(out, cmd);
  for (let i = 0; i < UCALL_MAX_ARGS; i++) encodeRef(out, args[i] ?? { imm: 0n });
  let atLeast = 0;
  let pending: number[] = [];
  const flush = (): void => {
    for (let i = 0; i < pending.length; i += 0xffff) {
      const chunk = pending.slice(i, i + 0xffff);
      out.push(TAG_TEXT, chunk.length & 0xff, chunk.length >> 8, ...chunk);
    }
    pending = [];
  };
  for (const p of text) {
    if (atLeast >= UCALL_TEXT_MAX) break;
    if (typeof p === 'string') {
      const b = utf8.encode(p).subarray(0, UCALL_TEXT_MAX - atLeast);
      pending.push(...b);
      atLeast += b.length;
      continue;
    }
    flush();
    out.push(p.conv === 'hex' ? TAG_HEX : p.conv === 'alt_hex' ? TAG_ALT_HEX : TAG_DEC);
    encodeRef(out, p.value);
    atLeast += 1;
  }
  flush();
  out.push(TAG_END);
  return Uint8Array.from(out);
}

/** What a descriptor makes ucall_send write, given the registers at the call: the formatter's reference, for tests. */
export function renderUcallDescriptor(desc: Uint8Array, regs: readonly bigint[]): { cmd: bigint; args: bigint[]; text: Uint8Array } {
  let at = 0;
  const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const ref = (): bigint => {
    const r = desc[at++]!;
    if (r < 16) return BigInt.asUintN(64, regs[r] ?? 0n);
    if (r === REF_ZERO) return 0n;
    if (r === REF_IMM32) return BigInt(dv.getUint32((at += 4) - 4, true));
    if (r === REF_IMM64) return dv.getBigUint64((at += 8) - 8, true);
    throw new RangeError(`bad value reference 0x${r.toString(16)} at ${at - 1}`);
  };
  const cmd = ref();
  const args = Array.from({ length: UCALL_MAX_ARGS }, ref);
  const text: number[] = [];
  const put = (bytes: ArrayLike<number>): void => {
    for (let i = 0; i < bytes.length && text.length < UCALL_TEXT_MAX; i++) text.push(bytes[i]!);
  };
  for (;;) {
    const tag = desc[at++];
    if (tag === TAG_END) break;
    if (tag === TAG_TEXT) {
      const n = dv.getUint16(at, true);
      put(desc.subarray(at + 2, at + 2 + n));
      at += 2 + n;
      continue;
    }
    const v = ref();
    const s = tag === TAG_DEC ? v.toString(10) : tag === TAG_ALT_HEX && v !== 0n ? `0x${v.toString(16)}` : v.toString(16);
    if (tag !== TAG_DEC && tag !== TAG_HEX && tag !== TAG_ALT_HEX) throw new RangeError(`bad text tag ${tag}`);
    put(utf8.encode(s));
  }
  return { cmd, args, text: Uint8Array.from(text) };
}

export interface UcallTarget {
  /** GPA of the struct ucall (identity-mapped, so also its address in the guest). */
  readonly ucallGpa: bigint;
  /** The host VA stored in struct ucall's last field. */
  readonly ucallHva: bigint;
}

/** Registers saved on entry, pushed so that register i ends up at [rbp + 8*i]. */
const SAVE_ORDER: readonly Gpr[] = [R.r15, R.r14, R.r13, R.r12, R.r11, R.r10, R.r9, R.r8, R.rdi, R.rsi, R.rbp, R.rsp, R.rbx, R.rdx, R.rcx, R.rax];
/** Offset of the buffer in struct ucall: cmd + args[7]. */
const UCALL_BUFFER_OFFSET = 8 + 8 * UCALL_MAX_ARGS;

/**
 * Emit `ucall_send` (RSI = descriptor) at `send` and return the label. Every
 * register comes back as it was: the byte the IN reads lands in AL, which
 * is restored after it. Uses at most 320 bytes of stack: the return
 * address, 16 saved registers, up to 20 digits and one nested call.
 */
export function emitUcallSend(a: Asm, t: UcallTarget, send: Label = a.label('ucall_send')): Label {
  const readValue = a.label('read_value');
  const putc = a.label('putc');
  const hdr = a.label('hdr');
  const item = a.label('item');
  const conv = a.label('conv');
  const num = a.label('num');
  const dig = a.label('dig');
  const out = a.label('out');
  const put = a.label('put');
  const done = a.label('done');

  a.bind(send);
  for (const r of SAVE_ORDER) a.push(r);
  a.mov(R.rbp, R.rsp);
  a.movImm(R.rdi, t.ucallGpa);
  // cmd and args[0..6].
  a.movR32Imm(R.rcx, 1 + UCALL_MAX_ARGS);
  a.bind(hdr);
  a.call(readValue);
  a.stosq();
  a.dec32(R.rcx);
  a.j('ne', hdr);
  // r15 = the first byte the text may not use (it holds the NUL at the latest); r15 + 1 ends the buffer.
  a.lea(R.r15, { base: R.rdi, disp: UCALL_TEXT_MAX });
  a.bind(item);
  a.lodsb();
  a.test8(R.rax, R.rax);
  a.j('e', done);
  a.alu8Imm('cmp', R.rax, TAG_TEXT);
  a.j('ne', conv);
  // A literal: copy min(len, room) bytes, step over all len.
  a.load(2, R.rcx, { base: R.rsi });
  a.lea(R.rbx, { base: R.rsi, index: R.rcx, scale: 1, disp: 2 });
  a.aluImm('add', R.rsi, 2n);
  a.mov(R.rax, R.r15);
  a.alu('sub', R.rax, R.rdi);
  a.alu('cmp', R.rcx, R.rax);
  a.cmov('a', R.rcx, R.rax);
  a.repMovsb();
  a.mov(R.rsi, R.rbx);
  a.jmp(item);
  // A conversion: ebx = tag, r8 = value, rcx = base.
  a.bind(conv);
  a.movzxR8(R.rbx, R.rax);
  a.call(readValue);
  a.mov(R.r8, R.rax);
  a.movR32Imm(R.rcx, 10);
  a.alu8Imm('cmp', R.rbx, TAG_DEC);
  a.j('e', num);
  a.movR32Imm(R.rcx, 16);
  a.alu8Imm('cmp', R.rbx, TAG_ALT_HEX);
  a.j('ne', num);
  // glibc's %#lx prints no 0x for zero.
  a.test(R.r8, R.r8);
  a.j('e', num);
  a.movR32Imm(R.rax, 0x30);
  a.call(putc);
  a.movR32Imm(R.rax, 0x78);
  a.call(putc);
  a.bind(num);
  // Digits, least significant first, onto the stack; then out in order.
  a.mov(R.rax, R.r8);
  a.zero(R.r10);
  a.bind(dig);
  a.zero(R.rdx);
  a.div(R.rcx);
  a.push(R.rdx);
  a.inc(R.r10);
  a.test(R.rax, R.rax);
  a.j('ne', dig);
  a.bind(out);
  a.pop(R.rax);
  a.alu8Imm('add', R.rax, 0x30);
  a.alu8Imm('cmp', R.rax, 0x39);
  a.j('be', put);
  a.alu8Imm('add', R.rax, 0x61 - 0x3a);
  a.bind(put);
  a.call(putc);
  a.dec(R.r10);
  a.j('ne', out);
  a.jmp(item);
  // NUL-fill to the end of the buffer, then hva, then the PIO ucall.
  a.bind(done);
  a.lea(R.rcx, { base: R.r15, disp: 1 });
  a.alu('sub', R.rcx, R.rdi);
  a.zero(R.rax);
  a.repStosb();
  a.movImm(R.rax, t.ucallHva);
  a.stosq();
  a.movImm(R.rdi, t.ucallGpa);
  a.movDx(UCALL_PIO_PORT);
  a.inAlDx();
  a.mov(R.rsp, R.rbp);
  for (const r of [...SAVE_ORDER].reverse()) {
    // The saved RSP is the one to skip: RSP is already right.
    if (r === R.rsp) a.lea(R.rsp, { base: R.rsp, disp: 8 });
    else a.pop(r);
  }
  a.ret();

  // putc: al to [rdi] unless the text is full (rdi at r15).
  a.bind(putc);
  a.alu('cmp', R.rdi, R.r15);
  const full = a.label('full');
  a.j('ae', full);
  a.stosb();
  a.bind(full);
  a.ret();

  // read_value: the value reference at [rsi] → rax, rsi past it.
  a.bind(readValue);
  const imm64 = a.label('imm64');
  const imm32 = a.label('imm32');
  const reg = a.label('reg');
  a.lodsb();
  a.alu8Imm('cmp', R.rax, REF_IMM64);
  a.j('b', reg);
  a.j('e', imm64);
  a.alu8Imm('cmp', R.rax, REF_IMM32);
  a.j('e', imm32);
  a.zero(R.rax);
  a.ret();
  a.bind(imm64);
  a.lodsq();
  a.ret();
  a.bind(imm32);
  a.lodsd();
  a.ret();
  a.bind(reg);
  a.movzxR8(R.rax, R.rax);
  a.load(8, R.rax, { base: R.rbp, index: R.rax, scale: 8 });
  a.ret();
  return send;
}

/** Offset of the text in struct ucall, for tests and layout checks. */
export const UCALL_TEXT_OFFSET = UCALL_BUFFER_OFFSET;
