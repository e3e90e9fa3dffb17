/**
 * Memslot cases where this machine's /dev/kvm differs from the modelled 6.18
 * kernel: only the SMM address space. Everything else in
 * kvm_set_memory_region() and kvm_gmem_bind() is generic code and agrees.
 */

import type { HostSpecific } from '../../../tools/kvm_probe/compare.js';
import { SMM_WHY } from './system.js';

export const memslotHostSpecific: HostSpecific[] = [
  // Slot ids with as_id 1 (slot >> 16) that a kernel with SMM accepts: two creates, a move, a delete, a gmem bind.
  ...[
    'set_region vm 0x10000 0 0x700000 0x1000 m',
    'set_region vm 0x17ffb 0 0x800000 0x1000 m',
    'set_region vm 0x10000 0 0x100000 0x1000 m',
    'set_region2 vm 0x10000 0 0 0 0 0 0',
    'set_region2 vm 0x10005 4 0x40000000 0x1000 0 0 g',
  ].map((call): HostSpecific => ({ host: 'pvm', caseName: 'slot-ids', call, real: '-1 EINVAL', model: '0', why: SMM_WHY })),
];
