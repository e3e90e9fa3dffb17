/**
 * The test process's own accesses to its memory (memcpy/memset/memcmp on a
 * pointer): each page resolves through the address space, so a touch of
 * an unmapped address or a SIGBUS-ing file page raises the signal a real
 * access takes (HostFault); the platforms see accesses to a memslot's
 * shared HVA (pKVM ownership, SEV ciphertext), as the hardware would
 * apply them to the host.
 */

import { HostFault, type HostProcess } from '../backend.js';
import { patternBuffer } from '../pattern_bytes.js';
import { PAGE_SIZE } from '../uapi.js';
import type { HostAddressSpace } from './host_as.js';
import type { HostAccess } from './platform.js';
import type { Vm } from './vm.js';

const PAGE = BigInt(PAGE_SIZE);

export class HostMemory {
  constructor(private readonly host: HostAddressSpace, private readonly vms: ReadonlySet<Vm>) {}

  /** Platform hooks on host accesses to a memslot's shared HVA (pKVM, SEV ...). */
  platformHostAccess(hva: bigint, len: number, write: boolean, data?: Uint8Array): void {
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

  read(hva: bigint, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, length | 0));
    const f = this.host.forEach(BigInt(hva), out.length, false, (st, idx, inPage, chunk, done) => out.set(st.peek(idx).subarray(inPage, inPage + chunk), done));
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
    this.platformHostAccess(BigInt(hva), out.length, false, out);
    return out;
  }

  write(hva: bigint, data: Uint8Array): void {
    this.platformHostAccess(BigInt(hva), data.length, true);
    // Like memcpy into a real mapping: bytes before the faulting page stay written.
    const f = this.host.forEach(BigInt(hva), data.length, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(data.subarray(done, done + chunk), inPage));
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
  }

  fill(hva: bigint, length: number, value: number): void {
    const len = Math.max(0, length | 0);
    this.platformHostAccess(BigInt(hva), len, true);
    const f = this.host.forEach(BigInt(hva), len, true, (st, idx, inPage, chunk) => st.touch(idx).fill(value & 0xff, inPage, inPage + chunk));
    if (f) throw new HostFault(f.signal, f.addr, f.code, f.detail ?? '');
  }

  compare(hva: bigint, length: number, value: number): number {
    const len = Math.max(0, length | 0);
    const want = value & 0xff;
    // A platform that filters or faults host reads of a slot sees every byte
    // through hostRead(); otherwise pages are compared where they lie.
    if ([...this.vms].some((vm) => vm.pvm.hostAccess || vm.pvm.hostReadFilter)) {
      const data = this.read(hva, len);
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

  /**
   * fork(2) of the test process's memory. The child's accesses resolve
   * through its copy of the address space; memslots belong to the parent's
   * mm (kvm->mm), so the platforms' hooks on memslot HVAs do not apply to
   * the child, but a MAP_SHARED guest_memfd page is the file's in both
   * processes (SIGBUS once private, kvm_gmem_fault_user_mapping()).
   */
  fork(): HostProcess {
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
}
