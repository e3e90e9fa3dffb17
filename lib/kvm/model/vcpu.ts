/**
 * A vCPU: registers, struct kvm_run, and the interpreter that executes its
 * guest program (lib/kvm/guest_program.ts) the way the hardware plus KVM would:
 * memory accesses fault through the MMU rules of arch/x86/kvm/mmu/mmu.c,
 * vmcall goes through kvm_emulate_hypercall() (arch/x86/kvm/x86.c), a ucall is
 * the x86 PIO ucall. Platform differences go through the platform seam.
 */

import { patternBuffer } from '../pattern_bytes.js';
import { err, ok, type IoctlArg, type SysResult } from '../backend.js';
import { EFAULT, EINTR, EINVAL, ENOENT, ENOTTY, EOPNOTSUPP } from '../errno.js';
import {
  GUEST_CHECK_FORMAT, GUEST_NR_REGS, expectMismatchFormat, formatGuestMessage, guestAlu, guestCompare, isGuestReg,
  type GuestCond, type GuestOp, type GuestOperand, type GuestProgram, type GuestReg, type GuestView, type GuestWidth, type SourceLoc,
} from '../guest_program.js';
import { KvmRun } from '../kvm_run.js';
import {
  KVM_EXIT_HYPERCALL_LONG_MODE, KVM_EXIT_IO_IN, KVM_EXIT_MMIO, KVM_GET_TSC_KHZ, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
  KVM_MP_STATE_AP_RESET_HOLD, KVM_MP_STATE_HALTED, KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_SIPI_RECEIVED,
  KVM_MP_STATE_UNINITIALIZED, KVM_EINVAL, KVM_ENOSYS, KVM_GET_REGS, KVM_HC_MAP_GPA_RANGE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_PRE_FAULT_MEMORY, KVM_REGS_OFFSET, KVM_SET_REGS, KVM_VCPU_MMAP_SIZE,
  PAGE_SIZE, SIZEOF_KVM_REGS, SIZEOF_UCALL, UCALL_ABORT, UCALL_BUFFER_LEN, UCALL_MAX_ARGS, UCALL_PIO_PORT,
} from '../uapi.js';
import { SIZEOF_KVM_PRE_FAULT_MEMORY, decodePreFaultMemory } from '../structs.js';
import { KVM_EXIT_INTR, KVM_INTERNAL_ERROR_EMULATION, writeExit } from './exits.js';
import type { OpenFile } from './fd_table.js';
import { isFault } from './host_as.js';
import type { Backing, ExitSpec, GuestAccess, PlatformOpOutcome, PlatformVcpuContext, ResumeView } from './platform.js';
import { MODEL_TSC_KHZ, structArg, type Vm } from './vm.js';

const PAGE = BigInt(PAGE_SIZE);
const U64 = (1n << 64n) - 1n;
/** KVM_HC_VAPIC_POLL_IRQ: the one other hypercall that simply returns 0 here. */
const KVM_HC_VAPIC_POLL_IRQ = 1n;
const REG_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'] as const;
/** Steps between checks of the clock; the interpreter yields to the event loop at least every YIELD_MS. */
const STEPS_PER_CHECK = 64;
const YIELD_MS = 2;
/** When the vCPUs of this process last yielded to the event loop. */
let lastYield = performance.now();
let yieldGate: Promise<void> | undefined;

/**
 * One trip through the event loop that every vCPU due for a yield shares:
 * they wait on the same setImmediate and resume in the order they came, so
 * vCPUs that were interleaving keep interleaving instead of one running
 * alone while the others queue behind it.
 */
function yieldToEventLoop(): Promise<void> {
  yieldGate ??= new Promise<void>((r) => setImmediate(() => {
    lastYield = performance.now();
    yieldGate = undefined;
    r();
  }));
  return yieldGate;
}

/**
 * Where the model puts a vCPU's struct ucall when the program does not say
 * (`GuestProgram.ucallGpa`): one page per vCPU from GPA 0x10000.
 */
export function defaultUcallGpa(vcpuId: number): bigint {
  return 0x10000n + BigInt(vcpuId) * PAGE;
}

interface Frame {
  readonly ops: readonly GuestOp[];
  pc: number;
  /** Iterations left after the current one (loop frames); 'forever' never ends. */
  left: number | 'forever';
  /** A `while` frame: another pass while this holds. */
  readonly cond?: GuestCond;
}

