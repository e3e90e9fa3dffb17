/**
 * guest_memfd: creation (raw and asserted) and vm_guest_mem_fallocate(),
 * which walks the gmem-backed slots over a GPA range and turns each piece
 * into a fallocate() at that slot's guest_memfd offset.
 */
import type { SysResult } from '../kvm/backend.js';
import { encodeCreateGuestMemfd } from '../kvm/structs.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, KVM_CREATE_GUEST_MEMFD, KVM_MEM_GUEST_MEMFD } from '../kvm/uapi.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT } from './assert.js';
import { __vmIoctl } from './ioctl.js';
import { memRegionFind } from './memslots.js';
import { fallocate, fstat } from './syscalls.js';
import { hex, type GpaArg } from './types.js';
import type { KvmVm } from './vm.js';
import type { Num } from '../libc/int.js';

/** __vm_create_guest_memfd(): KVM_CREATE_GUEST_MEMFD, raw (ret is the fd, or -1). */
export function __vmCreateGuestMemfd(vm: KvmVm, size: Num, flags: Num): SysResult {
  return __vmIoctl(vm, KVM_CREATE_GUEST_MEMFD, encodeCreateGuestMemfd({ size, flags }));
}

/** vm_create_guest_memfd(): asserts an fd came back. */
export function vmCreateGuestMemfd(vm: KvmVm, size: Num, flags: Num): number {
  const fd = __vmCreateGuestMemfd(vm, size, flags).ret;
  TEST_ASSERT(fd >= 0, KVM_IOCTL_ERROR('KVM_CREATE_GUEST_MEMFD', fd));
  return fd;
}

/**
 * vm_guest_mem_fallocate(): for each gmem slot piece of [gpa, gpa+size),
 * fallocate(KEEP_SIZE [| PUNCH_HOLE]) at guest_memfd_offset + (gpa - slot gpa).
 */
export function vmGuestMemFallocate(vm: KvmVm, base: GpaArg, size: Num, punchHole: boolean): void {
  const mode = FALLOC_FL_KEEP_SIZE | (punchHole ? FALLOC_FL_PUNCH_HOLE : 0);
  const start = BigInt(base);
  const end = start + BigInt(size);
  let len = 0n;
  for (let gpa = start; gpa < end; gpa += len) {
    const region = memRegionFind(vm, gpa, gpa);
    TEST_ASSERT(region && region.flags & KVM_MEM_GUEST_MEMFD, `Private memory region not found for GPA ${hex(gpa)}`);
    const offset = gpa - region.gpa;
    const fdOffset = region.guestMemfdOffset + offset;
    len = end - gpa < region.size - offset ? end - gpa : region.size - offset;
    const r = fallocate(region.guestMemfd, mode, fdOffset, len);
    TEST_ASSERT(!r.ret, `fallocate() failed to ${punchHole ? 'punch hole' : 'allocate'} at ${gpa.toString(16)} (len = ${len}), fd = ${region.guestMemfd}, mode = ${mode.toString(16)}, offset = ${fdOffset.toString(16)}`);
    const ino = fstat(region.guestMemfd).stat?.ino ?? BigInt(region.guestMemfd);
    vm.memEvents.push({ kind: 'gmem', fd: region.guestMemfd, ino, offset: fdOffset, len, punch: punchHole });
  }
}

/**
 * vm_guest_mem_punch_hole(): free the guest_memfd pages behind [gpa,
 * gpa+size); a private page faulted in again afterwards reads zeros.
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * vmGuestMemPunchHole(vm, gpa, 4096);
 * TEST_ASSERT(pageState(vm, gpa) === 'shared/hole', pageStateMap(vm, gpa));
 * ```
 */
export function vmGuestMemPunchHole(vm: KvmVm, gpa: GpaArg, size: Num): void {
  vmGuestMemFallocate(vm, gpa, size, true);
}

/** vm_guest_mem_allocate(): allocate the guest_memfd pages behind [gpa, gpa+size). */
export function vmGuestMemAllocate(vm: KvmVm, gpa: GpaArg, size: Num): void {
  vmGuestMemFallocate(vm, gpa, size, false);
}
