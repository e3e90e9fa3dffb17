/**
 * Runs a probe script on any Backend (the model, in practice) with the exact
 * argument handling of kvm_probe.c: u64 arguments, fds as C ints, structs
 * zero-filled except the fields the op sets. Every fd and mapping the script
 * left open is released at the end, newest fd first, as the probe does.
 */

import { HostFault, MAP_FAILED, type Backend } from '../../lib/kvm/backend.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_ENABLE_CAP, KVM_PRE_FAULT_MEMORY,
  KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2, MAP_ANONYMOUS, MAP_PRIVATE,
  PROT_READ, PROT_WRITE,
} from '../../lib/kvm/uapi.js';
import {
  decodePreFaultMemory, encodeCreateGuestMemfd, encodeEnableCap, encodeMemoryAttributes, encodePreFaultMemory,
  encodeUserspaceMemoryRegion, encodeUserspaceMemoryRegion2,
} from '../../lib/kvm/structs.js';
import type { ProbeResult } from './result.js';
import { argValue, FD_OPS, safetyRefusal, type ProbeCall } from './script.js';

const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
const MFD_CLOEXEC = 1;

/** (int)v in C. */
const int = (v: bigint): number => Number(BigInt.asIntN(32, v));

export class SafetyRefusal extends Error {
  override readonly name = 'SafetyRefusal';
}

/** Run `calls` on `b`; one result per call, in order. Throws SafetyRefusal where the probe exits 3. */
export function runOnBackend(b: Backend, calls: readonly ProbeCall[]): ProbeResult[] {
  const names = new Map<string, bigint>();
  const fds: number[] = [];
  const maps: { addr: bigint; len: bigint }[] = [];
  const out: ProbeResult[] = [];
  try {
    for (const c of calls) {
      const v = c.args.map((a) => argValue(a, names));
      const refusal = safetyRefusal(c.op, v, (fd) => b.fstat(fd).stat?.size);
      if (refusal) throw new SafetyRefusal(`line ${c.line}: ${refusal}`);
      const { result, value } = runOne(b, c, v, fds, maps);
      out.push({ line: c.line, op: c.op, ...result });
      if (c.target) names.set(c.target, value);
    }
  } finally {
    for (const m of maps) b.munmap(m.addr, m.len);
    for (let i = fds.length - 1; i >= 0; i--) b.close(fds[i]!);
  }
  return out;
}

type Fields = Omit<ProbeResult, 'line' | 'op'>;

