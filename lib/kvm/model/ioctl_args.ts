/**
 * An ioctl's argument as a handler reads it: a struct the caller passed by
 * pointer (copy_from_user(): EFAULT when it is not there), or the unsigned
 * long of an _IO ioctl.
 */

import type { IoctlArg } from '../backend.js';

const U64 = (1n << 64n) - 1n;

/** An ioctl's struct argument, or undefined when the pointer is bad (EFAULT). */
export function structArg(arg: IoctlArg | undefined, size: number): Uint8Array | undefined {
  return arg instanceof Uint8Array && arg.byteLength >= size ? arg : undefined;
}

/**
 * KVM_CHECK_EXTENSION's argument: kvm_vm_ioctl_check_extension_generic() and
 * the arch hook take it as a `long` and switch on all 64 bits, so a value
 * with high bits set names no capability (-1 here, which answers 0).
 */
export function capArg(arg: IoctlArg | undefined): number {
  const c = BigInt.asIntN(64, intArg(arg));
  return c >= 0n && c <= 0x7fffffffn ? Number(c) : -1;
}

/** An _IO ioctl's integer argument as an unsigned long. */
export function intArg(arg: IoctlArg | undefined): bigint {
  if (arg === undefined) return 0n;
  if (arg instanceof Uint8Array) return 0x7f0000001000n; // a pointer value: never a valid small integer
  try {
    return BigInt.asUintN(64, BigInt(arg));
  } catch {
    return U64;
  }
}
