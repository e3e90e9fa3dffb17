/**
 * The SEV / SEV-ES launch flow as a state machine (firmware guest states
 * UNINIT → LUPDATE → LSECRET → RUNNING; reference/platforms.md §2.2 d,
 * `sev_launch_*()` in arch/x86/kvm/svm/sev.c):
 *
 *   KVM_SEV_INIT2 → LAUNCH_START → LAUNCH_UPDATE_DATA* (→ UPDATE_VMSA for ES)
 *   → LAUNCH_MEASURE → LAUNCH_SECRET* → LAUNCH_FINISH
 *
 * A command in the wrong state is what the firmware refuses:
 * -EIO with `error = SEV_RET_INVALID_GUEST_STATE`. The launch digest (LD)
 * is SHA-256 over everything UPDATE_DATA/UPDATE_VMSA encrypted, in order; the
 * measurement is HMAC-SHA256 under the TIK over the API version, policy, LD
 * and a fresh MNONCE, as the firmware spec lays it out.
 */
import { randomBytes } from 'node:crypto';
import { EINVAL, EIO } from '../../lib/kvm/errno.js';
import { StreamMeasure, hmacSha256, sha } from '../../lib/platform/digest.js';
import { SEV_MEASUREMENT_LEN, SEV_RET_INVALID_GUEST_STATE, SEV_RET_SUCCESS, SVM_SEV_FEAT_DEBUG_SWAP } from './uapi.js';

export type SevGuestState = 'uninit' | 'init' | 'lupdate' | 'lsecret' | 'running';

export interface FwResult {
  readonly errno: number;
  readonly fwError: number;
}

const OK: FwResult = { errno: 0, fwError: SEV_RET_SUCCESS };
const BAD_STATE: FwResult = { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE };

export interface SevApiVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

export const DEFAULT_SEV_API: SevApiVersion = { major: 1, minor: 55, build: 0 };

/** The measurement the guest owner expects: HMAC(TIK, 0x04 || api || policy || LD || MNONCE). */
export function sevMeasurement(tik: Uint8Array, api: SevApiVersion, policy: number, ld: Uint8Array, mnonce: Uint8Array): Uint8Array {
  const hdr = new Uint8Array([0x04, api.major, api.minor, api.build]);
  const pol = new Uint8Array(4);
  new DataView(pol.buffer).setUint32(0, policy >>> 0, true);
  return hmacSha256(tik, hdr, pol, ld, mnonce);
}

/** The TIK the model unwraps from a LAUNCH_START session blob (the first 16 bytes of its SHA-256). */
export function sevTikFromSession(session: Uint8Array): Uint8Array {
  return sha('sha256', session).subarray(0, 16);
}

/** The launch digest a guest owner computes over the same plaintext. */
export function sevLaunchDigest(chunks: readonly Uint8Array[]): Uint8Array {
  return sha('sha256', ...chunks);
}

export class SevLaunch {
  state: SevGuestState = 'uninit';
  policy = 0;
  private ld = new StreamMeasure('sha256');
  private tik: Uint8Array = new Uint8Array(16);
  private launchDigest: Uint8Array | undefined;

  constructor(
    readonly es: boolean,
    readonly api: SevApiVersion = DEFAULT_SEV_API,
    /** sev_supported_vmsa_features [H]: what an SEV-ES INIT2 may ask for (DEBUG_SWAP by default). */
    readonly supportedVmsaFeatures: bigint = SVM_SEV_FEAT_DEBUG_SWAP,
  ) {}

  /**
   * KVM_SEV_INIT2 (sev_guest_init2(), __sev_guest_init()): once per VM
   * (need_init → -EINVAL), never on a VM that already has vCPUs
   * (kvm->created_vcpus → -EINVAL: KVM sets up each vCPU's intercepts and
   * VMSA for the SEV mode chosen here, so the mode cannot change under
   * existing vCPUs), flags must be 0, vmsa_features within the supported set
   * (none on plain SEV), a GHCB version only for SEV-ES and at most
   * GHCB_VERSION_MAX.
   */
  init2(p: { vmsaFeatures: bigint; flags: number; ghcbVersion: number }, createdVcpus = 0): FwResult {
    if (this.state !== 'uninit') return { errno: EINVAL, fwError: 0 };
    if (createdVcpus > 0) return { errno: EINVAL, fwError: 0 };
    if (p.flags !== 0) return { errno: EINVAL, fwError: 0 };
    const valid = this.es ? this.supportedVmsaFeatures : 0n;
    if ((p.vmsaFeatures & ~valid) !== 0n) return { errno: EINVAL, fwError: 0 };
    if (!this.es && p.ghcbVersion !== 0) return { errno: EINVAL, fwError: 0 };
    if (p.ghcbVersion > 2) return { errno: EINVAL, fwError: 0 };
    this.state = 'init';
    return OK;
  }

  start(policy: number, session?: Uint8Array): FwResult {
    if (this.state !== 'init') return BAD_STATE;
    this.policy = policy;
    if (session && session.length) this.tik = sevTikFromSession(session);
    this.state = 'lupdate';
    return OK;
  }

  /** Measure the plaintext of one LAUNCH_UPDATE_DATA region; the caller encrypts it in place. */
  updateData(plain: Uint8Array): FwResult {
    if (this.state !== 'lupdate') return BAD_STATE;
    this.ld.update(plain);
    return OK;
  }

  /** SEV-ES only: measure each vCPU's VMSA. */
  updateVmsa(vmsas: readonly Uint8Array[]): FwResult {
    if (!this.es) return { errno: EINVAL, fwError: 0 };
    if (this.state !== 'lupdate') return BAD_STATE;
    for (const v of vmsas) this.ld.update(v);
    return OK;
  }

  /** LAUNCH_MEASURE: LUPDATE → LSECRET, returning the 48-byte measurement blob. */
  measure(mnonce: Uint8Array = randomBytes(16)): FwResult & { blob?: Uint8Array } {
    if (this.state !== 'lupdate') return BAD_STATE;
    this.launchDigest = this.ld.finalise();
    const m = sevMeasurement(this.tik, this.api, this.policy, this.launchDigest, mnonce);
    const blob = new Uint8Array(SEV_MEASUREMENT_LEN);
    blob.set(m, 0);
    blob.set(mnonce.subarray(0, 16), 32);
    this.state = 'lsecret';
    return { ...OK, blob };
  }

  secret(): FwResult {
    return this.state === 'lsecret' ? OK : BAD_STATE;
  }

  finish(): FwResult {
    if (this.state !== 'lsecret') return BAD_STATE;
    this.state = 'running';
    return OK;
  }

  /** The launch digest after LAUNCH_MEASURE. */
  get digest(): Uint8Array | undefined {
    return this.launchDigest;
  }
}
