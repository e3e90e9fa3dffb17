/**
 * The `kvm` backend: every call goes to the host kernel, and its answer
 * (ret, errno) comes back unchanged. What the backend keeps for itself is
 * only what it needs to run guest code: which fds are VMs and vCPUs (a VM's
 * type and memslots, to place the guest agent in slot 0; a vCPU's kvm_run
 * mapping and its KVM_RUN thread).
 *
 * Lifetimes follow the fds: the last close of a vCPU ends its thread and
 * replaces its kvm_run mapping with anonymous memory at the same address
 * (so a stale view reads zeros rather than faulting, and the mapping no
 * longer pins the vCPU file); the process's end releases the rest.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import {
  MAP_FAILED, type Backend, type CpuidRegs, type GuestProgramResult, type HostMapping, type IoctlArg, type IoctlOptions, type MmapResult, type SlotRecord,
  type StatResult, type SysResult,
} from '../backend.js';
import { EBADF, EINVAL } from '../errno.js';
import type { GuestProgram } from '../guest_program.js';
import { kvm_userspace_memory_region } from '../structs.js';
import {
  KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_GET_VCPU_MMAP_SIZE, KVM_RUN, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
} from '../uapi.js';
import { cpuidLeaf } from './cpuid.js';
import { loadGuestProgram, supportedCpuid } from './guest_setup.js';
import { HostMemory } from './host_memory.js';
import { IoctlWatchdog } from './ioctl_watchdog.js';
import type { Libc } from './libc.js';
import { VcpuThread } from './vcpu_thread.js';

const PROT_RW = 3;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;

export class VmFile {
  readonly kind = 'vm' as const;
  /** By slot id with the address space in bits 16..31, as the ioctl's `slot`. */
  readonly slots = new Map<number, SlotRecord>();
  /** Capabilities this backend enabled on the VM for the guest agent. */
  readonly agentCaps = new Set<number>();
  constructor(readonly fd: number, readonly type: number) {}

  /** The slot of address space 0 covering `gpa`. */
  slotAt(gpa: bigint): SlotRecord | undefined {
    for (const s of this.slots.values()) if (s.slot >>> 16 === 0 && gpa >= s.gpa && gpa < s.gpa + s.size) return s;
    return undefined;
  }
}

export class VcpuFile {
  readonly kind = 'vcpu' as const;
  thread: VcpuThread | undefined;
  /** A kick that set immediate_exit, to be cleared once KVM_RUN has returned for it. */
  kicked = false;
  cpuidSet = false;
  /** KVM_RUN calls are serialised per vCPU, as vcpu->mutex does. */
  queue: Promise<unknown> = Promise.resolve();
  constructor(
    readonly fd: number,
    readonly vm: VmFile,
    readonly id: number,
    readonly runAddr: bigint,
    readonly runSize: number,
    readonly run: Uint8Array,
  ) {}
}

type Tracked = VmFile | VcpuFile;

export class KvmBackend implements Backend {
  readonly name = 'kvm';
  readonly description = `kvm (/dev/kvm, Linux ${release()})`;
  /** fd → what it refers to; several fds (dup) may share one file. */
  private readonly files = new Map<number, Tracked>();
  private readonly memory: HostMemory;
  private sysFd = -1;
  private mmapSize = 0;
  private watchdog: IoctlWatchdog | undefined;

  constructor(readonly libc: Libc) {
    this.memory = new HostMemory(libc);
  }

  private res(ret: number): SysResult {
    return ret < 0 ? { ret: -1, errno: this.libc.errno() } : { ret, errno: 0 };
  }

  /** A /dev/kvm fd of the backend's own (KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID). */
  systemFd(): number {
    if (this.sysFd < 0) this.sysFd = this.libc.open('/dev/kvm', 2 | 0o2000000 /* O_RDWR | O_CLOEXEC */, 0);
    return this.sysFd;
  }

  vm(fd: number): VmFile | undefined {
    const f = this.files.get(fd);
    return f?.kind === 'vm' ? f : undefined;
  }