/** What the next KVM_RUN must finish before executing further. */
type Pending =
  | { kind: 'none' }
  | { kind: 'pio' }
  | { kind: 'mmio'; read: boolean }
  /** A `load` that became an MMIO read: the value comes from kvm_run->mmio.data. */
  | { kind: 'mmio_load'; dst: GuestReg; width: GuestWidth }
  | { kind: 'hypercall'; expect?: bigint; dst?: GuestReg; expr: string; loc: SourceLoc }
  | { kind: 'platform'; resume?: (run: ResumeView) => bigint | undefined; again?: boolean; expect?: bigint; dst?: GuestReg; expr: string; loc: SourceLoc };

type Step = { exit: SysResult } | undefined;

const hex = (v: bigint | number): string => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;

export class Vcpu implements OpenFile {
  readonly kind = 'vcpu' as const;
  readonly runBytes = new Uint8Array(KVM_VCPU_MMAP_SIZE);
  readonly run = new KvmRun(this.runBytes);
  readonly regs = new Array<bigint>(REG_NAMES.length).fill(0n);
  private program: GuestProgram | undefined;
  private frames: Frame[] = [];
  /** The program's registers (GuestReg), zero at entry. */
  private readonly gregs = new Array<bigint>(GUEST_NR_REGS).fill(0n);
  /** Bytes of the current memory op already done (a fault resumes there). */
  private memDone = 0;
  private pending: Pending = { kind: 'none' };
  /** After a guest abort, a fatal platform outcome or the end of the program. */
  private stopped: ExitSpec | undefined;
  private running: Promise<SysResult> | undefined;
  private kickRequested = false;
  private wakeHalt: (() => void) | undefined;
  private readonly ctx: PlatformVcpuContext;
  released = false;
  /**
   * vcpu->arch.mp_state. kvm_arch_vcpu_create(): with an in-kernel irqchip
   * only the BSP (id 0) starts RUNNABLE; an AP waits for INIT/SIPI.
   */
  mpState: number;

  constructor(readonly vm: Vm, readonly id: number) {
    this.regs[REG_NAMES.indexOf('rflags')] = 2n;
    this.mpState = vm.irqchip && id !== 0 ? KVM_MP_STATE_UNINITIALIZED : KVM_MP_STATE_RUNNABLE;
    const self = this;
    this.ctx = Object.create(vm.ctx, {
      vcpu: { value: id },
      reg: { value: (name: string) => self.reg(name) },
      setReg: { value: (name: string, v: bigint) => self.setReg(name, v) },
    }) as PlatformVcpuContext;
  }

  release(): void {
    this.released = true;
    this.kick();
    this.vm.put();
  }

  reg(name: string): bigint {
    const i = REG_NAMES.indexOf(name as (typeof REG_NAMES)[number]);
    return i < 0 ? 0n : this.regs[i]!;
  }

  setReg(name: string, v: bigint): void {
    const i = REG_NAMES.indexOf(name as (typeof REG_NAMES)[number]);
    if (i >= 0) this.regs[i] = BigInt.asUintN(64, v);
  }

  /** The model's side channel: attach a guest program, as loading guest_code and pointing RIP at it. */
  setProgram(p: GuestProgram): void {
    this.program = p;
    this.frames = [{ ops: p.ops, pc: 0, left: 0 }];
    this.gregs.fill(0n);
    this.memDone = 0;
    this.pending = { kind: 'none' };
    this.stopped = undefined;
  }

  kick(): void {
    this.kickRequested = true;
    this.wakeHalt?.();
  }

  ioctl(request: number, arg: IoctlArg | undefined): SysResult {
    switch (request) {
      case KVM_GET_REGS: {
        const b = structArg(arg, SIZEOF_KVM_REGS);
        if (!b) return err(EFAULT);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        REG_NAMES.forEach((n, i) => dv.setBigUint64(offsetOf(n, i), this.regs[i]!, true));
        return ok();
      }
      case KVM_SET_REGS: {
        const b = structArg(arg, SIZEOF_KVM_REGS);
        if (!b) return err(EFAULT);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        REG_NAMES.forEach((n, i) => { this.regs[i] = dv.getBigUint64(offsetOf(n, i), true); });
        return ok();
      }
      case KVM_PRE_FAULT_MEMORY: return this.preFault(arg);
      // vcpu->arch.virtual_tsc_khz, the VM's default unless KVM_SET_TSC_KHZ changed it.
      case KVM_GET_TSC_KHZ: return ok(MODEL_TSC_KHZ);
      case KVM_GET_MP_STATE: {
        const b = structArg(arg, 4);
        if (!b) return err(EFAULT);
        new DataView(b.buffer, b.byteOffset, 4).setUint32(0, this.mpState, true);
        return ok();
      }
      case KVM_SET_MP_STATE: return this.setMpState(arg);
      default: {
        try {
          const r = this.vm.pvm.vcpuIoctl?.(this.ctx, request, arg);
          if (r) return r;
        } catch (e) {
          this.vm.sys.noteInternalError('vcpuIoctl', e);
          return err(EINVAL);
        }
        // kvm_vcpu_ioctl(): a request of another type, or unknown to the arch, is EINVAL.
        return err(request === 0xae80 ? ENOTTY : EINVAL);
      }
    }
  }

