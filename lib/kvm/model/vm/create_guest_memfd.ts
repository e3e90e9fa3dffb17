/**
 * KVM_CREATE_GUEST_MEMFD: kvm_gmem_create() (virt/kvm/guest_memfd.c).
 * Unsupported flags, then a size that is not positive or not page aligned,
 * are EINVAL; reserved is not checked. The file holds a VM reference.
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { EFAULT, EINVAL } from '../../errno.js';
import { SIZEOF_KVM_CREATE_GUEST_MEMFD, decodeCreateGuestMemfd } from '../../structs.js';
import { GUEST_MEMFD_FLAG_INIT_SHARED, PAGE_SIZE } from '../../uapi.js';
import { Gmem } from '../gmem.js';
import { structArg } from '../ioctl_args.js';
import type { Vm } from '../vm.js';

const PAGE = BigInt(PAGE_SIZE);

export function kvmGmemCreate(vm: Vm, arg: IoctlArg | undefined): SysResult {
  const b = structArg(arg, SIZEOF_KVM_CREATE_GUEST_MEMFD);
  if (!b) return err(EFAULT);
  const a = decodeCreateGuestMemfd(b);
  if (a.flags & ~vm.gmemFlags) return err(EINVAL);
  const size = BigInt.asIntN(64, a.size);
  if (size <= 0n || size % PAGE !== 0n) return err(EINVAL);
  const initShared = (a.flags & GUEST_MEMFD_FLAG_INIT_SHARED) !== 0n;
  const g = new Gmem(vm, size, a.flags, !initShared, vm.sys.profile);
  return ok(vm.sys.fds.install(g));
}