  vcpu(fd: number): VcpuFile | undefined {
    const f = this.files.get(fd);
    return f?.kind === 'vcpu' ? f : undefined;
  }

  open(path: string, flags = 2): SysResult {
    return this.res(this.libc.open(path, flags, 0));
  }

  close(fd: number): SysResult {
    const f = this.files.get(fd);
    if (f?.kind === 'vcpu' && this.refs(f) === 1) this.releaseVcpu(f);
    const r = this.res(this.libc.close(fd));
    if (r.ret === 0) this.files.delete(fd);
    return r;
  }

  private refs(f: Tracked): number {
    let n = 0;
    for (const g of this.files.values()) if (g === f) n++;
    return n;
  }

  private releaseVcpu(v: VcpuFile): void {
    v.thread?.end();
    v.thread = undefined;
    // Same address, anonymous zero pages: a KvmRun still held by the test reads zeros.
    this.libc.mmap(v.runAddr, BigInt(v.runSize), PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0n);
  }

  dup(fd: number): SysResult {
    const r = this.res(this.libc.dup(fd));
    const f = this.files.get(fd);
    if (r.ret >= 0 && f) this.files.set(r.ret, f);
    return r;
  }

  ioctl(fd: number, request: number, arg?: IoctlArg, opts: IoctlOptions = {}): SysResult {
    const req = request >>> 0;
    const call = (): SysResult => this.res(arg instanceof Uint8Array
      ? this.libc.ioctlPtr(fd, req, arg)
      : this.libc.ioctlInt(fd, req, BigInt(typeof arg === 'number' ? Math.trunc(arg) : arg ?? 0n)));
    let r: SysResult;
    if (opts.timeoutMs !== undefined) {
      this.watchdog ??= new IoctlWatchdog(this.libc, this.libc.pthreadSelf());
      const w = this.watchdog.run(opts.timeoutMs, call);
      r = w.fired && w.value.ret < 0 ? { ...w.value, timedOut: true } : w.value;
    } else {
      r = call();
    }
    if (r.ret >= 0) this.track(fd, req, arg, r.ret);
    return r;
  }

  /** Remember what a successful ioctl made: VMs, vCPUs, memslots. */
  private track(fd: number, req: number, arg: IoctlArg | undefined, ret: number): void {
    const intArg = typeof arg === 'bigint' ? arg : typeof arg === 'number' ? BigInt(Math.trunc(arg)) : 0n;
    if (req === KVM_CREATE_VM) {
      this.files.set(ret, new VmFile(ret, Number(BigInt.asUintN(32, intArg))));
      return;
    }
    const vm = this.vm(fd);
    if (!vm) return;
    if (req === KVM_CREATE_VCPU) {
      this.files.set(ret, this.newVcpu(ret, vm, Number(BigInt.asUintN(32, intArg))));
    } else if ((req === KVM_SET_USER_MEMORY_REGION || req === KVM_SET_USER_MEMORY_REGION2) && arg instanceof Uint8Array && arg.length >= kvm_userspace_memory_region.size) {
      // Both versions start with struct kvm_userspace_memory_region.
      const r = kvm_userspace_memory_region.decode(arg);
      if (r.memorySize === 0n) vm.slots.delete(r.slot);
      else vm.slots.set(r.slot, { slot: r.slot, flags: r.flags, gpa: r.guestPhysAddr, size: r.memorySize, hva: r.userspaceAddr });
    }
  }

  private newVcpu(fd: number, vm: VmFile, id: number): VcpuFile {
    if (!this.mmapSize) this.mmapSize = this.libc.ioctlInt(this.systemFd(), KVM_GET_VCPU_MMAP_SIZE, 0n);
    const addr = this.libc.mmap(0n, BigInt(this.mmapSize), PROT_RW, MAP_SHARED, fd, 0n);
    // A vCPU whose kvm_run cannot be mapped cannot run; its view stays empty (KVM_RUN then fails in the kernel's own way).
    const ok = addr !== MAP_FAILED;
    return new VcpuFile(fd, vm, id, ok ? addr : 0n, ok ? this.mmapSize : 0, ok ? this.libc.view(addr, this.mmapSize) : new Uint8Array(0));
  }

