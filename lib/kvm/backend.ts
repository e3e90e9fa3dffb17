/**
 * The one interface every backend implements: the system-call surface a KVM
 * selftest uses, with file descriptors as plain numbers and every call
 * returning what the kernel would (`ret`, `errno`), never throwing for a bad
 * argument. The `model` backend simulates it; the `kvm` backend forwards it to
 * the host's /dev/kvm. Guest code travels as a GuestProgram
 * (guest_program.ts). What only a simulation can do sits behind the optional
 * `model` control object, named here by type only.
 */
import type { GuestProgram } from './guest_program.js';
import type { ModelControl } from './model/control.js';

export type { ModelControl } from './model/control.js';

/** A raw call's result: `ret` is -1 and `errno` set on failure, `errno` 0 on success. */
export interface SysResult {
  readonly ret: number;
  readonly errno: number;
  /** The call's deadline passed and a signal ended it (ioctl's `timeoutMs`): the EINTR is the watchdog's. */
  readonly timedOut?: boolean;
}

/** A raw call that succeeded: `ret` is what the call returns (0, an fd, a size). */
export const ok = (ret = 0): SysResult => ({ ret, errno: 0 });
/** A raw call that failed as the kernel reports it: -1, and the errno. */
export const err = (errno: number): SysResult => ({ ret: -1, errno });

export interface IoctlOptions {
  /**
   * End the call with a signal if the kernel has not returned within this
   * many milliseconds (KVM_PRE_FAULT_MEMORY can spin in the kernel). A
   * backend whose calls cannot block ignores it.
   */
  readonly timeoutMs?: number;
}

/** mmap(2)'s result: `addr` is MAP_FAILED (2^64-1) on failure. */
export interface MmapResult {
  readonly addr: bigint;
  readonly errno: number;
}

export interface StatResult extends SysResult {
  readonly stat?: FileStat;
}

export interface FileStat {
  readonly size: bigint;
  readonly blksize: number;
  readonly ino: bigint;
  /** S_IFREG and friends, plus permission bits, as st_mode. */
  readonly mode: number;
}

/** An ioctl argument: an integer for _IO requests, the struct's bytes (updated in place for _IOWR) otherwise. */
export type IoctlArg = number | bigint | Uint8Array;

export const MAP_FAILED = (1n << 64n) - 1n;

/** One CPUID leaf's registers. */
export interface CpuidRegs {
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}

/** Which signal a host memory access raised, with the details siginfo carries. */
export type HostSignal = 'SIGBUS' | 'SIGSEGV';

/**
 * Thrown by `hostRead`/`hostWrite` when the access would raise a signal in a
 * real process (SIGBUS on a private guest_memfd page or past i_size, SIGSEGV
 * on an unmapped address or a page the host no longer owns). A test can
 * expect it; it never takes the test process down.
 */
/**
 * A memslot as KVM accepted it (a KVM_SET_USER_MEMORY_REGION(2) that
 * succeeded), kept by callers that must say which slot an address is in:
 * the kvm backend (host access through the slot's HVA) and kvm_util
 * (failure messages).
 */
export interface SlotRecord {
  readonly slot: number;
  readonly flags: number;
  readonly gpa: bigint;
  readonly size: bigint;
  readonly hva: bigint;
}

export class HostFault extends Error {
  constructor(
    readonly signal: HostSignal,
    readonly addr: bigint,
    /** siginfo si_code name, e.g. BUS_ADRERR, SEGV_MAPERR, SEGV_ACCERR. */
    readonly code: string,
    readonly detail = '',
  ) {
    super(`${signal} (${code}) at 0x${addr.toString(16)}${detail ? `: ${detail}` : ''}`);
    this.name = 'HostFault';
  }
}

/**
 * setGuestProgram()'s result. A backend that cannot run a program here
 * (its guest agent lacks an operation, the host's KVM livelocks on
 * hypercalls) answers -1/EOPNOTSUPP with `unsupported` naming what is
 * missing, which kvm_util reports as an unmet requirement (a skip).
 */
export interface GuestProgramResult extends SysResult {
  readonly unsupported?: string;
}

export interface Backend {
  /** 'model' or 'kvm'. */
  readonly name: string;
  /** A one-line description for logs, e.g. `model (kernel 6.18)`. */
  readonly description: string;
  /**
   * Model-only controls (platform registration, kernel profiles, internal
   * errors); absent on a real KVM, where a test needing them skips.
   */
  readonly model?: ModelControl;

