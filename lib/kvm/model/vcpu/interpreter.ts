/**
 * The guest program interpreter (lib/kvm/guest_program.ts): one op per
 * step, with the semantics the guest agent compiles for a real vCPU
 * (lib/kvm/x86/agent.ts). Memory ops go page by page through the guest
 * access path; a step that ends in an exit returns it.
 */

import { patternBuffer } from '../../pattern_bytes.js';
import { GUEST_CHECK_FORMAT, formatGuestMessage, guestAlu, type GuestOp } from '../../guest_program.js';
import { KVM_EXIT_MMIO, PAGE_SIZE } from '../../uapi.js';
import type { Step, Vcpu } from '../vcpu.js';
import { access } from './guest_access.js';
import { hypercall } from './hypercall.js';
import { platformOp } from './platform_op.js';
import { block } from './run.js';
import { guestAssert, pio, ucallGpa, writeUcall } from './ucall.js';

const PAGE = BigInt(PAGE_SIZE);
/** Pages of a write/check/read op taken per interpreter step (1 MiB). */
const MEM_PAGES_PER_STEP = 256;

/** The op at the program counter: finished bodies are popped, loops start their next pass; undefined past the end. */
function current(v: Vcpu): GuestOp | undefined {
  for (;;) {
    const f = v.frames[v.frames.length - 1];
    if (!f) return undefined;
    if (f.pc < f.ops.length) return f.ops[f.pc];
    if (f.cond) {
      if (v.test(f.cond)) {
        f.pc = 0;
        if (f.ops.length === 0) return undefined;
        continue;
      }
      v.frames.pop();
      v.frames[v.frames.length - 1]!.pc++;
      continue;
    }
    if (v.frames.length > 1 && (f.left === 'forever' || f.left > 0)) {
      if (f.left !== 'forever') f.left--;
      f.pc = 0;
      if (f.ops.length === 0) return undefined;
      continue;
    }
    if (v.frames.length === 1) return undefined;
    v.frames.pop();
    v.frames[v.frames.length - 1]!.pc++;
  }
}

/** Execute one op, or one page of a memory op. Returns an exit, or undefined to keep going. */
export async function step(v: Vcpu): Promise<Step> {
  const op = current(v);
  // Falling off the end of guest_code returns to nowhere: the vCPU triple-faults (SHUTDOWN).
  if (!op) return v.stop({ reason: 'shutdown' });
  switch (op.op) {
    case 'write':
    case 'check':
    case 'read':
      return memStep(v, op);
    case 'hypercall':
      return hypercall(v, op);
    case 'ucall': {
      const gpa = ucallGpa(v);
      writeUcall(v, gpa, op.cmd, op.args.map((a) => v.val(a)), op.text ?? '');
      v.advance();
      return { exit: pio(v, gpa) };
    }
    case 'fail':
      return guestAssert(v, op.loc, op.expr, op.message);
    case 'loop': {
      if (op.count !== 'forever' && op.count <= 0) {
        v.advance();
        return undefined;
      }
      if (op.body.length === 0) {
        if (op.count === 'forever') return undefined;
        v.advance();
        return undefined;
      }
      v.frames.push({ ops: op.body, pc: 0, left: op.count === 'forever' ? 'forever' : op.count - 1 });
      return undefined;
    }
    case 'load':
    case 'store':
      return scalarAccess(v, op);
    case 'mov':
      v.gregs[op.dst.reg] = BigInt.asUintN(64, v.val(op.src));
      v.advance();
      return undefined;
    case 'alu':
      v.gregs[op.dst.reg] = guestAlu(op.fn, v.gregs[op.dst.reg]!, v.val(op.src));
      v.advance();
      return undefined;
    case 'assert':
      if (v.test(op.cond)) {
        v.advance();
        return undefined;
      }
      return guestAssert(v, op.loc, op.expr, formatGuestMessage(op.message, op.args.map((a) => v.val(a))));
    case 'if': {
      const body = v.test(op.cond) ? op.then : op.else;
      if (body.length === 0) {
        v.advance();
        return undefined;
      }
      v.frames.push({ ops: body, pc: 0, left: 0 });
      return undefined;
    }
    case 'while':
      if (!v.test(op.cond)) {
        v.advance();
        return undefined;
      }
      if (op.body.length === 0) return undefined;
      v.frames.push({ ops: op.body, pc: 0, left: 0, cond: op.cond });
      return undefined;
    case 'platform':
      return platformOp(v, op);
    case 'halt':
      // HLT with the in-kernel local APIC and no interrupt source: the vCPU
      // blocks in kvm_vcpu_block() until a signal ends KVM_RUN with EINTR.
      return { exit: await block(v) };
  }
}

