/**
 * Thin typed handles over any Backend: a file descriptor plus the raw calls
 * that make sense on it. Every `__x` method returns the kernel's {ret, errno}
 * and never asserts; structs are encoded with structs.ts. Backend-neutral:
 * the same handles drive the model and the real /dev/kvm.
 */

import type { Backend, IoctlArg, MmapResult, StatResult, SysResult } from './backend.js';
import { KvmRun } from './kvm_run.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_ENABLE_CAP, KVM_GET_REGS,
  KVM_GET_VCPU_MMAP_SIZE, KVM_PRE_FAULT_MEMORY, KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_MEMORY_ATTRIBUTES2,
  KVM_SET_REGS, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2, MAP_SHARED, PROT_READ, PROT_WRITE,
  SIZEOF_KVM_REGS, KVM_REGS_OFFSET,
} from './uapi.js';
import {
  decodeCreateGuestMemfd, decodeMemoryAttributes2, decodePreFaultMemory, encodeCreateGuestMemfd, encodeEnableCap,
  encodeMemoryAttributes, encodeMemoryAttributes2, encodePreFaultMemory, encodeUserspaceMemoryRegion,
  encodeUserspaceMemoryRegion2, type KvmUserspaceMemoryRegion2,
  kvm_regs,
} from './structs.js';

type U64 = bigint | number;

/** Any open fd on a backend. */
export class FdHandle {
  constructor(readonly backend: Backend, readonly fd: number) {}

  __close(): SysResult {
    return this.backend.close(this.fd);
  }

  __ioctl(request: number, arg?: IoctlArg): SysResult {
    return this.backend.ioctl(this.fd, request, arg);
  }

  __fstat(): StatResult {
    return this.backend.fstat(this.fd);
  }
}

/** /dev/kvm. */
export class KvmSystem extends FdHandle {
  /** open("/dev/kvm"); undefined plus the result when it fails. */
  static __open(backend: Backend, path = '/dev/kvm'): { sys?: KvmSystem; res: SysResult } {
    const res = backend.open(path, 2);
    return res.ret >= 0 ? { sys: new KvmSystem(backend, res.ret), res } : { res };
  }

  __checkExtension(cap: number): SysResult {
    return this.__ioctl(KVM_CHECK_EXTENSION, cap);
  }

  __getVcpuMmapSize(): SysResult {
    return this.__ioctl(KVM_GET_VCPU_MMAP_SIZE, 0);
  }

  /** KVM_CREATE_VM(type): the VM handle on success. */
  __createVm(type: U64): { vm?: KvmVmFd; res: SysResult } {
    const res = this.__ioctl(KVM_CREATE_VM, BigInt.asUintN(64, BigInt(type)));
    return res.ret >= 0 ? { vm: new KvmVmFd(this.backend, res.ret), res } : { res };
  }
}

/** A VM fd. */
export class KvmVmFd extends FdHandle {
  __checkExtension(cap: number): SysResult {
    return this.__ioctl(KVM_CHECK_EXTENSION, cap);
  }

  __enableCap(cap: number, args: readonly U64[] = [], flags: U64 = 0): SysResult {
    return this.__ioctl(KVM_ENABLE_CAP, encodeEnableCap({ cap, flags, args }));
  }

  __createVcpu(id: U64): { vcpu?: KvmVcpuFd; res: SysResult } {
    const res = this.__ioctl(KVM_CREATE_VCPU, BigInt.asUintN(64, BigInt(id)));
    return res.ret >= 0 ? { vcpu: new KvmVcpuFd(this.backend, res.ret), res } : { res };
  }

  /** KVM_CREATE_GUEST_MEMFD{size, flags, reserved}. */
  __createGuestMemfd(size: U64, flags: U64 = 0, reserved?: readonly U64[]): { gmem?: GuestMemfd; res: SysResult } {
    const buf = encodeCreateGuestMemfd({ size, flags, reserved });
    const res = this.__ioctl(KVM_CREATE_GUEST_MEMFD, buf);
    const d = decodeCreateGuestMemfd(buf);
    return res.ret >= 0 ? { gmem: new GuestMemfd(this.backend, res.ret, d.size), res } : { res };
  }

