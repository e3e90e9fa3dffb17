/**
 * errno for the uAPI layer: a raw call's `{ ret, errno }` carries the libc
 * values of lib/libc/errno.ts, which the kselftest layer shares without
 * depending on KVM code.
 */
export * from '../libc/errno.js';
