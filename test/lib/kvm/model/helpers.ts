/** Shared setup for the model tests: a backend, a VM of a type, guest ops with a source location. */

import { createModelBackend, type ModelBackend, type KernelName } from '../../../../lib/kvm/model/index.js';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { GuestMemfd, KvmSystem, KvmVcpuFd, KvmVmFd } from '../../../../lib/kvm/handles.js';
import type { GuestOp, GuestView } from '../../../../lib/kvm/guest_program.js';
import { HostFault } from '../../../../lib/kvm/backend.js';
import { KVM_X86_VM_TYPES, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../../lib/kvm/uapi.js';
import { builtinPlatforms } from '../../../../lib/platform/loader.js';

/**
 * KVM_CAP_VM_TYPES bits the model's backends offer beyond the uAPI's x86
 * types: those of a platform in platforms/index.ts that belongs to a series
 * or a vendor (0 for the upstream list). The model tests pin the kernel's
 * bits and let a platform added there bring its own.
 */
export const SERIES_VM_TYPES = builtinPlatforms()
  .filter((p) => p.vmType < 32 && !KVM_X86_VM_TYPES.includes(p.vmType))
  .reduce((m, p) => m | (1 << p.vmType), 0);

export const loc = { file: 'guest.ts', line: 42 };

export interface Env {
  b: ModelBackend;
  sys: KvmSystem;
  vm: KvmVmFd;
}

export function setup(type = 0, kernel: KernelName = '6.18', vmMemoryAttributes?: boolean): Env {
  const b = createModelBackend({ kernel, ...(vmMemoryAttributes !== undefined ? { vmMemoryAttributes } : {}) });
  const { sys } = KvmSystem.__open(b);
  if (!sys) throw new Error('cannot open /dev/kvm');
  const { vm, res } = sys.__createVm(type);
  if (!vm) throw new Error(`KVM_CREATE_VM(${type}) failed: ${res.errno}`);
  return { b, sys, vm };
}

export function gmem(e: Env, size: bigint | number, flags: bigint | number = 0): GuestMemfd {
  const { gmem: g, res } = e.vm.__createGuestMemfd(size, flags);
  if (!g) throw new Error(`KVM_CREATE_GUEST_MEMFD failed: ${res.errno}`);
  return g;
}

export function anon(e: Env, size: bigint | number): bigint {
  const r = e.b.mmap(0n, BigInt(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  if (r.errno) throw new Error(`mmap failed: ${r.errno}`);
  return r.addr;
}

export function vcpu(e: Env, ops: GuestOp[], id = 0, ucallGpa?: bigint): KvmVcpuFd {
  const { vcpu: v, res } = e.vm.__createVcpu(id);
  if (!v) throw new Error(`KVM_CREATE_VCPU failed: ${res.errno}`);
  const r = e.b.setGuestProgram(v.fd, ucallGpa === undefined ? { ops } : { ops, ucallGpa });
  if (r.ret) throw new Error('setGuestProgram failed');
  return v;
}

export const op = {
  write: (gpa: bigint, size: number, pattern: number, view: GuestView = 'auto'): GuestOp => ({ op: 'write', gpa, size, pattern, view, loc }),
  check: (gpa: bigint, size: number, pattern: number, view: GuestView = 'auto'): GuestOp => ({ op: 'check', gpa, size, pattern, view, expr: 'memcmp_g(gpa, pattern, size)', loc }),
  read: (gpa: bigint, size: number, view: GuestView = 'auto'): GuestOp => ({ op: 'read', gpa, size, view, loc }),
  hypercall: (nr: bigint, args: bigint[], expect?: bigint): GuestOp => ({ op: 'hypercall', nr, args, expect, expr: '!ret', loc }),
  sync: (...args: bigint[]): GuestOp => ({ op: 'ucall', cmd: 1, args, loc }),
  done: (): GuestOp => ({ op: 'ucall', cmd: 4, args: [], loc }),
  loop: (count: number | 'forever', body: GuestOp[]): GuestOp => ({ op: 'loop', count, body, loc }),
  platform: (call: string, args: Record<string, bigint | number | string | boolean> = {}, expect?: bigint): GuestOp => ({ op: 'platform', call, args, expect, expr: `${call}()`, loc }),
};

/** A slot at `gpa` of `size` backed by fresh anonymous memory (and a gmem if asked). Returns the HVA. */
export function addSlot(e: Env, slot: number, gpa: bigint, size: bigint, g?: GuestMemfd, gmemOffset = 0n): bigint {
  const hva = anon(e, size);
  const r = e.vm.__setUserMemoryRegion2({
    slot, flags: g ? 4 : 0, guestPhysAddr: gpa, memorySize: size, userspaceAddr: hva,
    guestMemfd: g?.fd ?? 0, guestMemfdOffset: gmemOffset,
  });
  if (r.ret) throw new Error(`KVM_SET_USER_MEMORY_REGION2 slot ${slot} failed: ${r.errno}`);
  return hva;
}

/** Read the struct ucall the model wrote at `gpa` through the slot-0 style HVA mapping. */
export function readUcall(e: Env, hvaOfGpa: (gpa: bigint) => bigint, gpa: bigint): { cmd: bigint; args: bigint[]; text: string } {
  const raw = e.b.hostRead(hvaOfGpa(gpa), 1096);
  const dv = new DataView(raw.buffer);
  const args = [0, 1, 2, 3, 4, 5, 6].map((i) => dv.getBigUint64(8 + 8 * i, true));
  const buf = raw.subarray(64, 64 + 1024);
  const end = buf.indexOf(0);
  return { cmd: dv.getBigUint64(0, true), args, text: new TextDecoder().decode(buf.subarray(0, end < 0 ? 1024 : end)) };
}

/** The bits of a tap Test that assertion helpers need. */
export interface Asserts {
  ok(cond: unknown, msg: string): boolean;
  fail(msg: string): boolean;
}

/** Expect `fn` to raise HostFault with `signal` (and `code` if given). */
export function expectFault(t: Asserts, fn: () => unknown, signal: string, msg: string, code?: string): void {
  try {
    fn();
    t.fail(`${msg}: no fault`);
  } catch (e) {
    t.ok(e instanceof HostFault && e.signal === signal && (code === undefined || e.code === code),
      `${msg}: ${e instanceof HostFault ? `${e.signal} ${e.code}` : String(e)}`);
  }
}
