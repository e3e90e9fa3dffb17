/**
 * Typed access to `struct kvm_run` (2352 B, mmap'ed from the vCPU fd) at the
 * x86-64 offsets: exit_reason @8, the exit union @32 (io, hypercall,
 * memory_fault, mmio, system_event), the PIO data page at data_offset (4096).
 * Both sides use it: a backend fills an exit, kvm_util reads it and writes
 * `hypercall.ret` back.
 */

export class KvmRun {
  readonly dv: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get immediateExit(): number { return this.dv.getUint8(1); }
  set immediateExit(v: number) { this.dv.setUint8(1, v); }
  get exitReason(): number { return this.dv.getUint32(8, true); }
  set exitReason(v: number) { this.dv.setUint32(8, v, true); }
  get flags(): number { return this.dv.getUint16(14, true); }

  /** Zero the exit union, as KVM leaves no stale payload behind a new exit. */
  clearExit(): void { this.bytes.fill(0, 32, 32 + 256); }

  // io
  get ioDirection(): number { return this.dv.getUint8(32); }
  get ioSize(): number { return this.dv.getUint8(33); }
  get ioPort(): number { return this.dv.getUint16(34, true); }
  get ioCount(): number { return this.dv.getUint32(36, true); }
  get ioDataOffset(): bigint { return this.dv.getBigUint64(40, true); }
  setIo(direction: number, size: number, port: number, count: number, dataOffset: bigint): void {
    this.dv.setUint8(32, direction);
    this.dv.setUint8(33, size);
    this.dv.setUint16(34, port, true);
    this.dv.setUint32(36, count, true);
    this.dv.setBigUint64(40, dataOffset, true);
  }

  // hypercall
  get hypercallNr(): bigint { return this.dv.getBigUint64(32, true); }
  hypercallArg(i: number): bigint { return this.dv.getBigUint64(40 + 8 * i, true); }
  get hypercallRet(): bigint { return this.dv.getBigUint64(88, true); }
  set hypercallRet(v: bigint) { this.dv.setBigUint64(88, BigInt.asUintN(64, v), true); }
  get hypercallFlags(): bigint { return this.dv.getBigUint64(96, true); }
  setHypercall(nr: bigint, args: readonly bigint[], flags: bigint): void {
    this.dv.setBigUint64(32, nr, true);
    for (let i = 0; i < 6; i++) this.dv.setBigUint64(40 + 8 * i, BigInt.asUintN(64, args[i] ?? 0n), true);
    this.dv.setBigUint64(88, 0n, true);
    this.dv.setBigUint64(96, flags, true);
  }

  // memory_fault
  get memoryFaultFlags(): bigint { return this.dv.getBigUint64(32, true); }
  get memoryFaultGpa(): bigint { return this.dv.getBigUint64(40, true); }
  get memoryFaultSize(): bigint { return this.dv.getBigUint64(48, true); }
  setMemoryFault(flags: bigint, gpa: bigint, size: bigint): void {
    this.dv.setBigUint64(32, flags, true);
    this.dv.setBigUint64(40, gpa, true);
    this.dv.setBigUint64(48, size, true);
  }

  // mmio
  get mmioPhysAddr(): bigint { return this.dv.getBigUint64(32, true); }
  get mmioLen(): number { return this.dv.getUint32(48, true); }
  get mmioIsWrite(): number { return this.dv.getUint8(52); }
  /** mmio.data[8]: a write's bytes; for a read, what the host answers (little-endian u64 here). */
  get mmioData(): bigint { return this.dv.getBigUint64(40, true); }
  set mmioData(v: bigint) { this.dv.setBigUint64(40, BigInt.asUintN(64, v), true); }

  // system_event
  get systemEventType(): number { return this.dv.getUint32(32, true); }
  get systemEventNdata(): number { return this.dv.getUint32(36, true); }
  systemEventData(i: number): bigint { return this.dv.getBigUint64(40 + 8 * i, true); }
  setSystemEvent(type: number, data: readonly bigint[]): void {
    this.dv.setUint32(32, type, true);
    this.dv.setUint32(36, data.length, true);
    data.slice(0, 16).forEach((d, i) => this.dv.setBigUint64(40 + 8 * i, d, true));
  }

  // internal error: suberror u32 @32, ndata u32 @36, data[16] @40
  get internalSuberror(): number { return this.dv.getUint32(32, true); }
}