  __setUserMemoryRegion(r: Omit<KvmUserspaceMemoryRegion2, 'guestMemfd' | 'guestMemfdOffset'>): SysResult {
    return this.__ioctl(KVM_SET_USER_MEMORY_REGION, encodeUserspaceMemoryRegion(r));
  }

  __setUserMemoryRegion2(r: KvmUserspaceMemoryRegion2): SysResult {
    return this.__ioctl(KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2(r));
  }

  __setMemoryAttributes(address: U64, size: U64, attributes: U64, flags: U64 = 0): SysResult {
    return this.__ioctl(KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address, size, attributes, flags }));
  }
}

/** A vCPU fd. */
export class KvmVcpuFd extends FdHandle {
  /** KVM_RUN. */
  __run(): Promise<SysResult> {
    return this.backend.kvmRun(this.fd);
  }

  kick(): void {
    this.backend.kick(this.fd);
  }

  /** The live struct kvm_run. */
  get run(): KvmRun {
    return new KvmRun(this.backend.kvmRunView(this.fd));
  }

  /** KVM_GET_REGS as a name → value record (rax ... rip, rflags). */
  __getRegs(): { regs?: Record<keyof typeof KVM_REGS_OFFSET, bigint>; res: SysResult } {
    const buf = new Uint8Array(SIZEOF_KVM_REGS);
    const res = this.__ioctl(KVM_GET_REGS, buf);
    if (res.ret < 0) return { res };
    const { rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, rip, rflags } = kvm_regs.decode(buf);
    return { regs: { rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, rip, rflags }, res };
  }

  __setRegs(regs: Partial<Record<keyof typeof KVM_REGS_OFFSET, bigint>>): SysResult {
    const buf = new Uint8Array(SIZEOF_KVM_REGS);
    const got = this.__ioctl(KVM_GET_REGS, buf);
    if (got.ret < 0) return got;
    kvm_regs.encodeInto(buf, 0, regs);
    return this.__ioctl(KVM_SET_REGS, buf);
  }

  /** KVM_PRE_FAULT_MEMORY; `range` is what the kernel wrote back (the part not done). */
  __preFaultMemory(gpa: U64, size: U64, flags: U64 = 0): { res: SysResult; range: { gpa: bigint; size: bigint } } {
    const buf = encodePreFaultMemory({ gpa, size, flags });
    const res = this.__ioctl(KVM_PRE_FAULT_MEMORY, buf);
    const d = decodePreFaultMemory(buf);
    return { res, range: { gpa: d.gpa, size: d.size } };
  }
}

/** A guest_memfd fd and the file calls the selftests make on it. */
export class GuestMemfd extends FdHandle {
  constructor(backend: Backend, fd: number, readonly size: bigint) {
    super(backend, fd);
  }

  __fallocate(mode: number, offset: U64, len: U64): SysResult {
    return this.backend.fallocate(this.fd, mode, BigInt(offset), BigInt(len));
  }

  __mmap(length: U64, offset: U64 = 0, prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED): MmapResult {
    return this.backend.mmap(0n, BigInt(length), prot, flags, this.fd, BigInt(offset));
  }

  __read(buf: Uint8Array): SysResult {
    return this.backend.read(this.fd, buf);
  }

  __write(buf: Uint8Array): SysResult {
    return this.backend.write(this.fd, buf);
  }

  __pread(buf: Uint8Array, offset: U64): SysResult {
    return this.backend.pread(this.fd, buf, BigInt(offset));
  }

  __pwrite(buf: Uint8Array, offset: U64): SysResult {
    return this.backend.pwrite(this.fd, buf, BigInt(offset));
  }

  /**
   * [7.4] KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd; `errorOffset` as the
   * kernel left it (written only on failure; `init.errorOffset` is what the
   * caller put there before the call).
   */
  __setMemoryAttributes2(offset: U64, size: U64, attributes: U64, init: { flags?: U64; errorOffset?: U64; reserved?: readonly U64[] } = {}): { res: SysResult; errorOffset: bigint } {
    const buf = encodeMemoryAttributes2({ offset, size, attributes, ...init });
    const res = this.__ioctl(KVM_SET_MEMORY_ATTRIBUTES2, buf);
    return { res, errorOffset: decodeMemoryAttributes2(buf).errorOffset };
  }
}