  open(path: string, flags?: number): SysResult;
  close(fd: number): SysResult;
  dup(fd: number): SysResult;
  /** Every ioctl but KVM_RUN. */
  ioctl(fd: number, request: number, arg?: IoctlArg, opts?: IoctlOptions): SysResult;
  /**
   * KVM_RUN on a vCPU fd. Asynchronous so that several vCPUs (and the test's
   * main flow) interleave while a guest runs, as vCPU threads do in C.
   */
  kvmRun(vcpuFd: number): Promise<SysResult>;
  /**
   * Make KVM_RUN return -1/EINTR at its next opportunity, as setting
   * `immediate_exit` and signalling the vCPU thread does: a running KVM_RUN
   * returns at its next preemption point, otherwise the next KVM_RUN returns
   * at once (KVM checks immediate_exit on entry).
   */
  kick(vcpuFd: number): void;
  /** The vCPU's `struct kvm_run`, i.e. mmap(vcpu_fd, 0, KVM_RUN_SIZE), as live bytes. */
  kvmRunView(vcpuFd: number): Uint8Array;
  /**
   * Load guest code into a vCPU, as loading the test ELF and pointing RIP at
   * guest_code does in C: the next KVM_RUN starts at the program's first op.
   * -1/EBADF for a bad fd, -1/EINVAL for a fd that is not a vCPU.
   */
  setGuestProgram(vcpuFd: number, program: GuestProgram): GuestProgramResult;

  fstat(fd: number): StatResult;
  read(fd: number, buf: Uint8Array): SysResult;
  write(fd: number, buf: Uint8Array): SysResult;
  pread(fd: number, buf: Uint8Array, offset: bigint): SysResult;
  pwrite(fd: number, buf: Uint8Array, offset: bigint): SysResult;
  lseek(fd: number, offset: bigint, whence: number): SysResult;
  ftruncate(fd: number, length: bigint): SysResult;
  fallocate(fd: number, mode: number, offset: bigint, len: bigint): SysResult;
  /** memfd_create(2): a plain shmem file, used as a "not a guest_memfd" fd. */
  memfdCreate(name: string, flags?: number): SysResult;

  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): MmapResult;
  munmap(addr: bigint, length: bigint): SysResult;
  /** Read host memory at `hva`; throws HostFault where a real access would take a signal. */
  hostRead(hva: bigint, length: number): Uint8Array;
  /** Write host memory at `hva`; throws HostFault where a real access would take a signal. */
  hostWrite(hva: bigint, data: Uint8Array): void;
  /** Fill host memory with one byte value (memset). */
  hostFill(hva: bigint, length: number, value: number): void;
  /**
   * The offset of the first byte of [hva, hva+length) that is not `value`,
   * or -1: a host memcmp against a pattern without copying the range out
   * (expectHostSees over gigabytes). Throws HostFault as hostRead does,
   * at the first page that faults, after the bytes before it compared equal.
   */
  hostCompare(hva: bigint, length: number, value: number): number;
  /**
   * The CPUID leaf `fn` (subleaf `index`) of KVM_GET_SUPPORTED_CPUID, or
   * undefined when KVM does not report it: what kvm_cpu_property() reads in
   * the C selftests (the guest's address widths, the vendor).
   */
  supportedCpuid(fn: number, index?: number): CpuidRegs | undefined;
  /** madvise(2) on host memory; optional for backends that do not model it. */
  madvise?(addr: bigint, length: bigint, advice: number): SysResult;
  /**
   * What `hva` maps, as /proc/self/maps says: the file's inode and the byte
   * offset in it (page-aligned), and whether the mapping is MAP_SHARED;
   * `ino` 0 for anonymous memory; undefined where nothing is mapped.
   */
  mappingAt?(hva: bigint): HostMapping | undefined;
  /**
   * fork(2) as far as memory goes: a child process with a copy of this
   * address space, whose accesses fault as the child's would. Absent where
   * the backend cannot make one (a real process cannot fork the Node
   * runtime safely); a test needing it skips there.
   */
  forkHost?(): HostProcess;
  /** mbind(2); `nodemask` is the user's array of unsigned longs, null for NULL. */
  mbind?(addr: bigint, len: bigint, mode: number, nodemask: readonly bigint[] | null, maxnode: bigint, flags: number): SysResult;
  /**
   * get_mempolicy(2): `policy` is what *policy receives, `nodemask` the
   * first 64 nodes of *nmask (when `wantNodemask`, i.e. nmask != NULL).
   */
  getMempolicy?(maxnode: bigint, addr: bigint, flags: bigint, wantNodemask: boolean): SysResult & { readonly policy: number; readonly nodemask: bigint };
  /** move_pages(2) on the calling process with nodes == NULL: each page's node, or a negative errno. */
  movePagesStatus?(pages: readonly bigint[], flags: number): SysResult & { readonly status: readonly number[] };
  /** The highest NUMA node id of the host (the nodeN entries of /sys/devices/system/node). */
  numaMaxNode?(): number;
}

/** A forked child's view of memory (forkHost()). */
export interface HostProcess {
  /** Read the child's memory at `hva`; throws HostFault where its access would take a signal. */
  hostRead(hva: bigint, length: number): Uint8Array;
  /** Write the child's memory at `hva`; throws HostFault where its access would take a signal. */
  hostWrite(hva: bigint, data: Uint8Array): void;
  /** exit(): the child's address space goes away. */
  exit(): void;
}

/** One host address's mapping, as a line of /proc/self/maps describes it. */
export interface HostMapping {
  /** st_ino of the mapped file; 0 for anonymous memory. */
  readonly ino: bigint;
  /** Byte offset of the page holding `hva` in that file. */
  readonly offset: bigint;
  readonly shared: boolean;
}
