/**
 * A vCPU (struct kvm_vcpu): registers, struct kvm_run, the MP state and the
 * state of the guest program the model runs in place of guest code. What
 * acts on it lives in vcpu/: the ioctls (vcpu_fops.ts), KVM_RUN (run.ts),
 * the interpreter of the guest program (interpreter.ts) with its memory
 * accesses through the MMU fault path (guest_access.ts, mmu.ts), hypercalls
 * (hypercall.ts), ucalls (ucall.ts) and platform instructions
 * (platform_op.ts).
 */

import type { SysResult } from '../backend.js';
import {
  GUEST_NR_REGS, guestCompare, isGuestReg,
  type GuestCond, type GuestOp, type GuestOperand, type GuestProgram, type GuestReg, type GuestWidth, type SourceLoc,
} from '../guest_program.js';
import { KvmRun } from '../kvm_run.js';
import { KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED, KVM_VCPU_MMAP_SIZE } from '../uapi.js';
import { writeExit } from './exits.js';
import type { ExitSpec, PlatformVcpuContext, ResumeView } from './platform.js';
import { ANON_INODE_INO, ANON_INODE_MODE, type FileOperations, type Kstat, type OpenFile } from './vfs/file.js';
import { kvmVcpuFops } from './vcpu/vcpu_fops.js';
import type { Vm } from './vm.js';

export { defaultUcallGpa } from './vcpu/ucall.js';

export const REG_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'] as const;

/** A level of the guest program's control flow: the ops of a body and where in them the vCPU is. */
export interface Frame {
  readonly ops: readonly GuestOp[];
  pc: number;
  /** Iterations left after the current one (loop frames); 'forever' never ends. */
  left: number | 'forever';
  /** A `while` frame: another pass while this holds. */
  readonly cond?: GuestCond;
}

/** What the next KVM_RUN must finish before executing further (complete_userspace_io). */
export type Pending =
  | { kind: 'none' }
  | { kind: 'pio' }
  | { kind: 'mmio'; read: boolean }
  /** A `load` that became an MMIO read: the value comes from kvm_run->mmio.data. */
  | { kind: 'mmio_load'; dst: GuestReg; width: GuestWidth }
  | { kind: 'hypercall'; expect?: bigint; dst?: GuestReg; expr: string; loc: SourceLoc }
  | { kind: 'platform'; resume?: (run: ResumeView) => bigint | undefined; again?: boolean; expect?: bigint; dst?: GuestReg; expr: string; loc: SourceLoc };

/** One interpreter step's result: an exit that ends KVM_RUN, or undefined to keep going. */
export type Step = { exit: SysResult } | undefined;

export class Vcpu implements OpenFile {
  readonly kind = 'vcpu' as const;
  readonly fops: FileOperations<Vcpu> = kvmVcpuFops;
  /** anon_inode_getfile(): no FMODE_PREAD/PWRITE. */
  readonly fmode = 0;
  readonly runBytes = new Uint8Array(KVM_VCPU_MMAP_SIZE);
  readonly run = new KvmRun(this.runBytes);
  readonly regs = new Array<bigint>(REG_NAMES.length).fill(0n);
  program: GuestProgram | undefined;
  frames: Frame[] = [];
  /** The program's registers (GuestReg), zero at entry. */
  readonly gregs = new Array<bigint>(GUEST_NR_REGS).fill(0n);
  /** Bytes of the current memory op already done (a fault resumes there). */
  memDone = 0;
  pending: Pending = { kind: 'none' };
  /** After a guest abort, a fatal platform outcome or the end of the program. */
  stopped: ExitSpec | undefined;
  /** The KVM_RUN in progress, which the next one waits for (vcpu->mutex). */
  running: Promise<SysResult> | undefined;
  kickRequested = false;
  wakeHalt: (() => void) | undefined;
  readonly ctx: PlatformVcpuContext;
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

  /** The anon inode's filesystem refuses exec mappings where the release says so. */
  get noexec(): boolean {
    return this.vm.sys.profile.pseudoFsNoexec;
  }

  getattr(): Kstat {
    return { size: 0n, ino: ANON_INODE_INO, mode: ANON_INODE_MODE };
  }

  /** kvm_vcpu_release(): the vCPU's VM reference goes. */
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

  /** A signal to the vCPU thread: a running KVM_RUN ends with EINTR, a later one before entering the guest. */
  kick(): void {
    this.kickRequested = true;
    this.wakeHalt?.();
  }

  /** Write `e` into kvm_run; KVM_RUN's return value with it. */
  finish(e: ExitSpec): SysResult {
    return writeExit(this.runBytes, e);
  }

  /** An exit the vCPU does not run past: every later KVM_RUN repeats it. */
  stop(e: ExitSpec): Step {
    this.stopped = e;
    return { exit: this.finish(e) };
  }

  /** Past the current op (RIP past the instruction). */
  advance(): void {
    this.memDone = 0;
    const f = this.frames[this.frames.length - 1];
    if (f) f.pc++;
  }

  val(v: GuestOperand): bigint {
    return isGuestReg(v) ? this.gregs[v.reg] ?? 0n : BigInt.asUintN(64, v);
  }

  test(c: GuestCond): boolean {
    return c.any.some((x) => guestCompare(this.val(x.a), x.cmp, this.val(x.b)));
  }
}
