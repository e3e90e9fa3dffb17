/**
 * The model backend: a simulated /dev/kvm and the few process facilities a
 * KVM selftest touches (fds, mmap, memfd, host memory access). Every call
 * answers with the kernel's ret/errno; only hostRead/hostWrite/hostFill
 * throw, and only HostFault, where a real access would take a signal.
 */

import { patternBuffer } from '../pattern_bytes.js';
import { mapStack } from '../../source/source_map.js';
import {
  HostFault, MAP_FAILED, type Backend, type CpuidRegs, type HostMapping, type HostProcess, type GuestProgramResult, type IoctlArg, type MmapResult, type StatResult, type SysResult,
} from '../backend.js';
import type { ModelControl } from './control.js';
import { modelSupportedCpuid } from './cpuid.js';
import { EBADF, EFAULT, EINVAL, ENODEV, ENOENT, ENOTTY, ENXIO, ESPIPE, EINTR } from '../errno.js';
import type { GuestProgram } from '../guest_program.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_DEVICE_ATTR, KVM_GET_VCPU_MMAP_SIZE, KVM_HAS_DEVICE_ATTR, KVM_SET_MEMORY_ATTRIBUTES2,
  KVM_VCPU_MMAP_SIZE, MAP_ANONYMOUS, PAGE_SIZE, SIZEOF_KVM_DEVICE_ATTR,
} from '../uapi.js';
import { FdTable, type OpenFile } from './fd_table.js';
import { Gmem } from './gmem.js';
import { GUP_TEST_PATH, GupPins, GupTestFile } from './gup_test.js';
import { HostAddressSpace, type PageSource } from './host_as.js';
import { gmemSetAttributes } from './gmem_attributes.js';
import { MemFile } from './memfd.js';
import { MAX_NUMNODES, SharedPolicy } from './mempolicy.js';
import * as numa from './numa_syscalls.js';
import { initialPlatforms, type HostAccess, type ModelPlatform, type PlatformRegistry } from './platform.js';
import { KERNEL_NAMES, isKernelName, kernelProfile, type KernelName, type KernelProfile } from './profiles.js';
import { SparsePages } from './sparse_pages.js';
import { STDIO_INO_BASE, STDIO_MODE, StdioPipe } from './stdio.js';
import { Vcpu } from './vcpu.js';
import { Vm, capArg, capValue, err, intArg, ok, type VmHost } from './vm.js';

const PAGE = BigInt(PAGE_SIZE);
/** KVM_API_VERSION. */
const KVM_GET_API_VERSION = 0xae00;
const KVM_API_VERSION = 12;
const SEEK_MAX = 4;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;
/** memfd_create(2) flags (MFD_CLOEXEC|ALLOW_SEALING|HUGETLB|NOEXEC_SEAL|EXEC) and the hugetlb size bits. */
const MFD_ALL = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | (0x3f << 26);
const MFD_NAME_MAX = 249;

export interface ModelOptions {
  /** Kernel release profile; default env KSFT_KERNEL, else '6.18'. */
  kernel?: KernelName;
  /**
   * kvm.vm_memory_attributes (7.4): true keeps the per-VM
   * KVM_SET_MEMORY_ATTRIBUTES, false tracks PRIVATE per guest_memfd. Default
   * env KSFT_VM_MEMORY_ATTRIBUTES (Y/N), else the release's default.
   */
  vmMemoryAttributes?: boolean;
  /**
   * NUMA nodes of the simulated host (every CPU on node 0); default env
   * KSFT_NUMA_NODES, else 1, like a host without NUMA.
   */
  numaNodes?: number;
  /** Guest physical address width (kvm_mmu_max_gfn()); default 52. */
  maxPhysBits?: number;
  /** false simulates a host without /dev/kvm (open → ENOENT). */
  devKvm?: boolean;
}

/** /dev/kvm (kvm_chardev_ops): a character device. */
class KvmDevFile implements OpenFile {
  readonly kind = 'kvm' as const;
  release(): void {}
}

/** The single anon inode that VM and vCPU files share (fs/anon_inodes.c). */
const ANON_INODE_INO = 0x2n;
const KVM_DEV_INO = 0x1n;

