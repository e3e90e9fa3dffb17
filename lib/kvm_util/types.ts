/**
 * kvm_util's address types (vm_paddr_t, vm_vaddr_t, void *). They live in
 * the uAPI layer (lib/kvm/addr.ts) because guest programs and the platform
 * plugins, which sit below kvm_util, name addresses too.
 */
export * from '../kvm/addr.js';
/** An integer as a C caller passes it (a number, or a bigint where it may not fit). */
export type { Num } from '../libc/int.js';
