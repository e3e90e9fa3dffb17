/**
 * pin_pages() / unpin_pages() of kvm_util (v8 38/46 "KVM: selftests: Add
 * helpers to pin pages with CONFIG_GUP_TEST"): long-term GUP pins through
 * /sys/kernel/debug/gup_test, which give a page the elevated refcount that
 * makes a guest_memfd conversion to private fail with EAGAIN. A host without
 * CONFIG_GUP_TEST (no such file) skips, as __open_path_or_exit() does.
 */
import { PIN_LONGTERM_TEST_FLAG_USE_WRITE, PIN_LONGTERM_TEST_START, PIN_LONGTERM_TEST_STOP, GUP_TEST_PATH, pin_longterm_test } from '../kvm/model/gup_test.js';
import { TEST_ASSERT_EQ } from './assert.js';
import { noteResult } from './errno_state.js';
import { O_RDWR, kvmBackend, openPathOrExit } from './kvm_dev.js';

let gupTestFd = -1;

/** pin_pages(vaddr, size): pin [vaddr, vaddr+size) for writing, long-term. */
export function pinPages(vaddr: bigint, size: bigint | number): void {
  const args = pin_longterm_test.encode({ addr: vaddr, size, flags: PIN_LONGTERM_TEST_FLAG_USE_WRITE });
  gupTestFd = openPathOrExit(GUP_TEST_PATH, O_RDWR, 'Is CONFIG_GUP_TEST enabled?');
  TEST_ASSERT_EQ(noteResult(kvmBackend().ioctl(gupTestFd, PIN_LONGTERM_TEST_START, args)).ret, 0);
}

/** unpin_pages(): drop every pin pin_pages() took. */
export function unpinPages(): void {
  TEST_ASSERT_EQ(noteResult(kvmBackend().ioctl(gupTestFd, PIN_LONGTERM_TEST_STOP)).ret, 0);
}