function runOne(
  b: Backend, c: ProbeCall, v: readonly bigint[], fds: number[], maps: { addr: bigint; len: bigint }[],
): { result: Fields; value: bigint } {
  const simple = (r: { ret: number; errno: number }): { result: Fields; value: bigint } => {
    if (FD_OPS.has(c.op) && r.ret >= 0) fds.push(r.ret);
    return { result: { ret: r.ret, errno: r.ret < 0 ? r.errno : 0 }, value: BigInt.asUintN(64, BigInt(r.ret)) };
  };
  const a = (i: number): bigint => v[i]!;
  switch (c.op) {
    case 'open_kvm': return simple(b.open('/dev/kvm', O_RDWR | O_CLOEXEC));
    case 'check_ext': return simple(b.ioctl(int(a(0)), KVM_CHECK_EXTENSION, a(1)));
    case 'create_vm': return simple(b.ioctl(int(a(0)), KVM_CREATE_VM, a(1)));
    case 'create_vcpu': return simple(b.ioctl(int(a(0)), KVM_CREATE_VCPU, a(1)));
    case 'create_gmem':
      return simple(b.ioctl(int(a(0)), KVM_CREATE_GUEST_MEMFD, encodeCreateGuestMemfd({ size: a(1), flags: a(2), reserved: v.slice(3) })));
    case 'enable_cap':
      return simple(b.ioctl(int(a(0)), KVM_ENABLE_CAP, encodeEnableCap({ cap: a(1), flags: a(2), args: v.slice(3) })));
    case 'set_region':
      return simple(b.ioctl(int(a(0)), KVM_SET_USER_MEMORY_REGION, encodeUserspaceMemoryRegion({
        slot: a(1), flags: a(2), guestPhysAddr: a(3), memorySize: a(4), userspaceAddr: a(5),
      })));
    case 'set_region2':
      return simple(b.ioctl(int(a(0)), KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({
        slot: a(1), flags: a(2), guestPhysAddr: a(3), memorySize: a(4), userspaceAddr: a(5), guestMemfdOffset: a(6), guestMemfd: a(7),
      })));
    case 'set_attr':
      return simple(b.ioctl(int(a(0)), KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address: a(1), size: a(2), attributes: a(3), flags: a(4) })));
    case 'pre_fault': {
      const buf = encodePreFaultMemory({ gpa: a(1), size: a(2), flags: a(3) });
      const r = b.ioctl(int(a(0)), KVM_PRE_FAULT_MEMORY, buf);
      const d = decodePreFaultMemory(buf);
      return { result: { ret: r.ret, errno: r.ret < 0 ? r.errno : 0, gpa: d.gpa.toString(), size: d.size.toString() }, value: BigInt.asUintN(64, BigInt(r.ret)) };
    }
    case 'fstat': {
      const r = b.fstat(int(a(0)));
      const result: Fields = { ret: r.ret, errno: r.ret < 0 ? r.errno : 0 };
      if (r.ret === 0 && r.stat) Object.assign(result, { size: r.stat.size.toString(), blksize: r.stat.blksize, mode: r.stat.mode, ino: r.stat.ino.toString() });
      return { result, value: BigInt.asUintN(64, BigInt(r.ret)) };
    }
    case 'read': return simple(b.read(int(a(0)), new Uint8Array(Number(a(1))).fill(0xa5)));
    case 'write': return simple(b.write(int(a(0)), new Uint8Array(Number(a(1))).fill(0xa5)));
    case 'pread': return simple(b.pread(int(a(0)), new Uint8Array(Number(a(1))).fill(0xa5), BigInt.asIntN(64, a(2))));
    case 'pwrite': return simple(b.pwrite(int(a(0)), new Uint8Array(Number(a(1))).fill(0xa5), BigInt.asIntN(64, a(2))));
    case 'lseek': return simple(b.lseek(int(a(0)), BigInt.asIntN(64, a(1)), int(a(2))));
    case 'ftruncate': return simple(b.ftruncate(int(a(0)), BigInt.asIntN(64, a(1))));
    case 'fallocate': return simple(b.fallocate(int(a(0)), int(a(1)), BigInt.asIntN(64, a(2)), BigInt.asIntN(64, a(3))));
    case 'mmap':
    case 'mmap_anon': {
      const anon = c.op === 'mmap_anon';
      const len = anon ? a(0) : a(1);
      const r = anon
        ? b.mmap(0n, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n)
        : b.mmap(0n, len, int(a(3)), int(a(4)), int(a(0)), BigInt.asIntN(64, a(2)));
      if (r.addr === MAP_FAILED) return { result: { ret: -1, errno: r.errno }, value: MAP_FAILED };
      maps.push({ addr: r.addr, len });
      return { result: { ret: 0, errno: 0 }, value: r.addr };
    }
    case 'munmap': {
      const r = b.munmap(a(0), a(1));
      if (r.ret === 0) {
        const i = maps.findIndex((m) => m.addr === a(0));
        if (i >= 0) maps.splice(i, 1);
      }
      return simple(r);
    }
    case 'peek':
    case 'poke': {
      try {
        if (c.op === 'poke') {
          b.hostWrite(a(0), new Uint8Array([Number(a(1) & 0xffn)]));
          return { result: { ret: 0, errno: 0 }, value: 0n };
        }
        const value = b.hostRead(a(0), 1)[0]!;
        return { result: { ret: 0, errno: 0, value }, value: 0n };
      } catch (e) {
        if (!(e instanceof HostFault)) throw e;
        return { result: { ret: -1, errno: 0, signal: e.signal }, value: MAP_FAILED };
      }
    }
    case 'ioctl': return simple(b.ioctl(int(a(0)), Number(a(1)), a(2)));
    case 'memfd': return simple(b.memfdCreate('kvm_probe', MFD_CLOEXEC));
    case 'dup': return simple(b.dup(int(a(0))));
    case 'close': {
      const fd = int(a(0));
      const r = b.close(fd);
      if (r.ret === 0) {
        const i = fds.indexOf(fd);
        if (i >= 0) fds.splice(i, 1);
      }
      return simple(r);
    }
  }
}
