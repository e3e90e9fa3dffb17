/**
 * /sys/kernel/debug/gup_test (mm/gup_test.c, CONFIG_GUP_TEST): the debugfs
 * file kvm_util's pin_pages()/unpin_pages() drive to hold long-term GUP pins
 * on user memory, which guest_memfd_conversions_test uses to give a shared
 * guest_memfd page an elevated refcount. Only the long-term pin commands
 * are modelled; the benchmarks answer EINVAL.
 *
 * pin_longterm_test_start(): one pinned set at a time (EINVAL while one is
 * held), copy_from_user (EFAULT), unknown flags, an unaligned address or
 * size, size > LONG_MAX or 0 pages (EINVAL), then pin_user_pages(FOLL_LONGTERM
 * [| FOLL_WRITE]) page by page; a page that cannot be faulted in ends the
 * call with its error (-EFAULT) after undoing the pins taken.
 * pin_longterm_test_stop() drops them all.
 */
import type { IoctlArg, SysResult } from '../backend.js';
import { EFAULT, EINVAL } from '../errno.js';
import { _IO, _IOW } from '../ioctl.js';
import { struct, u32, u64 } from '../layout.js';
import { PAGE_SIZE } from '../uapi.js';
import { ANON_INODE_INO, ANON_INODE_MODE, type FileOperations, type Kstat, type OpenFile } from './vfs/file.js';
import { isFault, type HostAddressSpace } from './host_as.js';
import type { SparsePages } from './sparse_pages.js';

export const GUP_TEST_PATH = '/sys/kernel/debug/gup_test';
/** struct pin_longterm_test (mm/gup_test.h); the u64 alignment pads it after `flags`. */
export const pin_longterm_test = struct('pin_longterm_test', { addr: u64, size: u64, flags: u32 });
/** The ioctl type of mm/gup_test.h. */
const GUP_TEST_IOC = 'g'.charCodeAt(0);
export const PIN_LONGTERM_TEST_START = _IOW(GUP_TEST_IOC, 7, pin_longterm_test);
export const PIN_LONGTERM_TEST_STOP = _IO(GUP_TEST_IOC, 8);
export const PIN_LONGTERM_TEST_FLAG_USE_WRITE = 1;
export const PIN_LONGTERM_TEST_FLAG_USE_FAST = 2;
export const SIZEOF_PIN_LONGTERM_TEST = pin_longterm_test.size;

const PAGE = BigInt(PAGE_SIZE);
const LONG_MAX = (1n << 63n) - 1n;

/** The pins one process holds through gup_test (the module keeps one set, globally). */
export class GupPins {
  private held: { store: SparsePages; index: number }[] | null = null;

  constructor(private readonly host: HostAddressSpace) {}

  start(arg: IoctlArg | undefined): SysResult {
    if (this.held) return { ret: -1, errno: EINVAL };
    if (!(arg instanceof Uint8Array) || arg.length < SIZEOF_PIN_LONGTERM_TEST) return { ret: -1, errno: EFAULT };
    const { addr, size, flags } = pin_longterm_test.decode(arg);
    if (flags & ~(PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST)) return { ret: -1, errno: EINVAL };
    if ((addr | size) % PAGE !== 0n) return { ret: -1, errno: EINVAL };
    if (size > LONG_MAX || size / PAGE === 0n) return { ret: -1, errno: EINVAL };
    const write = (flags & PIN_LONGTERM_TEST_FLAG_USE_WRITE) !== 0;
    const pinned: { store: SparsePages; index: number }[] = [];
    for (let a = addr; a < addr + size; a += PAGE) {
      const r = this.host.resolve(a, write);
      if (isFault(r)) {
        for (const p of pinned) p.store.unpin(p.index);
        return { ret: -1, errno: EFAULT };
      }
      r.store.pin(r.index);
      pinned.push(r);
    }
    this.held = pinned;
    return { ret: 0, errno: 0 };
  }

  stop(): void {
    for (const p of this.held ?? []) p.store.unpin(p.index);
    this.held = null;
  }
}

/**
 * gup_test_fops (mm/gup_test.c): nonseekable_open() leaves the file without
 * llseek or positional I/O; gup_test_ioctl() answers what it does not know
 * with EINVAL.
 */
export const gupTestFops: FileOperations<GupTestFile> = {
  name: 'gup_test_fops (mm/gup_test.c)',
  unlocked_ioctl: (f, cmd, arg) => f.ioctl(cmd, arg),
};

/** An open gup_test file: its ioctls act on the process's one set of pins. */
export class GupTestFile implements OpenFile {
  readonly kind = 'gup_test' as const;
  readonly fops = gupTestFops;
  readonly fmode = 0;
  readonly noexec = false;

  constructor(private readonly pins: GupPins) {}

  /** The debugfs inode is not modelled: fstat reports the anon inode's fields. */
  getattr(): Kstat {
    return { size: 0n, ino: ANON_INODE_INO, mode: ANON_INODE_MODE };
  }

  ioctl(request: number, arg: IoctlArg | undefined): SysResult {
    switch (request) {
      case PIN_LONGTERM_TEST_START: return this.pins.start(arg);
      case PIN_LONGTERM_TEST_STOP: this.pins.stop(); return { ret: 0, errno: 0 };
      // gup_test_ioctl(): anything it does not know is -EINVAL.
      default: return { ret: -1, errno: EINVAL };
    }
  }
}
