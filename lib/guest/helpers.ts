/**
 * Guest-side helpers that mirror the C guest library
 * (tools/testing/selftests/kvm/include/x86/processor.h, ucall_common.h).
 */
import { KVM_HC_MAP_GPA_RANGE, PAGE_SHIFT } from '../kvm/uapi.js';
import type { GpaArg } from '../kvm/addr.js';
import type { GuestBuilder } from './builder.js';
import type { Num } from '../libc/int.js';

/** kvm_hypercall(nr, a0, a1, a2, a3): vmcall, RAX=nr, RBX=a0, RCX=a1, RDX=a2, RSI=a3. */
export function kvmHypercall(g: GuestBuilder, nr: Num, a0: Num, a1: Num, a2: Num, a3: Num, expect?: Num): void {
  g.hypercall(nr, [a0, a1, a2, a3], expect !== undefined ? { expect, expr: `ret == ${BigInt(expect)}` } : {});
}

/**
 * __kvm_hypercall_map_gpa_range(gpa, size, flags): KVM_HC_MAP_GPA_RANGE with
 * the size in 4 KiB pages; the return value is not checked.
 */
export function __kvmHypercallMapGpaRange(g: GuestBuilder, gpa: GpaArg, size: Num, flags: Num): void {
  g.hypercall(KVM_HC_MAP_GPA_RANGE, [gpa, BigInt(size) >> BigInt(PAGE_SHIFT), flags, 0n]);
}

/** kvm_hypercall_map_gpa_range(): the same, with GUEST_ASSERT(!ret). */
export function kvmHypercallMapGpaRange(g: GuestBuilder, gpa: GpaArg, size: Num, flags: Num): void {
  g.hypercall(KVM_HC_MAP_GPA_RANGE, [gpa, BigInt(size) >> BigInt(PAGE_SHIFT), flags, 0n], { expect: 0n, expr: '!ret' });
}

/** GUEST_SYNC(stage). */
export const GUEST_SYNC = (g: GuestBuilder, stage: Num): void => g.sync(stage);
/** GUEST_SYNC1..6: args[0..] as given. */
export const GUEST_SYNC_ARGS = (g: GuestBuilder, ...args: Num[]): void => g.syncN(...args);
/** GUEST_PRINTF(text). */
export const GUEST_PRINTF = (g: GuestBuilder, text: string): void => g.printf(text);
/** GUEST_DONE(). */
export const GUEST_DONE = (g: GuestBuilder): void => g.done();
/** GUEST_FAIL(fmt). */
export const GUEST_FAIL = (g: GuestBuilder, message: string): void => g.fail(message);
