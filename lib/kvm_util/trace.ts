/**
 * KSFT_TRACE=1: one line on stderr per event that changes what private
 * memory a guest sees, in the order they happen, on either backend: each
 * vCPU's exits (with the conversion a MAP_GPA_RANGE hypercall or a memory
 * fault asks for, and the ucall behind an IO exit), the VMM's attribute
 * changes (KVM_SET_MEMORY_ATTRIBUTES, the per-guest_memfd
 * KVM_SET_MEMORY_ATTRIBUTES2), fallocate() on a guest_memfd with the GPAs
 * it covers, and the memslots that give those GPAs their meaning:
 *
 *   trace: vm1: KVM_CREATE_VM type 1 (KVM_X86_SW_PROTECTED_VM)
 *   trace: vm1: slot 10 gpa [0x100000000, 0x100010000) guest_memfd offset 0x0
 *   trace: vm1/vcpu0: KVM_EXIT_HYPERCALL (3): KVM_HC_MAP_GPA_RANGE gpa 0x100000000 npages 1 attrs 0x10 (to private)
 *   trace: vm1: attributes [0x100000000, 0x100001000) private
 *   trace: vm1: fallocate PUNCH_HOLE guest_memfd [0x0, 0x1000) = gpa [0x100000000, 0x100001000) (slot 10)
 *   trace: vm1/vcpu0: KVM_EXIT_IO (2): ucall UCALL_DONE
 *
 * It wraps the Backend itself, the one interface both backends implement,
 * so every call is seen whether it came through kvm_util or straight from
 * a test, and the model and a real /dev/kvm trace alike. The wrapper only
 * reads: the one call it adds is KVM_GET_REGS after a ucall exit, to find
 * the struct ucall, which changes nothing in the vCPU.
 */
import type { Backend, IoctlArg, SysResult } from '../kvm/backend.js';
import { errnoName } from '../kvm/errno.js';
import { exitText } from '../kvm/exit_text.js';
import { KvmRun } from '../kvm/kvm_run.js';
import {
  decodeCreateGuestMemfd, decodeMemoryAttributes, decodeMemoryAttributes2, decodeUserspaceMemoryRegion2, kvm_regs,
} from '../kvm/structs.js';
import {
  FALLOC_FL_PUNCH_HOLE, KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_EXIT_IO, KVM_EXIT_IO_IN, KVM_GET_REGS,
  KVM_MEM_GUEST_MEMFD, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_MEMORY_ATTRIBUTES2,
  KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
  SIZEOF_KVM_REGS, UCALL_PIO_PORT,
} from '../kvm/uapi.js';
import { definitionForVmType, definitionManifest } from '../platform/loader.js';
import { hex } from './types.js';

/** A VM type's uAPI macro, from the registered platform that creates it (its manifest's vmTypeName). */
function vmTypeName(type: number): string | undefined {
  const d = definitionForVmType(type);
  return d && definitionManifest(d).vmTypeName;
}
const UCALL_NAMES: Readonly<Record<number, string>> = {
  0: 'UCALL_NONE', 1: 'UCALL_SYNC', 2: 'UCALL_ABORT', 3: 'UCALL_PRINTF', 4: 'UCALL_DONE', 5: 'UCALL_UNHANDLED',
};

interface Slot {
  readonly gpa: bigint;
  readonly size: bigint;
  readonly hva: bigint;
  /** The guest_memfd file bound to the slot, or undefined. */
  readonly gmem: number | undefined;
  readonly gmemOffset: bigint;
}

interface TracedVm {
  readonly name: string;
  readonly slots: Map<number, Slot>;
}

/** What the wrapper learns from the calls it sees: which fd is which VM, vCPU or guest_memfd. */
class Registry {
  private nextVm = 1;
  private nextFile = 1;
  readonly vms = new Map<number, TracedVm>();
  readonly vcpus = new Map<number, { readonly vm: TracedVm; readonly id: number }>();
  /** guest_memfd fds: the VM and a file identity shared by dups. */
  readonly gmems = new Map<number, { readonly vm: TracedVm; readonly file: number }>();

