/**
 * kvm_gmem_fops (virt/kvm/guest_memfd.c) as each release builds it:
 * release and fallocate always; mmap from 6.18 (kvm_gmem_mmap(), the
 * release that added GUEST_MEMFD_FLAG_MMAP); unlocked_ioctl with the 7.4
 * in-place conversion series (kvm_gmem_ioctl(): KVM_SET_MEMORY_ATTRIBUTES2
 * only). Without llseek the file has no FMODE_LSEEK (ESPIPE), and as an
 * alloc_file_pseudo() file no FMODE_PREAD/PWRITE.
 */

import { ENOTTY } from '../errno.js';
import { KVM_SET_MEMORY_ATTRIBUTES2 } from '../uapi.js';
import type { Gmem } from './gmem.js';
import { gmemSetAttributes } from './gmem_attributes.js';
import type { KernelProfile } from './profiles.js';
import { err } from '../backend.js';
import type { FileOperations } from './vfs/file.js';
import type { Vm } from './vm.js';

const base: FileOperations<Gmem> = {
  name: 'kvm_gmem_fops (virt/kvm/guest_memfd.c)',
  release: (g) => g.release(),
  fallocate: (g, mode, offset, len) => g.fallocate(mode, offset, len),
};

const mmap: Pick<FileOperations<Gmem>, 'mmap'> = {
  mmap: (g) => {
    const sp = g.policy;
    return {
      check: (shared) => g.mmapCheck(shared),
      vmOps: {
        ino: g.ino, noThp: true,
        resolve: (pgoff) => { const r = g.userFault(pgoff); return typeof r === 'number' ? { store: g.pages, index: r } : r; },
        // kvm_gmem_set_policy()/kvm_gmem_get_policy() from 6.19.
        ...(sp ? { setPolicy: (first, end, pol) => sp.set(first, end, pol), getPolicy: (pgoff) => sp.lookup(pgoff) } : {}),
      },
    };
  },
};

const ioctl: Pick<FileOperations<Gmem>, 'unlocked_ioctl'> = {
  unlocked_ioctl: (g, cmd, arg) => (cmd === KVM_SET_MEMORY_ATTRIBUTES2 ? gmemSetAttributes(g, g.vm as Vm, arg) : err(ENOTTY)),
};

const tables = new Map<string, FileOperations<Gmem>>();

/** The table of the release `profile` describes (one object per shape, shared by every guest_memfd). */
export function gmemFopsFor(profile: KernelProfile): FileOperations<Gmem> {
  const withMmap = profile.hasGmemFlagsCap;
  const withIoctl = profile.perGmemAttributesSupported;
  const key = `${withMmap}/${withIoctl}`;
  let t = tables.get(key);
  if (!t) {
    t = Object.freeze({ ...base, ...(withMmap ? mmap : {}), ...(withIoctl ? ioctl : {}) });
    tables.set(key, t);
  }
  return t;
}
