/**
 * ioctl request numbers as include/uapi/asm-generic/ioctl.h builds them
 * (x86-64 and arm64 use the generic encoding): bits 7:0 the number, 15:8
 * the type (KVMIO), 29:16 the argument's size, 31:30 the direction as seen
 * from userspace. The size comes from the argument's layout (layout.ts), so
 * a request number is never written out by hand, and a wrong struct shows
 * up as a wrong number.
 */
import type { CType } from './layout.js';

const NRBITS = 8;
const TYPEBITS = 8;
const SIZEBITS = 14;
const TYPESHIFT = NRBITS;
const SIZESHIFT = TYPESHIFT + TYPEBITS;
const DIRSHIFT = SIZESHIFT + SIZEBITS;

export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

/**
 * _IOC(dir, type, nr, size). Built with multiplication, not `<<`, because
 * a READ direction sets bit 31 and JavaScript's shifts are signed 32-bit:
 * the request is the unsigned int the kernel's switch compares.
 */
export function _IOC(dir: number, type: number, nr: number, size: number): number {
  // _IOC_TYPECHECK: the size must fit its 14 bits, or the number would alias another.
  if (!Number.isInteger(size) || size < 0 || size >= 1 << SIZEBITS) throw new RangeError(`ioctl argument size ${size} does not fit _IOC_SIZEBITS`);
  if (type >>> TYPEBITS !== 0 || nr >>> NRBITS !== 0 || dir >>> 2 !== 0) throw new RangeError(`ioctl field out of range: dir ${dir} type ${type} nr ${nr}`);
  return dir * 2 ** DIRSHIFT + size * 2 ** SIZESHIFT + type * 2 ** TYPESHIFT + nr;
}

/** No argument, or an integer passed by value. */
export const _IO = (type: number, nr: number): number => _IOC(IOC_NONE, type, nr, 0);
/** The kernel writes an `arg` to userspace. */
export const _IOR = (type: number, nr: number, arg: CType): number => _IOC(IOC_READ, type, nr, arg.size);
/** The kernel reads an `arg` from userspace. */
export const _IOW = (type: number, nr: number, arg: CType): number => _IOC(IOC_WRITE, type, nr, arg.size);
/** Both ways. */
export const _IOWR = (type: number, nr: number, arg: CType): number => _IOC(IOC_READ | IOC_WRITE, type, nr, arg.size);

export const _IOC_DIR = (request: number): number => Math.floor(request / 2 ** DIRSHIFT) & 3;
export const _IOC_SIZE = (request: number): number => Math.floor(request / 2 ** SIZESHIFT) & ((1 << SIZEBITS) - 1);
export const _IOC_TYPE = (request: number): number => Math.floor(request / 2 ** TYPESHIFT) & ((1 << TYPEBITS) - 1);
export const _IOC_NR = (request: number): number => request & ((1 << NRBITS) - 1);

/**
 * Request number → name, from `{ KVM_RUN, KVM_CREATE_VM, ... }` (shorthand
 * properties, so each name is its constant's own identifier). Two names for
 * one number would make messages lie, so that is refused.
 */
export function ioctlNames(requests: Readonly<Record<string, number>>): Readonly<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const [name, request] of Object.entries(requests)) {
    const had = out[request];
    if (had !== undefined) throw new Error(`ioctl 0x${request.toString(16)} is both ${had} and ${name}`);
    out[request] = name;
  }
  return Object.freeze(out);
}