  addVm(fd: number): TracedVm {
    const vm: TracedVm = { name: `vm${this.nextVm++}`, slots: new Map() };
    this.vms.set(fd, vm);
    return vm;
  }

  addGmem(fd: number, vm: TracedVm): void {
    this.gmems.set(fd, { vm, file: this.nextFile++ });
  }

  forget(fd: number): void {
    this.vms.delete(fd);
    this.vcpus.delete(fd);
    this.gmems.delete(fd);
  }
}

/** `[start, end)` of a range. */
const range = (start: bigint, size: bigint): string => `[${hex(start)}, ${hex(start + size)})`;
const failed = (r: SysResult): string => (r.ret < 0 ? ` = -1 ${errnoName(r.errno)}` : '');

/**
 * A Backend that writes the trace lines of every private-memory event to
 * `out` and otherwise behaves exactly as `inner` (same results, same
 * errno, same exceptions).
 */
export function traceBackend(inner: Backend, out: (line: string) => void): Backend {
  const reg = new Registry();
  const emit = (who: string, text: string): void => out(`trace: ${who}: ${text}\n`);

  const traceIoctl = (fd: number, request: number, arg: IoctlArg | undefined, r: SysResult): void => {
    const req = request >>> 0;
    const bytes = arg instanceof Uint8Array ? arg : undefined;
    const vm = reg.vms.get(fd);
    if (req === KVM_CREATE_VM && r.ret >= 0) {
      const type = Number(arg ?? 0);
      const macro = vmTypeName(type);
      emit(reg.addVm(r.ret).name, `KVM_CREATE_VM type ${type}${macro ? ` (${macro})` : ''}`);
    } else if (vm && req === KVM_CREATE_VCPU && r.ret >= 0) {
      reg.vcpus.set(r.ret, { vm, id: Number(arg ?? 0) });
    } else if (vm && req === KVM_CREATE_GUEST_MEMFD && bytes && r.ret >= 0) {
      reg.addGmem(r.ret, vm);
      const c = decodeCreateGuestMemfd(bytes);
      emit(vm.name, `KVM_CREATE_GUEST_MEMFD size ${hex(c.size)} flags ${hex(c.flags)}`);
    } else if (vm && (req === KVM_SET_USER_MEMORY_REGION || req === KVM_SET_USER_MEMORY_REGION2) && bytes) {
      traceSlot(vm, req === KVM_SET_USER_MEMORY_REGION2, bytes, r);
    } else if (vm && req === KVM_SET_MEMORY_ATTRIBUTES && bytes) {
      const a = decodeMemoryAttributes(bytes);
      const what = a.attributes === 0n ? 'shared' : a.attributes === KVM_MEMORY_ATTRIBUTE_PRIVATE ? 'private' : `attributes ${hex(a.attributes)}`;
      emit(vm.name, `attributes ${range(a.address, a.size)} ${what}${failed(r)}`);
    } else if (req === KVM_SET_MEMORY_ATTRIBUTES2 && bytes && reg.gmems.has(fd)) {
      const g = reg.gmems.get(fd)!;
      const a = decodeMemoryAttributes2(bytes);
      // 7.4 has no content modes: any flag is refused (EINVAL), shown as given.
      const mode = a.flags ? ` flags ${hex(a.flags)}` : '';
      const what = a.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE ? 'private' : 'shared';
      emit(g.vm.name, `guest_memfd attributes ${range(a.offset, a.size)} ${what}${mode}${gpaOf(g.vm, g.file, a.offset, a.size)}${failed(r)}`);
    }
  };

  const traceSlot = (vm: TracedVm, v2: boolean, bytes: Uint8Array, r: SysResult): void => {
    const m = decodeUserspaceMemoryRegion2(bytes);
    if (m.memorySize === 0n) {
      if (r.ret === 0) vm.slots.delete(m.slot);
      emit(vm.name, `slot ${m.slot} deleted${failed(r)}`);
      return;
    }
    const gmem = v2 && m.flags & KVM_MEM_GUEST_MEMFD ? reg.gmems.get(m.guestMemfd) : undefined;
    if (r.ret === 0) {
      vm.slots.set(m.slot, { gpa: m.guestPhysAddr, size: m.memorySize, hva: m.userspaceAddr, gmem: gmem?.file, gmemOffset: m.guestMemfdOffset });
    }
    const bound = gmem ? ` guest_memfd offset ${hex(m.guestMemfdOffset)}` : '';
    emit(vm.name, `slot ${m.slot} gpa ${range(m.guestPhysAddr, m.memorySize)}${bound}${failed(r)}`);
  };

  /** ` = gpa [..) (slot N)` for a guest_memfd range bound to a memslot, pieces joined. */
  const gpaOf = (vm: TracedVm, file: number, offset: bigint, len: bigint): string => {
    const parts: string[] = [];
    for (const [n, s] of vm.slots) {
      if (s.gmem !== file) continue;
      const lo = offset > s.gmemOffset ? offset : s.gmemOffset;
      const hi = offset + len < s.gmemOffset + s.size ? offset + len : s.gmemOffset + s.size;
      if (lo < hi) parts.push(`gpa ${range(s.gpa + (lo - s.gmemOffset), hi - lo)} (slot ${n})`);
    }
    return parts.length ? ` = ${parts.join(', ')}` : ' (bound to no memslot)';
  };

  /** The struct ucall behind an IO exit on the ucall port: its command and first args. */
  const ucallOf = (vcpuFd: number, vm: TracedVm): string | undefined => {
    const regs = new Uint8Array(SIZEOF_KVM_REGS);
    if (inner.ioctl(vcpuFd, KVM_GET_REGS, regs).ret !== 0) return undefined;
    const gpa = kvm_regs.decode(regs).rdi;
    for (const s of vm.slots.values()) {
      if (gpa < s.gpa || gpa + 24n > s.gpa + s.size || !s.hva) continue;
      try {
        const b = inner.hostRead(s.hva + (gpa - s.gpa), 24);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const cmd = Number(dv.getBigUint64(0, true));
        return `ucall ${UCALL_NAMES[cmd] ?? cmd} args ${hex(dv.getBigUint64(8, true))} ${hex(dv.getBigUint64(16, true))}`;
      } catch {
        return undefined;
      }
    }
    return undefined;
  };

  const traced: Partial<Backend> = {
    ioctl(fd, request, arg, opts) {
      const r = inner.ioctl(fd, request, arg, opts);
      traceIoctl(fd, request, arg, r);
      return r;
    },
    async kvmRun(vcpuFd) {
      const r = await inner.kvmRun(vcpuFd);
      const v = reg.vcpus.get(vcpuFd);
      if (v) {
        const run = new KvmRun(inner.kvmRunView(vcpuFd));
        let text = exitText(run);
        if (r.ret === 0 && run.exitReason === KVM_EXIT_IO && run.ioPort === UCALL_PIO_PORT && run.ioDirection === KVM_EXIT_IO_IN) {
          const uc = ucallOf(vcpuFd, v.vm);
          if (uc) text = `${text.replace(/:.*$/, '')}: ${uc}`;
        }
        const ret = r.ret < 0 ? `KVM_RUN = -1 ${errnoName(r.errno)}, ` : '';
        emit(`${v.vm.name}/vcpu${v.id}`, `${ret}${text}`);
      }
      return r;
    },
    fallocate(fd, mode, offset, len) {
      const r = inner.fallocate(fd, mode, offset, len);
      const g = reg.gmems.get(fd);
      if (g) {
        const what = mode & FALLOC_FL_PUNCH_HOLE ? 'PUNCH_HOLE' : 'allocate';
        emit(g.vm.name, `fallocate ${what} guest_memfd ${range(offset, len)}${gpaOf(g.vm, g.file, offset, len)}${failed(r)}`);
      }
      return r;
    },
    dup(fd) {
      const r = inner.dup(fd);
      const g = reg.gmems.get(fd);
      if (g && r.ret >= 0) reg.gmems.set(r.ret, g);
      return r;
    },
    close(fd) {
      const r = inner.close(fd);
      if (r.ret === 0) reg.forget(fd);
      return r;
    },
  };

  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(traced, prop)) return traced[prop as keyof Backend];
      const v: unknown = Reflect.get(target, prop, receiver === undefined ? target : target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
