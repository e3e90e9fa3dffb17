/**
 * /dev/kvm (virt/kvm/kvm_main.c): kvm_chardev_ops, whose kvm_dev_ioctl()
 * answers the system ioctls and creates VMs; what it does not know goes to
 * kvm_arch_dev_ioctl() (arch/x86/kvm/x86.c), which answers the device
 * attributes and EINVAL. The misc device is opened with open(2), so it has
 * FMODE_PREAD/PWRITE but neither read nor write; llseek is noop_llseek();
 * there is no mmap.
 */

import { err, ok, type IoctlArg, type SysResult } from '../backend.js';
import { EFAULT, EINVAL, ENXIO } from '../errno.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_API_VERSION, KVM_GET_DEVICE_ATTR, KVM_GET_VCPU_MMAP_SIZE, KVM_HAS_DEVICE_ATTR, KVM_VCPU_MMAP_SIZE,
  SIZEOF_KVM_DEVICE_ATTR,
} from '../uapi.js';
import { putU64 } from '../layout.js';
import { kvm_device_attr } from '../structs.js';
import { capArg, intArg } from './ioctl_args.js';
import { FMODE_PREAD, FMODE_PWRITE, S_IFCHR, type FileOperations, type Kstat, type OpenFile } from './vfs/file.js';
import { noopLlseek } from './vfs/read_write.js';
import { Vm, type VmHost } from './vm.js';
import { capValue } from './vm/check_extension.js';

/** The version KVM_GET_API_VERSION reports (KVM_API_VERSION, include/uapi/linux/kvm.h). */
const KVM_API_VERSION = 12;
const KVM_DEV_INO = 0x1n;

/** What /dev/kvm needs from the process: a VM's host, and the list of its VMs. */
export interface KvmDevHost extends VmHost {
  /** A VM KVM_CREATE_VM made, until its last reference goes. */
  addVm(vm: Vm): void;
}

export const kvmChardevOps: FileOperations<KvmDevFile> = {
  name: 'kvm_chardev_ops (virt/kvm/kvm_main.c)',
  unlocked_ioctl: (f, cmd, arg) => kvmDevIoctl(f.sys, cmd, arg),
  llseek: noopLlseek,
};

export class KvmDevFile implements OpenFile {
  readonly kind = 'kvm' as const;
  readonly fops = kvmChardevOps;
  readonly fmode = FMODE_PREAD | FMODE_PWRITE;
  readonly noexec = false;

  constructor(readonly sys: KvmDevHost) {}

  getattr(): Kstat {
    return { size: 0n, ino: KVM_DEV_INO, mode: S_IFCHR | 0o666 };
  }
}

/** kvm_dev_ioctl(); unknown requests fall to kvm_arch_dev_ioctl(): EINVAL. */
function kvmDevIoctl(sys: KvmDevHost, req: number, arg: IoctlArg | undefined): SysResult {
  switch (req) {
    case KVM_GET_API_VERSION:
      return intArg(arg) ? err(EINVAL) : ok(KVM_API_VERSION);
    case KVM_CHECK_EXTENSION:
      return ok(capValue(capArg(arg), sys));
    case KVM_GET_VCPU_MMAP_SIZE:
      return intArg(arg) ? err(EINVAL) : ok(KVM_VCPU_MMAP_SIZE);
    case KVM_CREATE_VM: {
      // kvm_arch_init_vm(): the type must be supported (x86: < 32 and in supported_vm_types).
      const t = intArg(arg);
      const p = t <= 0xffffffffn ? sys.platforms.get(Number(t)) : undefined;
      if (!p) return err(EINVAL);
      // An x86 type the release does not know (TDX before 6.16).
      if (t < 32n && (sys.profile.absentVmTypes >>> Number(t)) & 1) return err(EINVAL);
      const vm = new Vm(sys, Number(t), p);
      sys.addVm(vm);
      return ok(sys.fds.install(vm));
    }
    case KVM_HAS_DEVICE_ATTR:
    case KVM_GET_DEVICE_ATTR:
      return devAttr(sys, req === KVM_GET_DEVICE_ATTR, arg);
    default:
      return err(EINVAL);
  }
}

/**
 * kvm_x86_dev_has_attr() / kvm_x86_dev_get_attr() (arch/x86/kvm/x86.c):
 * a non-zero group goes to the vendor module (SVM: sev_dev_get_attr()),
 * ENXIO for what nobody reports; GET stores the u64 at `addr` (put_user).
 * Group 0 (KVM_X86_XCOMP_GUEST_SUPP) is not modelled: ENXIO.
 */
function devAttr(sys: KvmDevHost, get: boolean, arg: IoctlArg | undefined): SysResult {
  if (!(arg instanceof Uint8Array) || arg.length < SIZEOF_KVM_DEVICE_ATTR) return err(EFAULT);
  const { group, attr, addr } = kvm_device_attr.decode(arg);
  let val: bigint | undefined;
  if (group !== 0) {
    for (const p of sys.platforms.all()) {
      const v = p.devAttr?.(group, attr);
      if (v !== undefined) val = (val ?? 0n) | v;
    }
  }
  if (val === undefined) return err(ENXIO);
  if (!get) return ok(0);
  const out = new Uint8Array(8);
  putU64(out, 0, val);
  const f = sys.host.forEach(addr, 8, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(out.subarray(done, done + chunk), inPage));
  return f ? err(EFAULT) : ok(0);
}
