/**
 * The model backend: a simulated /dev/kvm and the few process facilities a
 * KVM selftest touches (fds, mmap, memfd, host memory access). Every call
 * answers with the kernel's ret/errno; only hostRead/hostWrite/hostFill
 * throw, and only HostFault, where a real access would take a signal.
 *
 * A file call looks the fd up (EBADF) and goes through the VFS layer
 * (vfs/), which calls the method of the file's operations table or gives
 * the VFS's answer for a missing one; the tables are kvm_dev.ts
 * (kvm_chardev_ops), vm/vm_fops.ts (kvm_vm_fops), vcpu/vcpu_fops.ts
 * (kvm_vcpu_fops), gmem_fops.ts (kvm_gmem_fops), memfd.ts
 * (shmem_file_operations), stdio.ts (pipefifo_fops) and gup_test.ts
 * (gup_test_fops).
 */

import { mapStack } from '../../source/source_map.js';
import { err, HostFault, MAP_FAILED, ok, type Backend, type CpuidRegs, type GuestProgramResult, type HostMapping, type HostProcess, type IoctlArg, type MmapResult, type StatResult, type SysResult } from '../backend.js';
import type { ModelControl } from './control.js';
import { modelSupportedCpuid } from './cpuid.js';
import { EBADF, EINVAL, ENOENT, EINTR } from '../errno.js';
import type { GuestProgram } from '../guest_program.js';
import { KVM_RUN, MAP_ANONYMOUS, PAGE_SIZE } from '../uapi.js';
import { FdTable, type OpenFile } from './fd_table.js';
import { GUP_TEST_PATH, GupPins, GupTestFile } from './gup_test.js';
import { HostAddressSpace } from './host_as.js';
import { HostMemory } from './host_memory.js';
import { KvmDevFile, type KvmDevHost } from './kvm_dev.js';
import { MemFile } from './memfd.js';
import * as numa from './numa_syscalls.js';
import { initialPlatforms, type ModelPlatform, type PlatformRegistry } from './platform.js';
import type { KernelName, KernelProfile } from './profiles.js';
import { resolveModelOptions, type ModelOptions } from './model_options.js';

export type { ModelOptions } from './model_options.js';
import { StdioPipe } from './stdio.js';
import { Vcpu } from './vcpu.js';
import { kvmVcpuRun } from './vcpu/run.js';
import { vfsIoctl } from './vfs/ioctl.js';
import { fileMapping, type FileMapping } from './vfs/mmap.js';
import { vfsFallocate, vfsTruncate } from './vfs/open.js';
import { vfsLlseek, vfsPositional, vfsReadWrite } from './vfs/read_write.js';
import { Vm } from './vm.js';

const PAGE = BigInt(PAGE_SIZE);
/** memfd_create(2) flags (MFD_CLOEXEC|ALLOW_SEALING|HUGETLB|NOEXEC_SEAL|EXEC) and the hugetlb size bits. */
const MFD_ALL = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | (0x3f << 26);
const MFD_NAME_MAX = 249;

export class ModelBackend implements Backend, KvmDevHost, ModelControl {
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
  private readonly hostMemory = new HostMemory(this.host, this.vms);

  constructor(opts: ModelOptions = {}) {
    const o = resolveModelOptions(opts);
    this.profile = o.profile;
    this.maxPhysBits = o.maxPhysBits;
    this.numaNodes = o.numaNodes;
    this.devKvm = o.devKvm;
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

  addVm(vm: Vm): void {
    this.vms.add(vm);
  }

  vmDestroyed(vm: Vm): void {
    this.vms.delete(vm);
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
      return ok(this.fds.install(new KvmDevFile(this)));
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

  /** ioctl(2): the file's unlocked_ioctl, ENOTTY without one (vfs_ioctl()). */
  ioctl(fd: number, request: number, arg?: IoctlArg): SysResult {
    return this.guard('ioctl', () => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      const req = Number(BigInt.asUintN(32, BigInt(Number.isFinite(request) ? Math.trunc(request) : 0)));
      return vfsIoctl(f, req, arg);
    }, err(EINVAL));
  }

  /** KVM_RUN, the one ioctl the model answers asynchronously; on any other file it is that file's ioctl. */
  async kvmRun(vcpuFd: number): Promise<SysResult> {
    try {
      const f = this.fds.get(vcpuFd);
      if (!f) return err(EBADF);
      if (f instanceof Vcpu) return await kvmVcpuRun(f);
      return this.ioctl(vcpuFd, KVM_RUN);
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
      const st = f.getattr();
      return { ...ok(), stat: { size: st.size, blksize: PAGE_SIZE, ino: st.ino, mode: st.mode } };
    }, err(EINVAL));
  }

