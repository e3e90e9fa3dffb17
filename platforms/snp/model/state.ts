/**
 * One SNP VM's platform state: what arch/x86/kvm/svm/sev.c keeps in
 * struct kvm_sev_info for an SNP guest (the INIT2 flag, the launch context
 * snp_context), the RMP the firmware keeps for its pages, the guest's own
 * C-bit view, and the page state changes in flight per vCPU
 * (vcpu->arch.sev_es.psc_*). The ioctls, guest operations and model
 * commands in this folder all act on it.
 */
import type { PlatformVmContext } from '../../../lib/kvm/model/platform.js';
import type { PopulateRules } from '../../../lib/kvm/model/profiles.js';
import { GuestMapping, isPrivateAttr } from '../../../lib/platform/common.js';
import { SevCipher } from '../../sev/cipher.js';
import type { SnpHardware } from '../hardware.js';
import { SnpLaunch } from '../launch.js';
import { Rmp } from '../rmp.js';
import type { PscRun } from './psc.js';

/** A page state change one vCPU has under way: its runs, the next one, and how it reports. */
export interface PscProgress {
  readonly runs: readonly PscRun[];
  i: number;
  error?: bigint;
  /** The GHCB MSR protocol form (one page), whose status differs from the NAE form's. */
  readonly msr: boolean;
}

export class SnpVmState {
  /** kvm_gmem_populate()'s rules: the part's override, else the release's (7.0 GUPs a 4K-aligned source). */
  readonly rules: PopulateRules;
  /** Pages one LAUNCH_UPDATE call handles before it returns -EAGAIN (0: no limit). */
  readonly batch: bigint;
  readonly largeFolios: boolean;
  readonly hostReadsCiphertext: boolean;
  /** sev_supported_vmsa_features: what INIT2 may ask for. */
  readonly vmsaFeatures: bigint;
  readonly rmp = new Rmp();
  /** The VM's memory encryption key, for what a host read of a guest-owned page returns. */
  readonly cipher = SevCipher.random();
  readonly launch = new SnpLaunch();
  /** The guest's own page tables: private or shared after its last PSC or PVALIDATE. */
  readonly mapping = new GuestMapping();
  readonly psc = new Map<number, PscProgress>();
  /** KVM_SEV_INIT2 made the VM an SNP guest. */
  inited = false;

  constructor(readonly ctx: PlatformVmContext, hw: SnpHardware) {
    this.rules = hw.populateRules ?? ctx.profile.populateRules;
    this.batch = BigInt(hw.populateBatchPages);
    this.largeFolios = hw.largeFolios;
    this.hostReadsCiphertext = hw.hostRead === 'ciphertext';
    this.vmsaFeatures = BigInt(hw.vmsaFeatures);
  }

  attrPrivate(gpa: bigint): boolean {
    return isPrivateAttr(this.ctx.attributes(gpa));
  }
}
