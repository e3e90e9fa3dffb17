/**
 * The one fault-in path of the model's MMU (arch/x86/kvm/mmu/mmu.c),
 * shared by a guest access (kvm_mmu_do_page_fault() from the interpreter)
 * and KVM_PRE_FAULT_MEMORY (kvm_tdp_map_page(), whose fault is private
 * exactly when the GFN is). In kvm_faultin_pfn()'s order:
 *
 * 1. a fault whose private-ness differs from kvm_mem_is_private() is a
 *    memory fault exit (flags PRIVATE if the fault was), -EFAULT;
 * 2. no memslot: kvm_handle_noslot_fault(), a memory fault for a private
 *    fault, else emulation (MMIO for an access, ENOENT for a pre-fault);
 * 3. private: kvm_faultin_pfn_private() needs a GUEST_MEMFD slot with its
 *    file alive (kvm_gmem_get_pfn()), else a memory fault; shared from a
 *    gmem-only slot needs the file too;
 * 4. the vendor's say on the access (the platform hook), where one is given;
 * 5. the page: the guest_memfd's, or the one userspace_addr maps
 *    (__gfn_to_pfn_memslot() → hva_to_pfn()), whose failure is a memory
 *    fault with no flags, -EFAULT.
 */

import type { Memslot } from '../memslots.js';
import type { Backing } from '../platform.js';
import { isFault } from '../host_as.js';
import type { SparsePages } from '../sparse_pages.js';
import type { Vm } from '../vm.js';
import { kvmMemIsPrivate } from '../vm/mem_attributes.js';

/** struct kvm_page_fault, the parts the model uses. */
export interface KvmPageFault {
  readonly gfn: number;
  readonly isPrivate: boolean;
  readonly write: boolean;
}

export type FaultIn<H> =
  | { readonly kind: 'mapped'; readonly backing: Backing; readonly slot: Memslot; readonly page: { store: SparsePages; index: number } }
  /** RET_PF_EMULATE: a shared fault on no memslot. */
  | { readonly kind: 'emulate' }
  /** kvm_mmu_prepare_memory_fault_exit() and -EFAULT. */
  | { readonly kind: 'memory_fault'; readonly private: boolean }
  /** The vendor hook's own answer. */
  | { readonly kind: 'vendor'; readonly result: H };

export function kvmMmuFaultIn<H = never>(vm: Vm, fault: KvmPageFault, vendor?: (backing: Backing) => H | undefined): FaultIn<H> {
  const { gfn, isPrivate } = fault;
  if (isPrivate !== kvmMemIsPrivate(vm, gfn)) return { kind: 'memory_fault', private: isPrivate };
  const slot = vm.slots.find(0, gfn);
  if (!slot) return isPrivate ? { kind: 'memory_fault', private: true } : { kind: 'emulate' };
  let backing: Backing;
  if (isPrivate) {
    if (!slot.hasGmemFlag || !slot.gmem) return { kind: 'memory_fault', private: true };
    backing = 'private';
  } else {
    if (slot.gmemOnly && !slot.gmem) return { kind: 'memory_fault', private: false };
    backing = 'shared';
  }
  const h = vendor?.(backing);
  if (h !== undefined) return { kind: 'vendor', result: h };
  const page = vm.backingPage(gfn, backing, fault.write);
  if (!page || isFault(page)) return { kind: 'memory_fault', private: false };
  return { kind: 'mapped', backing, slot, page };
}