export class ModelBackend implements Backend, VmHost, ModelControl {
  readonly name = 'model';
  readonly fds = new FdTable();
  readonly host = new HostAddressSpace();
  readonly profile: KernelProfile;
  readonly platforms: PlatformRegistry;
  readonly maxPhysBits: number;
  readonly numaNodes: number;
  private readonly devKvm: boolean;
  private readonly vms = new Set<Vm>();
  /** Exceptions the model caught inside itself (model bugs). Tests assert it stays empty. */
  readonly internalErrors: string[] = [];
  /** The long-term pins this process holds through /sys/kernel/debug/gup_test. */
  private readonly gupPins = new GupPins(this.host);

  constructor(opts: ModelOptions = {}) {
    const env = process.env.KSFT_KERNEL;
    const k = opts.kernel ?? (env && env.length > 0 ? env : '6.18');
    if (!isKernelName(k)) throw new Error(`KSFT_KERNEL: unknown kernel profile '${k}' (expected ${KERNEL_NAMES.join(', ')})`);
    this.profile = kernelProfile(k, opts.vmMemoryAttributes ?? parseVmMemoryAttributes(process.env.KSFT_VM_MEMORY_ATTRIBUTES));
    const bits = opts.maxPhysBits ?? 52;
    if (!Number.isInteger(bits) || bits < 32 || bits > 52) throw new Error(`maxPhysBits: ${bits} is not an integer in 32..52`);
    this.maxPhysBits = bits;
    const nodes = opts.numaNodes ?? parseNumaNodes(process.env.KSFT_NUMA_NODES);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NUMNODES) throw new Error(`numaNodes: ${nodes} is not an integer in 1..${MAX_NUMNODES}`);
    this.numaNodes = nodes;
    this.devKvm = opts.devKvm ?? true;
    // stdin, stdout, stderr: the fds a process starts with.
    for (const n of [0, 1, 2] as const) this.fds.install(new StdioPipe(n));
    this.platforms = initialPlatforms();
  }

  get description(): string {
    return `model (kernel ${this.profile.name})`;
  }

  /** The model is its own control object. */
  get model(): ModelControl {
    return this;
  }

  get backend(): Backend {
    return this;
  }

  /** A model of `kernel` with this one's platform registrations (built-ins, plugins, overrides). */
  withKernel(kernel: KernelName, vmMemoryAttributes?: boolean): ModelBackend {
    const b = new ModelBackend({
      kernel, maxPhysBits: this.maxPhysBits, devKvm: this.devKvm, numaNodes: this.numaNodes,
      ...(vmMemoryAttributes !== undefined ? { vmMemoryAttributes } : {}),
    });
    for (const t of this.platforms.types()) b.platforms.register(t, this.platforms.get(t)!);
    return b;
  }

  /** Register a platform for a VM type in this backend only. */
  registerPlatform(type: number, platform: ModelPlatform): void {
    this.platforms.register(type, platform);
  }

  createVcpu(vm: Vm, id: number): OpenFile {
    return new Vcpu(vm, id);
  }

  noteInternalError(what: string, e: unknown): void {
    this.internalErrors.push(`${what}: ${e instanceof Error ? (e.stack ? mapStack(e.stack) : e.message) : String(e)}`);
  }

  /** Run `fn`, turning an unexpected exception into -1/EINVAL and a recorded model error. */
  private guard<T>(what: string, fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof HostFault) throw e;
      this.noteInternalError(what, e);
      return fallback;
    }
  }

  open(path: string, _flags?: number): SysResult {
    return this.guard('open', () => {
      // The model host is built with CONFIG_GUP_TEST and has debugfs mounted.
      if (path === GUP_TEST_PATH) return ok(this.fds.install(new GupTestFile(this.gupPins)));
      if (path !== '/dev/kvm' || !this.devKvm) return err(ENOENT);
      return ok(this.fds.install(new KvmDevFile()));
    }, err(EINVAL));
  }

  close(fd: number): SysResult {
    return this.guard('close', () => (this.fds.close(fd) ? ok() : err(EBADF)), err(EINVAL));
  }

  dup(fd: number): SysResult {
    return this.guard('dup', () => {
      const n = this.fds.dup(fd);
      return n === undefined ? err(EBADF) : ok(n);
    }, err(EINVAL));
  }

  ioctl(fd: number, request: number, arg?: IoctlArg): SysResult {
    return this.guard('ioctl', () => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      const req = Number(BigInt.asUintN(32, BigInt(Number.isFinite(request) ? Math.trunc(request) : 0)));
      if (f instanceof KvmDevFile) return this.devIoctl(req, arg);
      if (f instanceof Vm) return f.ioctl(req, arg);
      if (f instanceof Vcpu) return f.vm.destroyed ? err(EINVAL) : f.ioctl(req, arg);
      if (f instanceof GupTestFile) return f.ioctl(req, arg);
      if (f instanceof Gmem) {
        // 7.4's kvm_gmem_ioctl(); before it guest_memfd had no unlocked_ioctl (ENOTTY from vfs_ioctl()).
        if (this.profile.perGmemAttributesSupported && req === KVM_SET_MEMORY_ATTRIBUTES2) return gmemSetAttributes(f, f.vm as Vm, arg);
        return err(ENOTTY);
      }
      return err(ENOTTY);
    }, err(EINVAL));
  }

  /** kvm_dev_ioctl() (virt/kvm/kvm_main.c); unknown requests fall to kvm_arch_dev_ioctl(): EINVAL. */
  private devIoctl(req: number, arg: IoctlArg | undefined): SysResult {
    switch (req) {
      case KVM_GET_API_VERSION:
        return intArg(arg) ? err(EINVAL) : ok(KVM_API_VERSION);
      case KVM_CHECK_EXTENSION:
        return ok(capValue(capArg(arg), this));
      case KVM_GET_VCPU_MMAP_SIZE:
        return intArg(arg) ? err(EINVAL) : ok(KVM_VCPU_MMAP_SIZE);
      case KVM_CREATE_VM: {
        // kvm_arch_init_vm(): the type must be supported (x86: < 32 and in supported_vm_types).
        const t = intArg(arg);
        const p = t <= 0xffffffffn ? this.platforms.get(Number(t)) : undefined;
        if (!p) return err(EINVAL);
        // An x86 type the release does not know (TDX before 6.16).
        if (t < 32n && (this.profile.absentVmTypes >>> Number(t)) & 1) return err(EINVAL);
        const vm = new Vm(this, Number(t), p);
        this.vms.add(vm);
        const put = vm.put.bind(vm);
        vm.put = () => { put(); if (vm.destroyed) this.vms.delete(vm); };
        return ok(this.fds.install(vm));
      }
      case KVM_HAS_DEVICE_ATTR:
      case KVM_GET_DEVICE_ATTR:
        return this.devAttr(req === KVM_GET_DEVICE_ATTR, arg);
      default:
        return err(EINVAL);
    }
  }

  /**
   * kvm_x86_dev_has_attr() / kvm_x86_dev_get_attr() (arch/x86/kvm/x86.c):
   * a non-zero group goes to the vendor module (SVM: sev_dev_get_attr()),
   * ENXIO for what nobody reports; GET stores the u64 at `addr` (put_user).
   * Group 0 (KVM_X86_XCOMP_GUEST_SUPP) is not modelled: ENXIO.
   */
  private devAttr(get: boolean, arg: IoctlArg | undefined): SysResult {
    if (!(arg instanceof Uint8Array) || arg.length < SIZEOF_KVM_DEVICE_ATTR) return err(EFAULT);
    const d = new DataView(arg.buffer, arg.byteOffset, SIZEOF_KVM_DEVICE_ATTR);
    const group = d.getUint32(4, true);
    const attr = d.getBigUint64(8, true);
    let val: bigint | undefined;
    if (group !== 0) {
      for (const p of this.platforms.all()) {
        const v = p.devAttr?.(group, attr);
        if (v !== undefined) val = (val ?? 0n) | v;
      }
    }
    if (val === undefined) return err(ENXIO);
    if (!get) return ok(0);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, val), true);
    const f = this.host.forEach(d.getBigUint64(16, true), 8, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(out.subarray(done, done + chunk), inPage));
    return f ? err(EFAULT) : ok(0);
  }

  async kvmRun(vcpuFd: number): Promise<SysResult> {
    try {
      const f = this.fds.get(vcpuFd);
      if (!f) return err(EBADF);
      if (f instanceof Vcpu) return await f.kvmRun();
      // KVM_RUN on /dev/kvm is kvm_arch_dev_ioctl()'s EINVAL; elsewhere ENOTTY.
      return err(f instanceof KvmDevFile ? EINVAL : ENOTTY);
    } catch (e) {
      this.noteInternalError('kvmRun', e);
      return err(EINTR);
    }
  }

  kick(vcpuFd: number): void {
    this.guard('kick', () => {
      const f = this.fds.get(vcpuFd);
      if (f instanceof Vcpu) f.kick();
    }, undefined);
  }

  kvmRunView(vcpuFd: number): Uint8Array {
    const f = this.fds.get(vcpuFd);
    return f instanceof Vcpu ? f.runBytes : new Uint8Array(0);
  }

  /** Attach `program` to a vCPU: the model interprets it instead of fetching code. */
  setGuestProgram(vcpuFd: number, program: GuestProgram): GuestProgramResult {
    const f = this.fds.get(vcpuFd);
    if (!f) return err(EBADF);
    if (!(f instanceof Vcpu)) return err(EINVAL);
    f.setProgram(program);
    return ok();
  }

  fstat(fd: number): StatResult {
    return this.guard('fstat', (): StatResult => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      const blksize = PAGE_SIZE;
      if (f instanceof Gmem) return { ...ok(), stat: { size: f.size, blksize, ino: f.ino, mode: S_IFREG | 0o600 } };
      if (f instanceof MemFile) return { ...ok(), stat: { size: f.size, blksize, ino: f.ino, mode: S_IFREG | 0o777 } };
      if (f instanceof KvmDevFile) return { ...ok(), stat: { size: 0n, blksize, ino: KVM_DEV_INO, mode: S_IFCHR | 0o666 } };
      if (f instanceof StdioPipe) return { ...ok(), stat: { size: 0n, blksize, ino: STDIO_INO_BASE + BigInt(f.fdNo), mode: STDIO_MODE } };
      return { ...ok(), stat: { size: 0n, blksize, ino: ANON_INODE_INO, mode: 0o600 } };
    }, err(EINVAL));
  }

  /**
   * read(2)/write(2): vfs_read()/vfs_write() give EINVAL when the file has no
   * read/write method (guest_memfd, /dev/kvm, VM and vCPU files).
   */
  read(fd: number, buf: Uint8Array): SysResult {
    return this.sequential(fd, buf, false);
  }

  write(fd: number, buf: Uint8Array): SysResult {
    return this.sequential(fd, buf, true);
  }

  private sequential(fd: number, buf: Uint8Array, write: boolean): SysResult {
    return this.guard(write ? 'write' : 'read', () => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      if (f instanceof MemFile) {
        const n = write ? f.writeAt(buf, f.pos) : f.readAt(buf, f.pos);
        if (n < 0) return err(-n);
        f.pos += BigInt(n);
        return ok(n);
      }
      // A standard fd is a pipe: reads see its writer gone (end of file),
      // writes are consumed by its reader.
      if (f instanceof StdioPipe) return ok(write ? buf.length : 0);
      return err(EINVAL);
    }, err(EINVAL));
  }

  /**
   * pread64/pwrite64: a negative offset is EINVAL; files made by
   * alloc_file_pseudo() (guest_memfd, VM, vCPU) lack FMODE_PREAD/PWRITE → ESPIPE;
   * /dev/kvm has them but no read/write method → EINVAL.
   */
  pread(fd: number, buf: Uint8Array, offset: bigint): SysResult {
    return this.positional(fd, buf, offset, false);
  }

  pwrite(fd: number, buf: Uint8Array, offset: bigint): SysResult {
    return this.positional(fd, buf, offset, true);
  }

  private positional(fd: number, buf: Uint8Array, offset: bigint, write: boolean): SysResult {
    return this.guard(write ? 'pwrite' : 'pread', () => {
      // ksys_pread64()/ksys_pwrite64() refuse a negative offset before looking up the fd.
      const off = BigInt.asIntN(64, BigInt(offset));
      if (off < 0n) return err(EINVAL);
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      if (f instanceof MemFile) {
        const n = write ? f.writeAt(buf, off) : f.readAt(buf, off);
        return n < 0 ? err(-n) : ok(n);
      }
      if (f instanceof KvmDevFile) return err(EINVAL);
      return err(ESPIPE);
    }, err(EINVAL));
  }

  /** lseek(2): whence > SEEK_MAX is EINVAL; guest_memfd has no llseek (ESPIPE); KVM files use noop_llseek. */
  lseek(fd: number, offset: bigint, whence: number): SysResult {
    return this.guard('lseek', () => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      if (!(whence >= 0 && whence <= SEEK_MAX) || !Number.isInteger(whence)) return err(EINVAL);
      // Neither guest_memfd nor a pipe has llseek (no FMODE_LSEEK).
      if (f instanceof Gmem || f instanceof StdioPipe) return err(ESPIPE);
      if (!(f instanceof MemFile)) return ok(0);
      const off = BigInt.asIntN(64, BigInt(offset));
      let pos: bigint;
      if (whence === 0) pos = off;
      else if (whence === 1) pos = f.pos + off;
      else if (whence === 2) pos = f.size + off;
      else {
        // shmem_file_llseek() → mapping_seek_hole_data(): data is the pages in
        // the page cache, a hole everything else; ENXIO at or past i_size.
        const r = f.seekHoleData(off, whence === 3);
        if (r === undefined) return err(ENXIO);
        pos = r;
      }
      if (pos < 0n) return err(EINVAL);
      f.pos = pos;
      return ok(Number(pos));
    }, err(EINVAL));
  }

  /**
   * ftruncate(2): do_ftruncate() needs a regular file opened for writing
   * (EINVAL otherwise); guest_memfd's kvm_gmem_setattr() refuses every size
   * change with EINVAL.
   */
  ftruncate(fd: number, length: bigint): SysResult {
    return this.guard('ftruncate', () => {
      // do_sys_ftruncate() refuses a negative length before looking up the fd.
      const len = BigInt.asIntN(64, BigInt(length));
      if (len < 0n) return err(EINVAL);
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      if (f instanceof MemFile) {
        f.truncate(len);
        return ok();
      }
      return err(EINVAL);
    }, err(EINVAL));
  }

  fallocate(fd: number, mode: number, offset: bigint, len: bigint): SysResult {
    return this.guard('fallocate', () => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      const m = Number.isFinite(mode) ? Math.trunc(mode) >>> 0 : 0xffffffff;
      if (f instanceof Gmem || f instanceof MemFile) {
        const e = f.fallocate(m, BigInt(offset), BigInt(len));
        return e ? err(e) : ok();
      }
      // vfs_fallocate(): the generic checks, then a FIFO is ESPIPE and
      // "not a regular file or block device" ENODEV.
      const off = BigInt.asIntN(64, BigInt(offset));
      const ln = BigInt.asIntN(64, BigInt(len));
      if (off < 0n || ln <= 0n) return err(EINVAL);
      return err(f instanceof StdioPipe ? ESPIPE : ENODEV);
    }, err(EINVAL));
  }

  memfdCreate(name: string, flags = 0): SysResult {
    return this.guard('memfd_create', () => {
      if ((flags >>> 0) & ~MFD_ALL) return err(EINVAL);
      if (new TextEncoder().encode(name).length > MFD_NAME_MAX) return err(EINVAL);
      return ok(this.fds.install(new MemFile(name)));
    }, err(EINVAL));
  }

  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): MmapResult {
    return this.guard('mmap', (): MmapResult => {
      const fail = (errno: number): MmapResult => ({ addr: MAP_FAILED, errno });
      // x86-64 sys_mmap() refuses an offset that is not page aligned before ksys_mmap_pgoff() looks up the fd.
      if (BigInt.asUintN(64, BigInt(offset)) % PAGE !== 0n) return fail(EINVAL);
      let source: PageSource | null = null;
      let validate: ((shared: boolean) => number) | undefined;
      if (!(flags & MAP_ANONYMOUS)) {
        const f = this.fds.get(fd);
        if (!f) return fail(EBADF);
        if (f instanceof Gmem) {
          validate = (shared) => f.mmapCheck(shared);
          // Before guest_memfd could be mapped (6.12) kvm_gmem_fops had no mmap method at all.
          source = {
            ino: f.ino, noThp: true, noexec: this.profile.pseudoFsNoexec, noMmap: !this.profile.hasGmemFlagsCap,
            resolve: (pgoff) => { const r = f.userFault(pgoff); return typeof r === 'number' ? { store: f.pages, index: r } : r; },
            ...(f.policy ? sharedPolicyOps(f.policy) : {}),
          };
        } else if (f instanceof MemFile) {
          source = {
            ino: f.ino, resolve: (pgoff) => { const r = f.userFault(pgoff); return typeof r === 'number' ? { store: f.pages, index: r } : r; },
            ...sharedPolicyOps(f.policy),
          };
        } else if (f instanceof Vcpu) {
          // kvm_vcpu_fault(): kvm_run, then the PIO page; beyond is SIGBUS.
          const store = new RunPages(f.runBytes);
          source = { noexec: this.profile.pseudoFsNoexec, resolve: (pgoff) => (pgoff < KVM_VCPU_MMAP_SIZE / PAGE_SIZE ? { store, index: pgoff } : { signal: 'SIGBUS', code: 'BUS_ADRERR' }) };
        } else {
          // /dev/kvm (kvm_chardev_ops) and VM files (kvm_vm_fops) have no mmap
          // method; a VM file is an anon inode, on a noexec filesystem since 6.14.
          source = { noMmap: true, noexec: f instanceof Vm && this.profile.pseudoFsNoexec, resolve: () => ({ signal: 'SIGBUS', code: 'BUS_ADRERR' }) };
        }
      }
      const r = this.host.mmap(BigInt(addr), BigInt(length), prot, flags, source, BigInt(offset), validate);
      return 'errno' in r ? fail(r.errno) : { addr: r.addr, errno: 0 };
    }, { addr: MAP_FAILED, errno: EINVAL });
  }

  mappingAt(hva: bigint): HostMapping | undefined {
    return this.host.mappingAt(BigInt(hva));
  }

  /**
   * Which memory KVM serves a guest access of `view` at `gpa` from: the
   * guest_memfd (inode and offset) or the slot's userspace_addr, followed to
   * whatever that HVA maps. For checks that a test's host view is the
   * guest's memory; undefined where no slot covers `gpa`.
   */
  guestBackingOf(vmFd: number, gpa: bigint, view: 'private' | 'shared'): HostMapping | undefined {
    const vm = this.fds.get(vmFd);
    if (!(vm instanceof Vm)) return undefined;
    const gfn = Number(BigInt(gpa) / PAGE);
    const s = vm.slots.find(0, gfn);
    if (!s) return undefined;
    if (view === 'private' || s.gmemOnly) {
      if (!s.gmem) return undefined;
      return { ino: s.gmem.ino, offset: BigInt(s.gmemPgoff + gfn - s.baseGfn) * PAGE, shared: true };
    }
    return this.host.mappingAt(s.userspaceAddr + BigInt(gfn - s.baseGfn) * PAGE);
  }

  madvise(addr: bigint, length: bigint, advice: number): SysResult {
    return this.guard('madvise', () => {
      const e = this.host.madvise(BigInt(addr), BigInt(length), advice);
      return e ? err(e) : ok();
    }, err(EINVAL));
  }

  munmap(addr: bigint, length: bigint): SysResult {
    return this.guard('munmap', () => {
      const e = this.host.munmap(BigInt(addr), BigInt(length));
      return e ? err(e) : ok();
    }, err(EINVAL));
  }

  /** Platform hooks on host accesses to a memslot's shared HVA (pKVM, SEV ...). */
  private platformHostAccess(hva: bigint, len: number, write: boolean, data?: Uint8Array): void {
    for (const vm of this.vms) {
      const pvm = vm.pvm;
      if (!pvm.hostAccess && !pvm.hostReadFilter) continue;
      for (const s of vm.slots.all()) {
        const size = BigInt(s.npages) * PAGE;
        if (hva + BigInt(len) <= s.userspaceAddr || hva >= s.userspaceAddr + size) continue;
        const start = hva > s.userspaceAddr ? hva : s.userspaceAddr;
        const a: HostAccess = { hva: start, len, write, slot: vm.slotInfo(s), gpa: BigInt(s.baseGfn) * PAGE + (start - s.userspaceAddr) };
        const f = pvm.hostAccess?.(a);
        if (f) throw new HostFault(f.signal, start, f.code, f.detail ?? '');
        if (data && !write && pvm.hostReadFilter) {
          const sub = data.subarray(Number(start - hva));
          pvm.hostReadFilter(a, sub);
        }
      }
    }
  }

  /**
   * fork(2) of the test process's memory. The child's accesses resolve
   * through its copy of the address space; memslots belong to the parent's
   * mm (kvm->mm), so the platforms' hooks on memslot HVAs do not apply to
   * the child, but a MAP_SHARED guest_memfd page is the file's in both
   * processes (SIGBUS once private, kvm_gmem_fault_user_mapping()).
   */
  forkHost(): HostProcess {
    let child: HostAddressSpace | null = this.host.fork();
    const as = (): HostAddressSpace => {
      if (!child) throw new Error('forkHost: the child has exited');
      return child;
    };
    return {
      hostRead: (hva, length) => {
        const out = new Uint8Array(Math.max(0, length | 0));
        const f = as().forEach(BigInt(hva), out.length, false, (st, idx, inPage, chunk, done) => out.set(st.peek(idx).subarray(inPage, inPage + chunk), done));
        if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
        return out;
      },
      hostWrite: (hva, data) => {
        const f = as().forEach(BigInt(hva), data.length, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(data.subarray(done, done + chunk), inPage));
        if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
      },
      exit: () => {
        child = null;
      },
    };
  }

  mbind(addr: bigint, len: bigint, mode: number, nodemask: readonly bigint[] | null, maxnode: bigint, flags: number): SysResult {
    return this.guard('mbind', () => {
      const e = numa.mbind(this.host, this.numaNodes, BigInt(addr), BigInt(len), mode, nodemask, BigInt(maxnode), flags);
      return e ? err(e) : ok();
    }, err(EINVAL));
  }

  getMempolicy(maxnode: bigint, addr: bigint, flags: bigint, wantNodemask: boolean): SysResult & { readonly policy: number; readonly nodemask: bigint } {
    return this.guard('getMempolicy', () => {
      const r = numa.getMempolicy(this.host, this.numaNodes, BigInt(maxnode), BigInt(addr), BigInt(flags), wantNodemask);
      return { ...(r.errno ? err(r.errno) : ok()), policy: r.policy, nodemask: r.nodemask };
    }, { ...err(EINVAL), policy: 0, nodemask: 0n });
  }

  movePagesStatus(pages: readonly bigint[], flags: number): SysResult & { readonly status: readonly number[] } {
    return this.guard('movePagesStatus', () => {
      const r = numa.movePagesStatus(this.host, pages, flags);
      return { ...(r.errno ? err(r.errno) : ok()), status: r.status };
    }, { ...err(EINVAL), status: [] });
  }

  numaMaxNode(): number {
    return this.numaNodes - 1;
  }

  hostRead(hva: bigint, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, length | 0));
    const f = this.host.forEach(BigInt(hva), out.length, false, (st, idx, inPage, chunk, done) => out.set(st.peek(idx).subarray(inPage, inPage + chunk), done));
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
    this.platformHostAccess(BigInt(hva), out.length, false, out);
    return out;
  }

  hostWrite(hva: bigint, data: Uint8Array): void {
    this.platformHostAccess(BigInt(hva), data.length, true);
    // Like memcpy into a real mapping: bytes before the faulting page stay written.
    const f = this.host.forEach(BigInt(hva), data.length, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(data.subarray(done, done + chunk), inPage));
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
  }

  hostFill(hva: bigint, length: number, value: number): void {
    const len = Math.max(0, length | 0);
    this.platformHostAccess(BigInt(hva), len, true);
    const f = this.host.forEach(BigInt(hva), len, true, (st, idx, inPage, chunk) => st.touch(idx).fill(value & 0xff, inPage, inPage + chunk));
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
  }

  hostCompare(hva: bigint, length: number, value: number): number {
    const len = Math.max(0, length | 0);
    const want = value & 0xff;
    // A platform that filters or faults host reads of a slot sees every byte
    // through hostRead(); otherwise pages are compared where they lie.
    if ([...this.vms].some((vm) => vm.pvm.hostAccess || vm.pvm.hostReadFilter)) {
      const data = this.hostRead(hva, len);
      const pattern = patternBuffer(want, len);
      if (pattern.compare(data, 0, len, 0, len) === 0) return -1;
      return data.findIndex((b) => b !== want);
    }
    const pattern = patternBuffer(want, PAGE_SIZE);
    let found = -1;
    const f = this.host.forEach(BigInt(hva), len, false, (st, idx, inPage, chunk, done) => {
      if (found >= 0) return;
      const page = st.peek(idx);
      if (pattern.compare(page, inPage, inPage + chunk, 0, chunk) === 0) return;
      for (let i = 0; i < chunk; i++) {
        if (page[inPage + i] !== want) {
          found = done + i;
          return;
        }
      }
    }, () => found >= 0);
    if (found >= 0) return found;
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
    return -1;
  }

  supportedCpuid(fn: number, index = 0): CpuidRegs | undefined {
    return modelSupportedCpuid(this.maxPhysBits, fn, index);
  }

  /** Resident pages across anonymous memory, guest_memfds and memfds (benches, tests). */
  residentPages(): number {
    let n = this.host.anonResidentPages;
    const seen = new Set<OpenFile>();
    for (let fd = 0; fd < 1 << 16; fd++) {
      const f = this.fds.get(fd);
      if (!f || seen.has(f)) continue;
      seen.add(f);
      if (f instanceof Gmem || f instanceof MemFile) n += f.pages.residentPages;
    }
    return n;
  }
}