  kvmRun(vcpuFd: number): Promise<SysResult> {
    const v = this.vcpu(vcpuFd);
    // Not a vCPU of ours: the kernel answers (EBADF, ENOTTY, EINVAL on /dev/kvm).
    if (!v) return Promise.resolve(this.res(this.libc.ioctlInt(vcpuFd, KVM_RUN, 0n)));
    const p = v.queue.then(() => this.runOnce(v));
    v.queue = p.catch(() => undefined);
    return p;
  }

  private async runOnce(v: VcpuFile): Promise<SysResult> {
    if (!v.thread) {
      const d = this.libc.dup(v.fd);
      if (d < 0) return this.res(d);
      v.thread = new VcpuThread(this.libc, d, (x) => { if (v.run.length) v.run[1] = x; });
    }
    const r = await v.thread.run();
    if (v.kicked) {
      v.kicked = false;
      if (v.run.length) v.run[1] = 0;
    }
    return r;
  }

  kick(vcpuFd: number): void {
    const v = this.vcpu(vcpuFd);
    if (!v || !v.run.length) return;
    // immediate_exit first: a thread about to enter KVM_RUN returns at once, one inside gets the signal.
    v.run[1] = 1;
    v.kicked = true;
    v.thread?.signal();
  }

  kvmRunView(vcpuFd: number): Uint8Array {
    return this.vcpu(vcpuFd)?.run ?? new Uint8Array(0);
  }

  supportedCpuid(fn: number, index = 0): CpuidRegs | undefined {
    const c = supportedCpuid(this);
    return typeof c === 'number' ? undefined : cpuidLeaf(c.cpuid2, fn, index);
  }

  setGuestProgram(vcpuFd: number, program: GuestProgram): GuestProgramResult {
    if (!this.files.has(vcpuFd)) {
      // Not ours: EBADF if the kernel agrees it is not open, else it is not a vCPU.
      return { ret: -1, errno: this.libc.dup(vcpuFd) < 0 ? EBADF : EINVAL };
    }
    const v = this.vcpu(vcpuFd);
    if (!v) return { ret: -1, errno: EINVAL };
    return loadGuestProgram(this, v, program);
  }

  fstat(fd: number): StatResult {
    const buf = new Uint8Array(144);
    const r = this.res(this.libc.fstat(fd, buf));
    if (r.ret < 0) return r;
    // struct stat (x86-64): st_ino @8, st_mode @24, st_size @48, st_blksize @56.
    const dv = new DataView(buf.buffer);
    return { ...r, stat: { ino: dv.getBigUint64(8, true), mode: dv.getUint32(24, true), size: dv.getBigInt64(48, true), blksize: Number(dv.getBigInt64(56, true)) } };
  }

  read(fd: number, buf: Uint8Array): SysResult {
    return this.res(this.libc.read(fd, buf, buf.length));
  }

  write(fd: number, buf: Uint8Array): SysResult {
    return this.res(this.libc.write(fd, buf, buf.length));
  }

  pread(fd: number, buf: Uint8Array, offset: bigint): SysResult {
    return this.res(this.libc.pread(fd, buf, buf.length, offset));
  }

  pwrite(fd: number, buf: Uint8Array, offset: bigint): SysResult {
    return this.res(this.libc.pwrite(fd, buf, buf.length, offset));
  }

  lseek(fd: number, offset: bigint, whence: number): SysResult {
    const r = this.libc.lseek(fd, offset, whence);
    return r < 0n ? { ret: -1, errno: this.libc.errno() } : { ret: Number(r), errno: 0 };
  }

  ftruncate(fd: number, length: bigint): SysResult {
    return this.res(this.libc.ftruncate(fd, length));
  }

  fallocate(fd: number, mode: number, offset: bigint, len: bigint): SysResult {
    return this.res(this.libc.fallocate(fd, mode, offset, len));
  }

