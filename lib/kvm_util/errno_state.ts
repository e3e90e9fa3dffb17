/**
 * The C library's `errno`: the last failing call's error number. Every raw
 * (`__x`) kvm_util call and syscall wrapper stores it on failure, so that a
 * later TEST_ASSERT prints `errno=<e> - <strerror>` exactly as test_assert()
 * in tools/testing/selftests/kvm/lib/assert.c does.
 */
let current = 0;

/** errno: the error of the last raw call, as libc's errno (0 after a success). */
export function getErrno(): number {
  return current;
}

export function setErrno(e: number): void {
  current = e;
}

/** Record a raw result's errno the way libc does: only failures change it. */
export function noteResult<T extends { readonly ret: number; readonly errno: number }>(r: T): T {
  if (r.ret < 0) current = r.errno;
  return r;
}
