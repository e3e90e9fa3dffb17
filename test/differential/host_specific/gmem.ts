/**
 * guest_memfd on a default VM is generic KVM code (virt/kvm/guest_memfd.c):
 * the PVM host answers every gmem case exactly as the modelled 6.18 kernel,
 * so nothing here is host-specific.
 */

import type { HostSpecific } from '../../../tools/kvm_probe/compare.js';

export const gmemHostSpecific: HostSpecific[] = [];
