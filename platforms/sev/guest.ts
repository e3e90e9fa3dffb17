/**
 * SEV guest operations for test programs: the C-bit flip a guest does in
 * its own page tables (set_memory_encrypted()/set_memory_decrypted()).
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';
import type { Num } from '../../lib/libc/int.js';

/**
 * Map [gpa, gpa+size) with C=1 (`encrypted`) or C=0. With `notify`, also
 * report it with KVM_HC_MAP_GPA_RANGE, as Linux does for migration.
 */
export function sevSetCbit(g: GuestBuilder, gpa: Num, size: Num, encrypted: boolean, notify = false): void {
  g.platform('sev.set_cbit', { gpa: BigInt(gpa), size: BigInt(size), encrypted, notify }, { expect: 0n, expr: 'set_memory_encrypted/decrypted() == 0' });
}

/**
 * The GHCB MSR protocol termination request of an SEV-ES or SNP guest
 * (sev_es_terminate() in the guest kernel's sev-shared.c; the guest of
 * sev_smoke_test): write GHCB_MSR_TERM_REQ with the reason set (0..15) and
 * code (0..255) to MSR_AMD64_SEV_ES_GHCB, then VMGEXIT. KVM ends the run
 * with KVM_EXIT_SYSTEM_EVENT(KVM_SYSTEM_EVENT_SEV_TERM) carrying the MSR
 * value; the guest never runs past it. A plain SEV guest has no GHCB: the
 * model gives KVM_EXIT_SHUTDOWN (platforms/sev/model.ts says why).
 */
export function sevEsGhcbTerminate(g: GuestBuilder, reasonSet: Num = 0, reasonCode: Num = 0): void {
  const set = BigInt(reasonSet);
  const code = BigInt(reasonCode);
  if (set < 0n || set > 0xfn) throw new RangeError(`sevEsGhcbTerminate: reason set ${set} does not fit GHCBData[15:12] (0..15)`);
  if (code < 0n || code > 0xffn) throw new RangeError(`sevEsGhcbTerminate: reason code ${code} does not fit GHCBData[23:16] (0..255)`);
  g.platform('sev.ghcb_msr_term', { reasonSet: set, reasonCode: code }, { expr: 'wrmsr(MSR_AMD64_SEV_ES_GHCB, GHCB_MSR_TERM_REQ); vmgexit()' });
}