  /**
   * kvm_arch_vcpu_ioctl_set_mpstate() (arch/x86/kvm/x86.c): RUNNABLE always;
   * the wait states only with the in-kernel local APIC; SIPI_RECEIVED is
   * stored as INIT_RECEIVED with the SIPI pending (here: runnable at once).
   */
  private setMpState(arg: IoctlArg | undefined): SysResult {
    const b = structArg(arg, 4);
    if (!b) return err(EFAULT);
    const s = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
    switch (s) {
      case KVM_MP_STATE_RUNNABLE:
        break;
      case KVM_MP_STATE_UNINITIALIZED:
      case KVM_MP_STATE_HALTED:
      case KVM_MP_STATE_AP_RESET_HOLD:
      case KVM_MP_STATE_INIT_RECEIVED:
      case KVM_MP_STATE_SIPI_RECEIVED:
        if (!this.vm.irqchip) return err(EINVAL);
        break;
      default:
        return err(EINVAL);
    }
    this.mpState = s === KVM_MP_STATE_SIPI_RECEIVED ? KVM_MP_STATE_RUNNABLE : s;
    return ok();
  }

  /**
   * KVM_PRE_FAULT_MEMORY: kvm_vcpu_pre_fault_memory() (virt/kvm/kvm_main.c)
   * validates, then maps page by page through kvm_arch_vcpu_pre_fault_memory()
   * (arch/x86/kvm/mmu/mmu.c); 0 if anything was mapped, gpa/size written back.
   */
  private preFault(arg: IoctlArg | undefined): SysResult {
    const b = structArg(arg, SIZEOF_KVM_PRE_FAULT_MEMORY);
    if (!b) return err(EFAULT);
    const r = decodePreFaultMemory(b);
    if (r.flags) return err(EINVAL);
    if (r.gpa % PAGE !== 0n || r.size % PAGE !== 0n || r.gpa + r.size <= r.gpa || r.gpa + r.size > U64) return err(EINVAL);
    let { gpa, size } = r;
    const full = size;
    let e = 0;
    while (size > 0n) {
      if (!this.vm.preFaultAllowed) { e = EOPNOTSUPP; break; }
      const gfn = Number(gpa / PAGE);
      const slot = this.vm.slots.find(0, gfn);
      // kvm_tdp_map_page(): no memslot means emulation, reported as ENOENT.
      if (!slot) { e = ENOENT; break; }
      if (this.vm.isPrivateGfn(gfn)) {
        // Private GFNs are served from guest_memfd; none bound (or closed) is a memory fault, EFAULT.
        if (!slot.gmem) { e = EFAULT; break; }
      } else if (!slot.gmemOnly) {
        const hva = slot.userspaceAddr + BigInt(gfn - slot.baseGfn) * PAGE;
        if (isFault(this.vm.sys.host.resolve(hva, false))) { e = EFAULT; break; }
      } else if (!slot.gmem) { e = EFAULT; break; }
      gpa += PAGE;
      size -= PAGE;
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    dv.setBigUint64(0, gpa, true);
    dv.setBigUint64(8, size, true);
    return full !== size ? ok() : err(e);
  }

  /** KVM_RUN. Serialised per vCPU like vcpu->mutex. */
  kvmRun(): Promise<SysResult> {
    const prev = this.running ?? Promise.resolve(ok());
    const p = prev.then(() => this.runOnce());
    this.running = p;
    return p;
  }

  private async runOnce(): Promise<SysResult> {
    if (this.vm.destroyed || this.released) return err(EINVAL);
    // kvm_arch_vcpu_ioctl_run(): complete_userspace_io() (PIO, MMIO, hypercall
    // return) runs first, so immediate_exit can finish a pending exit without
    // re-entering the guest; then immediate_exit or a signal gives EINTR.
    const done = this.completePending();
    if (done) return done.exit;
    // !vcpu->wants_to_run (immediate_exit, which a kick sets) ends KVM_RUN
    // before the guest runs: -EINTR, and kvm_run->exit_reason is left as it
    // was (kvm_arch_vcpu_ioctl_run()); only a signal taken while the vCPU
    // runs reports KVM_EXIT_INTR.
    if (this.run.immediateExit || this.kickRequested) {
      this.kickRequested = false;
      return err(EINTR);
    }
    if (!this.program) return this.finish({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] });
    if (this.stopped) return writeExit(this.runBytes, this.stopped);
    // A vCPU waiting for INIT/SIPI (an AP nobody woke) blocks in KVM_RUN as a halted one does.
    if (this.mpState !== KVM_MP_STATE_RUNNABLE) return this.block();
    if (this.codeGone()) return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] })!.exit;
    try {
      const e = this.vm.pvm.beforeRun?.(this.id);
      if (e) return err(e);
    } catch (e) {
      this.vm.sys.noteInternalError('beforeRun', e);
      return err(EINVAL);
    }
    let steps = 0;
    for (;;) {
      // Yield to the event loop at least every YIELD_MS across every vCPU and
      // KVM_RUN: a guest that exits to the host in a tight loop (MMIO reads
      // the host answers at once) must not starve the host's timers, as a
      // real vCPU thread never starves the main thread.
      if (++steps % STEPS_PER_CHECK === 1 && (yieldGate || performance.now() - lastYield >= YIELD_MS)) {
        await yieldToEventLoop();
        if (this.kickRequested) return this.intr();
        if (this.vm.destroyed || this.released) return err(EINVAL);
        if (this.codeGone()) return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] })!.exit;
      }
      const r = await this.step();
      if (r) return r.exit;
    }
  }

  /**
   * The memslot under the program's area (its code and page tables on a
   * real guest) is gone: the next instruction fetch goes to emulated MMIO,
   * which x86_emulate_instruction() cannot decode (KVM_EXIT_INTERNAL_ERROR,
   * emulation), as set_memory_region_test's deleted slot 0 shows.
   */
  private codeGone(): boolean {
    const area = this.program?.area;
    return area !== undefined && !this.vm.slots.find(0, Number(area.gpa / PAGE));
  }

  /** kvm_vcpu_block() with nothing to wake the vCPU: only a signal (a kick) ends KVM_RUN, with EINTR. */
  private async block(): Promise<SysResult> {
    await new Promise<void>((r) => { this.wakeHalt = r; if (this.kickRequested) r(); });
    this.wakeHalt = undefined;
    return this.intr();
  }

  private intr(): SysResult {
    this.kickRequested = false;
    this.run.exitReason = KVM_EXIT_INTR;
    return err(EINTR);
  }

  private finish(e: ExitSpec): SysResult {
    return writeExit(this.runBytes, e);
  }

  private stop(e: ExitSpec): Step {
    this.stopped = e;
    return { exit: this.finish(e) };
  }

  /** Finish what the last exit left open: IN data, hypercall return value, a platform resume. */
  private completePending(): Step {
    const p = this.pending;
    this.pending = { kind: 'none' };
    switch (p.kind) {
      case 'none':
      case 'pio':
      case 'mmio':
        return undefined;
      case 'mmio_load': {
        // complete_emulated_mmio(): the read's destination takes mmio.data.
        let v = 0n;
        for (let i = p.width - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.runBytes[40 + i]!);
        this.gregs[p.dst.reg] = v;
        this.advance();
        return undefined;
      }
      case 'hypercall': {
        // complete_hypercall_exit(): RAX = run->hypercall.ret, RIP past the vmcall.
        const ret = this.run.hypercallRet;
        this.setReg('rax', ret);
        if (p.dst) this.gregs[p.dst.reg] = ret;
        this.advance();
        if (p.expect !== undefined && ret !== BigInt.asUintN(64, p.expect)) return this.expectFailed(p.loc, p.expr, ret, p.expect);
        return undefined;
      }
      case 'platform': {
        let status: bigint | undefined;
        try {
          status = p.resume?.({ hypercallRet: this.run.hypercallRet, bytes: this.runBytes });
        } catch (e) {
          this.vm.sys.noteInternalError('resume', e);
          return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION });
        }
        // retry + resume: the op consumed userspace's answer and runs again (multi-exit ops: MapGPA chunks, PSC runs).
        if (p.again) return undefined;
        this.advance();
        if (p.dst && status !== undefined) this.gregs[p.dst.reg] = status;
        if (p.expect !== undefined && status !== undefined && status !== BigInt.asUintN(64, p.expect)) {
          return this.expectFailed(p.loc, p.expr, status, p.expect);
        }
        return undefined;
      }
    }
  }

  private current(): GuestOp | undefined {
    for (;;) {
      const f = this.frames[this.frames.length - 1];
      if (!f) return undefined;
      if (f.pc < f.ops.length) return f.ops[f.pc];
      if (f.cond) {
        if (this.test(f.cond)) {
          f.pc = 0;
          if (f.ops.length === 0) return undefined;
          continue;
        }
        this.frames.pop();
        this.frames[this.frames.length - 1]!.pc++;
        continue;
      }
      if (this.frames.length > 1 && (f.left === 'forever' || f.left > 0)) {
        if (f.left !== 'forever') f.left--;
        f.pc = 0;
        if (f.ops.length === 0) return undefined;
        continue;
      }
      if (this.frames.length === 1) return undefined;
      this.frames.pop();
      this.frames[this.frames.length - 1]!.pc++;
    }
  }

  private advance(): void {
    this.memDone = 0;
    const f = this.frames[this.frames.length - 1];
    if (f) f.pc++;
  }

  /** Execute one op, or one page of a memory op. Returns an exit, or undefined to keep going. */
  private async step(): Promise<Step> {
    const op = this.current();
    // Falling off the end of guest_code returns to nowhere: the vCPU triple-faults (SHUTDOWN).
    if (!op) return this.stop({ reason: 'shutdown' });
    switch (op.op) {
      case 'write':
      case 'check':
      case 'read':
        return this.memStep(op);
      case 'hypercall':
        return this.hypercall(op);
      case 'ucall': {
        const gpa = this.ucallGpa();
        this.writeUcall(gpa, op.cmd, op.args.map((a) => this.val(a)), op.text ?? '');
        this.advance();
        return { exit: this.pio(gpa) };
      }
      case 'fail':
        return this.guestAssert(op.loc, op.expr, op.message);
      case 'loop': {
        if (op.count !== 'forever' && op.count <= 0) {
          this.advance();
          return undefined;
        }
        if (op.body.length === 0) {
          if (op.count === 'forever') return undefined;
          this.advance();
          return undefined;
        }
        this.frames.push({ ops: op.body, pc: 0, left: op.count === 'forever' ? 'forever' : op.count - 1 });
        return undefined;
      }
      case 'load':
      case 'store':
        return this.scalarAccess(op);
      case 'mov':
        this.gregs[op.dst.reg] = BigInt.asUintN(64, this.val(op.src));
        this.advance();
        return undefined;
      case 'alu':
        this.gregs[op.dst.reg] = guestAlu(op.fn, this.gregs[op.dst.reg]!, this.val(op.src));
        this.advance();
        return undefined;
      case 'assert':
        if (this.test(op.cond)) {
          this.advance();
          return undefined;
        }
        return this.guestAssert(op.loc, op.expr, formatGuestMessage(op.message, op.args.map((a) => this.val(a))));
      case 'if': {
        const body = this.test(op.cond) ? op.then : op.else;
        if (body.length === 0) {
          this.advance();
          return undefined;
        }
        this.frames.push({ ops: body, pc: 0, left: 0 });
        return undefined;
      }
      case 'while':
        if (!this.test(op.cond)) {
          this.advance();
          return undefined;
        }
        if (op.body.length === 0) return undefined;
        this.frames.push({ ops: op.body, pc: 0, left: 0, cond: op.cond });
        return undefined;
      case 'platform':
        return this.platformOp(op);
      case 'halt':
        // HLT with the in-kernel local APIC and no interrupt source: the vCPU
        // blocks in kvm_vcpu_block() until a signal ends KVM_RUN with EINTR.
        return { exit: await this.block() };
    }
  }

  private val(v: GuestOperand): bigint {
    return isGuestReg(v) ? this.gregs[v.reg] ?? 0n : BigInt.asUintN(64, v);
  }

  private test(c: GuestCond): boolean {
    return c.any.some((x) => guestCompare(this.val(x.a), x.cmp, this.val(x.b)));
  }

  /** A hypercall or platform status that is not the expected one: `0x.. != 0x.. (expr)`. */
  private expectFailed(loc: SourceLoc, expr: string, got: bigint, want: bigint): Step {
    return this.guestAssert(loc, expr, formatGuestMessage(expectMismatchFormat(expr), [got, want]));
  }

  /**
   * `load`/`store` of 1..8 bytes. An access that crosses a page is done page
   * by page as `read`/`write` are; one that finds no memslot is emulated MMIO
   * with the whole value, as the emulator decodes the instruction's operand.
   */
  private scalarAccess(op: Extract<GuestOp, { op: 'load' | 'store' }>): Step {
    const write = op.op === 'store';
    const bytes = new Uint8Array(op.width);
    if (write) {
      let v = this.val(op.value);
      for (let i = 0; i < op.width; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
    }
    while (this.memDone < op.width) {
      const gpa = BigInt.asUintN(64, op.gpa + BigInt(this.memDone));
      const len = Math.min(op.width - this.memDone, PAGE_SIZE - Number(gpa % PAGE));
      const chunk = bytes.subarray(this.memDone, this.memDone + len);
      const r = this.access(gpa, len, write, op.view, write ? chunk : undefined, op.width);
      if ('exit' in r) {
        if (this.run.exitReason === KVM_EXIT_MMIO) {
          // The emulator completes the whole operand through userspace.
          if (write) this.advance();
          else this.pending = { kind: 'mmio_load', dst: op.dst, width: op.width };
        }
        return r;
      }
      if (!write) chunk.set(r.data);
      this.memDone += len;
    }
    if (!write) {
      let v = 0n;
      for (let i = op.width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
      this.gregs[op.dst.reg] = v;
    }
    this.advance();
    return undefined;
  }

  /** The GPA of this vCPU's struct ucall. */
  private ucallGpa(): bigint {
    return this.program?.ucallGpa ?? defaultUcallGpa(this.id);
  }

  /** The x86 PIO ucall: RDI = &uc, `in` on UCALL_PIO_PORT → KVM_EXIT_IO (IN, 1 byte, data at run + 4096). */
  private pio(gpa: bigint): SysResult {
    this.setReg('rdi', gpa);
    this.pending = { kind: 'pio' };
    return this.finish({ reason: 'io', direction: KVM_EXIT_IO_IN, size: 1, port: UCALL_PIO_PORT, count: 1 });
  }

  /**
   * Write struct ucall {cmd, args[7], buffer[1024], hva} at `gpa` through the
   * shared backing of the slot covering it (userspace_addr, or the gmem of a
   * GMEM_ONLY slot). Bytes that land nowhere are dropped; the host then fails
   * to read the struct, as it would in C.
   */
  private writeUcall(gpa: bigint, cmd: number, args: readonly bigint[], text: string): void {
    const uc = new Uint8Array(SIZEOF_UCALL);
    const dv = new DataView(uc.buffer);
    dv.setBigUint64(0, BigInt(cmd), true);
    for (let i = 0; i < UCALL_MAX_ARGS; i++) dv.setBigUint64(8 + 8 * i, BigInt.asUintN(64, args[i] ?? 0n), true);
    const t = new TextEncoder().encode(text).subarray(0, UCALL_BUFFER_LEN - 1);
    uc.set(t, 8 + 8 * UCALL_MAX_ARGS);
    const slot = this.vm.slots.find(0, Number(gpa / PAGE));
    const hva = slot && !slot.gmemOnly ? slot.userspaceAddr + gpa - BigInt(slot.baseGfn) * PAGE : 0n;
    dv.setBigUint64(8 + 8 * UCALL_MAX_ARGS + UCALL_BUFFER_LEN, hva, true);
    for (let done = 0; done < uc.length;) {
      const at = gpa + BigInt(done);
      const inPage = Number(at % PAGE);
      const chunk = Math.min(uc.length - done, PAGE_SIZE - inPage);
      const r = this.vm.backingPage(Number(at / PAGE), 'shared', true);
      if (r && !isFault(r)) r.store.touch(r.index).set(uc.subarray(done, done + chunk), inPage);
      done += chunk;
    }
  }

  /**
   * GUEST_ASSERT failure: UCALL_ABORT with args {0, 0, line} and the buffer
   * `<file>:<line>: <expr>` followed by a newline and the detail. The vCPU
   * does not continue past an abort.
   */
  private guestAssert(loc: SourceLoc, expr: string, detail: string): Step {
    const gpa = this.ucallGpa();
    this.writeUcall(gpa, UCALL_ABORT, [0n, 0n, BigInt(loc.line)], `${loc.file}:${loc.line}: ${expr}${detail ? `\n${detail}` : ''}`);
    this.stopped = { reason: 'shutdown' };
    return { exit: this.pio(gpa) };
  }

  /** __kvm_emulate_hypercall() for a 64-bit guest at CPL 0. */
  private hypercall(op: Extract<GuestOp, { op: 'hypercall' }>): Step {
    const nr = BigInt.asUintN(64, op.nr);
    const a = [0, 1, 2, 3].map((i) => BigInt.asUintN(64, op.args[i] ?? 0n));
    this.setReg('rax', nr);
    this.setReg('rbx', a[0]!);
    this.setReg('rcx', a[1]!);
    this.setReg('rdx', a[2]!);
    this.setReg('rsi', a[3]!);
    let ret: bigint;
    if (nr === BigInt(KVM_HC_MAP_GPA_RANGE)) {
      const [gpa, npages, attrs] = [a[0]!, a[1]!, a[2]!];
      if (!(this.vm.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE)))) {
        ret = -BigInt(KVM_ENOSYS);
      } else if (gpa % PAGE !== 0n || npages === 0n || BigInt.asUintN(64, gpa / PAGE + npages) <= gpa / PAGE) {
        ret = -BigInt(KVM_EINVAL);
      } else {
        // KVM_EXIT_HYPERCALL with the arguments as the guest passed them; attrs are not validated.
        this.pending = { kind: 'hypercall', expect: op.expect, dst: op.dst, expr: op.expr, loc: op.loc };
        return { exit: this.finish({ reason: 'hypercall', nr, args: [gpa, npages, attrs], flags: KVM_EXIT_HYPERCALL_LONG_MODE }) };
      }
    } else if (nr === KVM_HC_VAPIC_POLL_IRQ) {
      ret = 0n;
    } else {
      ret = -BigInt(KVM_ENOSYS);
    }
    const rax = BigInt.asUintN(64, ret);
    this.setReg('rax', rax);
    if (op.dst) this.gregs[op.dst.reg] = rax;
    this.advance();
    if (op.expect !== undefined && rax !== BigInt.asUintN(64, op.expect)) return this.expectFailed(op.loc, op.expr, rax, op.expect);
    return undefined;
  }

  private platformOp(op: Extract<GuestOp, { op: 'platform' }>): Step {
    if (!this.vm.pvm.guestOp) {
      // The platform has no such instruction: KVM cannot emulate it.
      return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] });
    }
    let out: PlatformOpOutcome;
    try {
      out = this.vm.pvm.guestOp(this.ctx, op);
    } catch (e) {
      this.vm.sys.noteInternalError('guestOp', e);
      return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] });
    }
    return this.outcome(out, op);
  }

  private outcome(out: PlatformOpOutcome, op: Extract<GuestOp, { op: 'platform' }>): Step {
    switch (out.kind) {
      case 'done':
        this.advance();
        if (op.dst && out.status !== undefined) this.gregs[op.dst.reg] = out.status;
        if (op.expect !== undefined && out.status !== undefined && out.status !== BigInt.asUintN(64, op.expect)) {
          return this.expectFailed(op.loc, op.expr, out.status, op.expect);
        }
        return undefined;
      case 'exit':
        if (!out.retry) this.pending = { kind: 'platform', resume: out.resume, expect: op.expect, ...(op.dst ? { dst: op.dst } : {}), expr: op.expr, loc: op.loc };
        else if (out.resume) this.pending = { kind: 'platform', resume: out.resume, again: true, expr: op.expr, loc: op.loc };
        return { exit: this.finish(out.exit) };
      case 'fatal':
        return this.stop(out.exit ?? { reason: 'shutdown' });
    }
  }

  /**
   * Up to MEM_PAGES_PER_STEP pages of a write/check/read op. Each page goes
   * through the fault path on its own (attributes and slots can differ page
   * by page); taking several per step only saves the interpreter's round
   * trip, and an exit on any page ends the step there.
   */
  private memStep(op: Extract<GuestOp, { op: 'write' | 'check' | 'read' }>): Step {
    const size = Math.max(0, op.size);
    const write = op.op === 'write';
    const want = op.op === 'write' || op.op === 'check' ? op.pattern & 0xff : 0;
    for (let n = 0; n < MEM_PAGES_PER_STEP && this.memDone < size; n++) {
      const gpa = BigInt.asUintN(64, op.gpa + BigInt(this.memDone));
      const inPage = Number(gpa % PAGE);
      const len = Math.min(size - this.memDone, PAGE_SIZE - inPage);
      const r = this.access(gpa, len, write, op.view, write ? patternBuffer(want, len).subarray(0, len) : undefined);
      if ('exit' in r) return r;
      if (op.op === 'check') {
        const i = firstByteNot(r.data, want);
        if (i >= 0) {
          const off = this.memDone + i;
          return this.guestAssert(op.loc, op.expr,
            formatGuestMessage(GUEST_CHECK_FORMAT, [BigInt(want), BigInt(off), op.gpa + BigInt(off), BigInt(r.data[i]!)]));
        }
      }
      this.memDone += len;
    }
    if (this.memDone >= size) this.advance();
    return undefined;
  }

  /**
   * One guest access within a page, through the fault path of
   * arch/x86/kvm/mmu/mmu.c (kvm_mmu_faultin_pfn() / kvm_faultin_pfn()):
   * 1. the access's private-ness (the platform) must match the GFN's
   *    attribute, else KVM_EXIT_MEMORY_FAULT (flags PRIVATE if the access was);
   * 2. a private access needs a slot with a live guest_memfd, else the same exit;
   * 3. a shared access with no slot is emulated MMIO (KVM_EXIT_MMIO);
   * 4. a shared access whose HVA does not resolve is -EFAULT.
   */
  private access(
    gpa: bigint, len: number, write: boolean, view: GuestView, data: Uint8Array | undefined, scalarWidth?: GuestWidth,
  ): { data: Uint8Array } | { exit: SysResult } {
    const vm = this.vm;
    const gfn = Number(gpa / PAGE);
    const pageGpa = BigInt(gfn) * PAGE;
    const a: GuestAccess = { gpa, len, write, view, vcpu: this.id };
    let isPrivate: boolean;
    try {
      isPrivate = vm.pvm.isPrivateAccess(a);
    } catch (e) {
      vm.sys.noteInternalError('isPrivateAccess', e);
      return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION }) as { exit: SysResult };
    }
    const fault = (priv: boolean): { exit: SysResult } =>
      ({ exit: this.finish({ reason: 'memory_fault', flags: priv ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n, gpa: pageGpa, size: PAGE }) });
    if (isPrivate !== vm.isPrivateGfn(gfn)) return fault(isPrivate);
    const slot = vm.slots.find(0, gfn);
    let backing: Backing;
    if (isPrivate) {
      if (!slot || !slot.hasGmemFlag || !slot.gmem) return fault(true);
      backing = 'private';
    } else {
      if (!slot) {
        // kvm_handle_noslot_fault(): emulated MMIO, one exit per page access;
        // writes carry the first (up to 8) bytes, reads complete with what userspace leaves.
        // A scalar load/store is one emulated operand of its own width; a
        // `read` touches each page with one load, the widest of 8/4/2/1
        // bytes that fits (the guest agent's instruction).
        if (scalarWidth === undefined) this.memDone += len;
        const n = scalarWidth ?? (write ? Math.min(8, len) : widestLoad(len));
        const e = this.finish({ reason: 'mmio', physAddr: gpa, len: n, isWrite: write, data: data?.subarray(0, n) });
        return { exit: e };
      }
      if (slot.gmemOnly && !slot.gmem) return fault(false);
      backing = 'shared';
    }
    if (vm.pvm.beforeGuestAccess) {
      let o: PlatformOpOutcome | undefined;
      try {
        o = vm.pvm.beforeGuestAccess(a, backing);
      } catch (e) {
        vm.sys.noteInternalError('beforeGuestAccess', e);
        return this.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION }) as { exit: SysResult };
      }
      if (o && o.kind === 'exit') return { exit: this.finish(o.exit) };
      if (o && o.kind === 'fatal') return this.stop(o.exit ?? { reason: 'shutdown' }) as { exit: SysResult };
    }
    const page = vm.backingPage(gfn, backing, write);
    if (!page || isFault(page)) {
      // hva_to_pfn() failed: KVM_RUN returns -EFAULT.
      return { exit: this.finish({ reason: 'memory_fault', flags: 0n, gpa: pageGpa, size: PAGE }) };
    }
    const inPage = Number(gpa % PAGE);
    if (data) {
      const stored = vm.pvm.encodeGuestWrite ? vm.pvm.encodeGuestWrite(a, backing, data) : data;
      page.store.touch(page.index).set(stored.subarray(0, len), inPage);
      return { data };
    }
    // A view, not a copy, unless the platform rewrites what the guest reads:
    // the callers only look at the bytes before the next access.
    const bytes = page.store.peek(page.index);
    return { data: vm.pvm.decodeGuestRead ? vm.pvm.decodeGuestRead(a, backing, bytes.slice(inPage, inPage + len)) : bytes.subarray(inPage, inPage + len) };
  }
}

/** The widest x86 load of 8, 4, 2 or 1 bytes that fits in `len`. */
function widestLoad(len: number): number {
  return len >= 8 ? 8 : len >= 4 ? 4 : len >= 2 ? 2 : 1;
}


/** Pages of a write/check/read op taken per interpreter step (1 MiB). */
const MEM_PAGES_PER_STEP = 256;

/** Index of the first byte of `a` that is not `value`, or -1: whole-buffer compares, bytes walked only to place a mismatch. */
function firstByteNot(a: Uint8Array, value: number): number {
  if (patternBuffer(value, a.length).compare(a, 0, a.length, 0, a.length) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== value) return i;
  return -1;
}

function offsetOf(name: string, i: number): number {
  const o = (KVM_REGS_OFFSET as Record<string, number>)[name];
  return o ?? i * 8;
}
