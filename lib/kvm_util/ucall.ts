/**
 * The host side of ucall (tools/testing/selftests/kvm/lib/ucall_common.c,
 * lib/x86/ucall.c): a ucall is KVM_EXIT_IO (IN) on port 0x1000 with RDI
 * holding the GPA of a `struct ucall` in shared guest memory. get_ucall()
 * copies the struct out through the slot's HVA.
 *
 * REPORT_GUEST_ASSERT turns a UCALL_ABORT into a host failure located at the
 * guest step's test-source line, which the guest program op carries.
 */
import { KVM_EXIT_IO, KVM_EXIT_IO_IN, SIZEOF_UCALL, UCALL_BUFFER_LEN, UCALL_MAX_ARGS, UCALL_NONE, UCALL_PIO_PORT } from '../kvm/uapi.js';
import type { GuestOp } from '../kvm/guest_program.js';
import { ucall } from '../kvm/structs.js';
import { testAssertFail, failureSite } from './assert.js';
import { describeExit, noteUcallMiss } from './exit_info.js';
import { writeStdout } from './ksft.js';
import { addrGpa2Hva } from './memslots.js';
import { pageStateMap } from './page_states.js';
import { hostRead } from './syscalls.js';
import { vcpuRegsGet } from './vcpu.js';
import type { KvmVcpu } from './vm.js';

/** struct ucall as the host reads it: the guest's message behind a ucall exit. */
export interface Ucall {
  /** UCALL_SYNC, UCALL_ABORT, UCALL_PRINTF, UCALL_DONE; UCALL_NONE when the exit was no ucall. */
  readonly cmd: number;
  /** args[0..6]: GUEST_SYNC's stage is args[1], GUEST_SYNC_ARGS's values start at args[0]. */
  readonly args: readonly bigint[];
  /** The NUL-terminated buffer as text (GUEST_PRINTF output, guest assert message). */
  readonly buffer: string;
  /**
   * For UCALL_NONE from a vCPU exit that was not the ucall port: that exit
   * in words (`vCPU 0: KVM_EXIT_MMIO (6): write of 8 bytes at gpa
   * 0xc0000000, outside every memslot`).
   */
  readonly exit?: string;
}

const NO_ARGS: readonly bigint[] = new Array<bigint>(UCALL_MAX_ARGS).fill(0n);

/** Decode `struct ucall { u64 cmd; u64 args[7]; char buffer[1024]; ... }`. */
export function decodeUcall(bytes: Uint8Array): Ucall {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const o = ucall.offsets;
  const args: bigint[] = [];
  for (let i = 0; i < UCALL_MAX_ARGS; i++) args.push(dv.getBigUint64(o.args + 8 * i, true));
  const raw = bytes.subarray(o.buffer, o.buffer + UCALL_BUFFER_LEN);
  const nul = raw.indexOf(0);
  return { cmd: Number(dv.getBigUint64(o.cmd, true)), args, buffer: Buffer.from(raw.subarray(0, nul < 0 ? raw.length : nul)).toString('utf8') };
}

/**
 * get_ucall(): the ucall behind the current exit, or UCALL_NONE (all zero)
 * when the exit is not the ucall PIO; then `exit` says what the exit was,
 * and a failed TEST_ASSERT_EQ on the command prints it (C leaves the test
 * with `0 != 0x4` and no hint that the guest, say, wrote outside every
 * memslot).
 *
 * @example
 * ```ts
 * const { vcpu } = cocoVmCreate('sw_protected', (g) => {
 *   g.store(0xc0000000n, 1);   // no memslot there: an MMIO exit
 *   g.done();
 * });
 * await vcpuRun(vcpu);
 * const uc = getUcall(vcpu);
 * TEST_ASSERT_EQ(uc.cmd, UCALL_NONE);
 * TEST_ASSERT(uc.exit?.includes('outside every memslot'), uc.exit);
 * ```
 */
export function getUcall(vcpu: KvmVcpu): Ucall {
  const run = vcpu.run;
  if (run.exitReason !== KVM_EXIT_IO || run.ioPort !== UCALL_PIO_PORT || run.ioDirection !== KVM_EXIT_IO_IN) {
    const exit = describeExit(vcpu);
    noteUcallMiss(exit);
    return { cmd: UCALL_NONE, args: NO_ARGS, buffer: '', exit };
  }
  noteUcallMiss(undefined);
  const gpa = vcpuRegsGet(vcpu).rdi;
  return decodeUcall(hostRead(addrGpa2Hva(vcpu.vm, gpa), SIZEOF_UCALL));
}

/** Where a guest assert came from: `<file>:<line>: <expr>` on the buffer's first line. */
export interface GuestAssertSite {
  readonly file: string;
  readonly line: number;
  readonly expr: string;
  readonly message: string;
}

const HEAD_RE = /^(.+?):(\d+): (.*)$/;

/** Split a UCALL_ABORT buffer into its source location, expression and message. */
export function parseGuestAssert(uc: Ucall): GuestAssertSite {
  const nl = uc.buffer.indexOf('\n');
  const head = nl < 0 ? uc.buffer : uc.buffer.slice(0, nl);
  const rest = nl < 0 ? '' : uc.buffer.slice(nl + 1);
  const m = HEAD_RE.exec(head);
  if (!m) return { file: '<guest>', line: Number(uc.args[2] ?? 0n), expr: 'guest assert', message: uc.buffer };
  return { file: m[1]!, line: Number(m[2]), expr: m[3]!, message: rest || m[3]! };
}

/** The program op recorded at a source line (the guest step that failed). */
function findOp(ops: readonly GuestOp[] | undefined, file: string, line: number): GuestOp | undefined {
  for (const op of ops ?? []) {
    if (op.loc.line === line && op.loc.file === file && op.op !== 'loop') return op;
    if (op.op === 'loop') {
      const inner = findOp(op.body, file, line);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * REPORT_GUEST_ASSERT(uc): the assertion block with the guest step's
 * file:line and expression, the host stack, and the guest's message.
 */
export function REPORT_GUEST_ASSERT(uc: Ucall, vcpu?: KvmVcpu): never {
  const s = parseGuestAssert(uc);
  const op = vcpu ? findOp(vcpu.program?.ops, s.file, s.line) : undefined;
  let extra: string | undefined;
  if (vcpu && op && (op.op === 'check' || op.op === 'write' || op.op === 'read')) {
    const m = /gpa (0x[0-9a-fA-F]+)/.exec(s.message);
    const at = m ? BigInt(m[1]!) : op.gpa;
    extra = `  (guest side, ${op.view} view)\n  ${pageStateMap(vcpu.vm, at)}`;
  }
  const host = failureSite(['lib/kvm_util/ucall.ts']);
  return testAssertFail({ file: s.file, line: s.line, frames: host.frames }, s.expr, extra ? `${s.message}\n${extra}` : s.message);
}

/** REPORT_GUEST_PRINTF(uc): pr_info("%s", uc.buffer). */
export function REPORT_GUEST_PRINTF(uc: Ucall): void {
  writeStdout(uc.buffer);
}

