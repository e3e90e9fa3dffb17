/**
 * Host side of KVM_MEMORY_ENCRYPT_OP for tests: the command struct points at
 * its argument struct in the VMM's memory, so the argument is placed in a
 * scratch page first and read back afterwards (the kernel updates it in
 * place: remaining SNP_LAUNCH_UPDATE range, measurement length, ...).
 */
import type { Backend } from '../kvm/backend.js';
import { putU64 } from '../kvm/layout.js';
import { KVM_MEMORY_ENCRYPT_OP, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kvm/uapi.js';

/**
 * The argument of the model-only commands that stand in for the host kernel
 * touching a private page: the __u64 GPA, then `extra` bytes where the
 * answer comes back (a page, for a read).
 */
export function gpaArg(gpa: bigint, extra = 0): Uint8Array {
  const b = new Uint8Array(8 + extra);
  putU64(b, 0, gpa);
  return b;
}

export interface EncryptOpResult {
  readonly ret: number;
  readonly errno: number;
  /** The command struct after the call (SEV: `error` holds the firmware status). */
  readonly cmd: Uint8Array;
  /** The argument struct after the call. */
  readonly data: Uint8Array;
}

const scratch = new WeakMap<Backend, bigint>();
const SCRATCH_SIZE = 0x10000n;

/** A scratch area in the VMM's address space for argument structs. */
export function scratchArea(b: Backend): bigint {
  let a = scratch.get(b);
  if (a === undefined) {
    const m = b.mmap(0n, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
    if (m.errno) throw new Error(`mmap of the KVM_MEMORY_ENCRYPT_OP scratch area failed: errno ${m.errno}`);
    a = m.addr;
    scratch.set(b, a);
  }
  return a;
}

/** Issue KVM_MEMORY_ENCRYPT_OP on `fd` (VM or vCPU) with `data` as the argument struct. */
export function memoryEncryptOp(b: Backend, fd: number, makeCmd: (dataHva: bigint) => Uint8Array, data: Uint8Array): EncryptOpResult {
  const hva = scratchArea(b);
  if (data.length) b.hostWrite(hva, data);
  const cmd = makeCmd(data.length ? hva : 0n);
  const r = b.ioctl(fd, KVM_MEMORY_ENCRYPT_OP, cmd);
  const after = data.length ? b.hostRead(hva, data.length) : new Uint8Array(0);
  return { ret: r.ret, errno: r.errno, cmd, data: after };
}
