/**
 * SEV guest operations for test programs: the C-bit flip a guest does in
 * its own page tables (set_memory_encrypted()/set_memory_decrypted()).
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';

type Num = bigint | number;

/**
 * Map [gpa, gpa+size) with C=1 (`encrypted`) or C=0. With `notify`, also
 * report it with KVM_HC_MAP_GPA_RANGE, as Linux does for migration.
 */
export function sevSetCbit(g: GuestBuilder, gpa: Num, size: Num, encrypted: boolean, notify = false): void {
  g.platform('sev.set_cbit', { gpa: BigInt(gpa), size: BigInt(size), encrypted, notify }, { expect: 0n, expr: 'set_memory_encrypted/decrypted() == 0' });
}