  read(fd: number, buf: Uint8Array): SysResult {
    return this.guard('read', () => {
      const f = this.fds.get(fd);
      return f ? vfsReadWrite(f, buf, false) : err(EBADF);
    }, err(EINVAL));
  }

  write(fd: number, buf: Uint8Array): SysResult {
    return this.guard('write', () => {
      const f = this.fds.get(fd);
      return f ? vfsReadWrite(f, buf, true) : err(EBADF);
    }, err(EINVAL));
  }

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
      return f ? vfsPositional(f, buf, off, write) : err(EBADF);
    }, err(EINVAL));
  }

  lseek(fd: number, offset: bigint, whence: number): SysResult {
    return this.guard('lseek', () => {
      const f = this.fds.get(fd);
      return f ? vfsLlseek(f, BigInt(offset), whence) : err(EBADF);
    }, err(EINVAL));
  }

  ftruncate(fd: number, length: bigint): SysResult {
    return this.guard('ftruncate', () => {
      // do_sys_ftruncate() refuses a negative length before looking up the fd.
      const len = BigInt.asIntN(64, BigInt(length));
      if (len < 0n) return err(EINVAL);
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      const e = vfsTruncate(f, len);
      return e ? err(e) : ok();
    }, err(EINVAL));
  }

  fallocate(fd: number, mode: number, offset: bigint, len: bigint): SysResult {
    return this.guard('fallocate', () => {
      const f = this.fds.get(fd);
      if (!f) return err(EBADF);
      const m = Number.isFinite(mode) ? Math.trunc(mode) >>> 0 : 0xffffffff;
      const e = vfsFallocate(f, m, BigInt(offset), BigInt(len));
      return e ? err(e) : ok();
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
      let mapping: FileMapping | undefined;
      if (!(flags & MAP_ANONYMOUS)) {
        const f = this.fds.get(fd);
        if (!f) return fail(EBADF);
        mapping = fileMapping(f);
      }
      const r = this.host.mmap(BigInt(addr), BigInt(length), prot, flags, mapping?.source ?? null, BigInt(offset), mapping?.check);
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
    return vm instanceof Vm ? vm.guestBacking(Number(BigInt(gpa) / PAGE), view) : undefined;
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

  /**
   * fork(2) of the test process's memory. The child's accesses resolve
   * through its copy of the address space; memslots belong to the parent's
   * mm (kvm->mm), so the platforms' hooks on memslot HVAs do not apply to
   * the child, but a MAP_SHARED guest_memfd page is the file's in both
   * processes (SIGBUS once private, kvm_gmem_fault_user_mapping()).
   */
  forkHost(): HostProcess {
    return this.hostMemory.fork();
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
    return this.hostMemory.read(hva, length);
  }

  hostWrite(hva: bigint, data: Uint8Array): void {
    this.hostMemory.write(hva, data);
  }

  hostFill(hva: bigint, length: number, value: number): void {
    this.hostMemory.fill(hva, length, value);
  }

  hostCompare(hva: bigint, length: number, value: number): number {
    return this.hostMemory.compare(hva, length, value);
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
      if (f.pages) n += f.pages.residentPages;
    }
    return n;
  }
}