/**
 * `load`/`store` of 1..8 bytes. An access that crosses a page is done page
 * by page as `read`/`write` are; one that finds no memslot is emulated MMIO
 * with the whole value, as the emulator decodes the instruction's operand.
 */
function scalarAccess(v: Vcpu, op: Extract<GuestOp, { op: 'load' | 'store' }>): Step {
  const write = op.op === 'store';
  const bytes = new Uint8Array(op.width);
  if (write) {
    let x = v.val(op.value);
    for (let i = 0; i < op.width; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
  }
  while (v.memDone < op.width) {
    const gpa = BigInt.asUintN(64, op.gpa + BigInt(v.memDone));
    const len = Math.min(op.width - v.memDone, PAGE_SIZE - Number(gpa % PAGE));
    const chunk = bytes.subarray(v.memDone, v.memDone + len);
    const r = access(v, gpa, len, write, op.view, write ? chunk : undefined, op.width);
    if ('exit' in r) {
      if (v.run.exitReason === KVM_EXIT_MMIO) {
        // The emulator completes the whole operand through userspace.
        if (write) v.advance();
        else v.pending = { kind: 'mmio_load', dst: op.dst, width: op.width };
      }
      return r;
    }
    if (!write) chunk.set(r.data);
    v.memDone += len;
  }
  if (!write) {
    let x = 0n;
    for (let i = op.width - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
    v.gregs[op.dst.reg] = x;
  }
  v.advance();
  return undefined;
}

/**
 * Up to MEM_PAGES_PER_STEP pages of a write/check/read op. Each page goes
 * through the fault path on its own (attributes and slots can differ page
 * by page); taking several per step only saves the interpreter's round
 * trip, and an exit on any page ends the step there.
 */
function memStep(v: Vcpu, op: Extract<GuestOp, { op: 'write' | 'check' | 'read' }>): Step {
  const size = Math.max(0, op.size);
  const write = op.op === 'write';
  const want = op.op === 'write' || op.op === 'check' ? op.pattern & 0xff : 0;
  for (let n = 0; n < MEM_PAGES_PER_STEP && v.memDone < size; n++) {
    const gpa = BigInt.asUintN(64, op.gpa + BigInt(v.memDone));
    const inPage = Number(gpa % PAGE);
    const len = Math.min(size - v.memDone, PAGE_SIZE - inPage);
    const r = access(v, gpa, len, write, op.view, write ? patternBuffer(want, len).subarray(0, len) : undefined);
    if ('exit' in r) return r;
    if (op.op === 'check') {
      const i = firstByteNot(r.data, want);
      if (i >= 0) {
        const off = v.memDone + i;
        return guestAssert(v, op.loc, op.expr,
          formatGuestMessage(GUEST_CHECK_FORMAT, [BigInt(want), BigInt(off), op.gpa + BigInt(off), BigInt(r.data[i]!)]));
      }
    }
    v.memDone += len;
  }
  if (v.memDone >= size) v.advance();
  return undefined;
}

/** Index of the first byte of `a` that is not `value`, or -1: whole-buffer compares, bytes walked only to place a mismatch. */
function firstByteNot(a: Uint8Array, value: number): number {
  if (patternBuffer(value, a.length).compare(a, 0, a.length, 0, a.length) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== value) return i;
  return -1;
}
