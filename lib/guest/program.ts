/**
 * Guest code as data. A guest program is a list of operations that a backend
 * executes as the vCPU: the model interprets it, a real-KVM backend runs it
 * with a small agent inside the guest. The format is plain data (numbers,
 * bigints, strings) so that it can be serialised for either.
 *
 * Semantics every backend honours:
 * - Memory operations act page by page in address order; a fault exits to the
 *   host (KVM_EXIT_MEMORY_FAULT, KVM_RUN = -1/EFAULT) and the next KVM_RUN
 *   retries the faulting page, as a re-executed instruction would.
 * - `view` says how the guest marks the access: `private`/`shared` set or
 *   clear the platform's marker (TDX shared bit, SEV C-bit, CCA top IPA bit);
 *   `auto` uses what the guest's own page tables say (the state its last
 *   conversion asked for). Platforms without a marker ignore it.
 * - `check` is GUEST_ASSERT over memory: on the first mismatching byte the
 *   guest sends UCALL_ABORT whose buffer reads `<file>:<line>: <expr>` plus
 *   the expected/actual detail, and stops.
 * - `hypercall` puts nr/args in RAX/RBX/RCX/RDX/RSI, executes vmcall, and, if
 *   `expect` is given, GUEST_ASSERTs that RAX equals it.
 * - `ucall` is the x86 PIO ucall: KVM_EXIT_IO (IN) on port 0x1000 with RDI
 *   holding the address of a `struct ucall` in shared guest memory.
 */

/** A place in the test's TypeScript source, captured when the op was recorded. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
}

export type GuestView = 'auto' | 'private' | 'shared';

export type GuestOp =
  | { readonly op: 'write'; readonly gpa: bigint; readonly size: number; readonly pattern: number; readonly view: GuestView; readonly loc: SourceLoc }
  | { readonly op: 'check'; readonly gpa: bigint; readonly size: number; readonly pattern: number; readonly view: GuestView; readonly expr: string; readonly loc: SourceLoc }
  | { readonly op: 'read'; readonly gpa: bigint; readonly size: number; readonly view: GuestView; readonly loc: SourceLoc }
  | { readonly op: 'hypercall'; readonly nr: bigint; readonly args: readonly bigint[]; readonly expect?: bigint; readonly expr: string; readonly loc: SourceLoc }
  | { readonly op: 'ucall'; readonly cmd: number; readonly args: readonly bigint[]; readonly text?: string; readonly loc: SourceLoc }
  | { readonly op: 'fail'; readonly expr: string; readonly message: string; readonly loc: SourceLoc }
  | { readonly op: 'loop'; readonly count: number | 'forever'; readonly body: readonly GuestOp[]; readonly loc: SourceLoc }
  /**
   * A platform's own guest operation (TDX accept, SNP PVALIDATE or PSC, pKVM
   * MEM_SHARE, CCA RSI_IPA_STATE_SET, a generic `convert`). The platform
   * plugin defines `call` and `args`; `expect` asserts its status result.
   */
  | { readonly op: 'platform'; readonly call: string; readonly args: Readonly<Record<string, bigint | number | string | boolean>>; readonly expect?: bigint; readonly expr: string; readonly loc: SourceLoc }
  | { readonly op: 'halt'; readonly loc: SourceLoc };

export interface GuestProgram {
  readonly ops: readonly GuestOp[];
  /**
   * GPA of the `struct ucall` kvm_util reserved for this vCPU in slot 0
   * (shared memory at GPA 0, present in every VM made by vmCreate()). A
   * backend writes each ucall there and passes it in RDI; when absent the
   * backend picks a place itself. The host reads the struct back through
   * RDI either way (get_ucall()), so the choice is the backend's.
   */
  readonly ucallGpa?: bigint;
}