/** KSFT_NUMA_NODES: the simulated host's NUMA node count, 1 when unset. */
export function parseNumaNodes(v: string | undefined): number {
  if (v === undefined || v === '') return 1;
  if (!/^[0-9]{1,2}$/.test(v)) throw new Error(`KSFT_NUMA_NODES: invalid value '${v}' (expected 1..${MAX_NUMNODES})`);
  return Number(v);
}

/** A file's vm_ops->set_policy/get_policy over its shared policy (mpol_set_shared_policy(), mpol_shared_policy_lookup()). */
function sharedPolicyOps(sp: SharedPolicy): Pick<PageSource, 'setPolicy' | 'getPolicy'> {
  return { setPolicy: (first, end, pol) => sp.set(first, end, pol), getPolicy: (pgoff) => sp.lookup(pgoff) };
}

/** KSFT_VM_MEMORY_ATTRIBUTES as the module parameter spells a bool (Y/N/1/0), undefined when unset. */
export function parseVmMemoryAttributes(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(y|Y|1)$/.test(v)) return true;
  if (/^(n|N|0)$/.test(v)) return false;
  throw new Error(`KSFT_VM_MEMORY_ATTRIBUTES: invalid value '${v}' (expected Y|N|1|0)`);
}

/** The vCPU mmap: kvm_run's pages as a page store (writes land in the live struct). */
class RunPages extends SparsePages {
  constructor(private readonly bytes: Uint8Array) {
    super();
  }
  override peek(index: number): Uint8Array {
    return this.bytes.subarray(index * PAGE_SIZE, (index + 1) * PAGE_SIZE);
  }
  override touch(index: number): Uint8Array {
    return this.peek(index);
  }
}