  memfdCreate(name: string, flags = 0): SysResult {
    return this.res(this.libc.memfdCreate(name, flags));
  }

  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): MmapResult {
    const a = this.libc.mmap(addr, length, prot, flags, fd, offset);
    return a === MAP_FAILED ? { addr: MAP_FAILED, errno: this.libc.errno() } : { addr: a, errno: 0 };
  }

  munmap(addr: bigint, length: bigint): SysResult {
    return this.res(this.libc.munmap(addr, length));
  }

  /** /proc/self/maps: `start-end perms offset dev inode path`, one mapping a line. */
  mappingAt(hva: bigint): HostMapping | undefined {
    const a = BigInt(hva);
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S{3}(\S) ([0-9a-f]+) \S+ (\d+)/.exec(line);
      if (!m) continue;
      const start = BigInt(`0x${m[1]}`);
      const end = BigInt(`0x${m[2]}`);
      if (a < start || a >= end) continue;
      const page = (a - start) & ~0xfffn;
      return { ino: BigInt(m[5]!), offset: BigInt(`0x${m[4]}`) + page, shared: m[3] === 's' };
    }
    return undefined;
  }

  madvise(addr: bigint, length: bigint, advice: number): SysResult {
    return this.res(this.libc.madvise(addr, length, advice));
  }

  mbind(addr: bigint, len: bigint, mode: number, nodemask: readonly bigint[] | null, maxnode: bigint, flags: number): SysResult {
    let buf: Uint8Array | null = null;
    if (nodemask) {
      buf = new Uint8Array(Math.max(1, nodemask.length) * 8);
      const dv = new DataView(buf.buffer);
      nodemask.forEach((w, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
    }
    return this.res(this.libc.mbind(addr, len, mode, buf, maxnode, flags));
  }

  getMempolicy(maxnode: bigint, addr: bigint, flags: bigint, wantNodemask: boolean): SysResult & { readonly policy: number; readonly nodemask: bigint } {
    const pol = new Uint8Array(4);
    // copy_nodes_to_user() writes ALIGN(maxnode - 1, 64) / 8 bytes (at most a page, else EINVAL).
    const bytes = Number(((BigInt.asUintN(64, maxnode) - 1n + 63n) / 64n) * 8n);
    const mask = wantNodemask ? new Uint8Array(Math.min(Math.max(8, bytes), 4096 + 8)) : null;
    const r = this.res(this.libc.getMempolicy(pol, mask, maxnode, addr, flags));
    return {
      ...r,
      policy: new DataView(pol.buffer).getInt32(0, true),
      nodemask: mask ? new DataView(mask.buffer).getBigUint64(0, true) : 0n,
    };
  }

  movePagesStatus(pages: readonly bigint[], flags: number): SysResult & { readonly status: readonly number[] } {
    const p = new Uint8Array(Math.max(1, pages.length) * 8);
    const pv = new DataView(p.buffer);
    pages.forEach((a, i) => pv.setBigUint64(i * 8, BigInt.asUintN(64, a), true));
    const st = new Uint8Array(Math.max(1, pages.length) * 4);
    const r = this.res(this.libc.movePagesStatus(0, pages.length, p, st, flags));
    const sv = new DataView(st.buffer);
    return { ...r, status: pages.map((_, i) => sv.getInt32(i * 4, true)) };
  }

  numaMaxNode(): number {
    // get_max_numa_node() of the selftests' numaif.h: the highest nodeN under /sys/devices/system/node.
    let max = 0;
    try {
      for (const e of readdirSync('/sys/devices/system/node')) {
        const m = /^node([0-9]+)$/.exec(e);
        if (m) max = Math.max(max, Number(m[1]));
      }
    } catch {
      // No such directory: a kernel without NUMA, node 0 only.
    }
    return max;
  }

  hostRead(hva: bigint, length: number): Uint8Array {
    return this.memory.read(hva, length);
  }

  hostWrite(hva: bigint, data: Uint8Array): void {
    this.memory.write(hva, data);
  }

  hostFill(hva: bigint, length: number, value: number): void {
    this.memory.fill(hva, length, value);
  }

  hostCompare(hva: bigint, length: number, value: number): number {
    return this.memory.compare(hva, length, value & 0xff);
  }
}
