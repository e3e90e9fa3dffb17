/**
 * The TD build flow as a state machine (arch/x86/kvm/vmx/tdx.c):
 *
 *   created --KVM_TDX_INIT_VM--> initialized --KVM_TDX_FINALIZE_VM--> runnable
 *
 * KVM_TDX_INIT_VM runs once (tdx_td_init(): a TD that is not
 * TD_STATE_UNINITIALIZED is -EINVAL), and no vCPU exists before it:
 * tdx_vcpu_create() refuses KVM_CREATE_VCPU with -EIO unless the TD is
 * TD_STATE_INITIALIZED, so a VMM (kvm_util's kvm_arch_vm_post_create())
 * issues INIT_VM right after KVM_CREATE_VM, and no vCPU is added after
 * finalise either. Then KVM_TDX_INIT_VCPU per vCPU and KVM_TDX_INIT_MEM_REGION only while
 * initialized (tdx_vcpu_init_mem_region(): `kvm_tdx->state !=
 * TD_STATE_INITIALIZED` is -EINVAL), so any populate after finalise is
 * refused (scenario 9). Every populated page is recorded, so a second
 * populate of the same GPA is -EEXIST (6.11–6.19 kvm_gmem_populate()) or,
 * under 7.0 rules, an error from TDH.MEM.PAGE.ADD (-EIO).
 */
import { EEXIST, EINVAL, EIO } from '../../lib/kvm/errno.js';
import { GfnSet } from '../../lib/platform/common.js';
import { Mrtd } from './mrtd.js';

export type TdState = 'created' | 'initialized' | 'runnable';
export type PopulateRules = '6.11' | '7.0';

export class TdxLaunch {
  state: TdState = 'created';
  readonly mrtd = new Mrtd();
  readonly vcpusInit = new Set<number>();
  /** GFNs added by PAGE.ADD (they start accepted). */
  readonly added = new GfnSet();

  /** tdx_td_init(): only on an uninitialised TD. */
  initVm(): number {
    if (this.state !== 'created') return EINVAL;
    this.state = 'initialized';
    return 0;
  }

  /** tdx_vcpu_create(): KVM_CREATE_VCPU only between INIT_VM and FINALIZE_VM. */
  vcpuCreate(): number {
    return this.state === 'initialized' ? 0 : EIO;
  }

  initVcpu(vcpu: number): number {
    if (this.state !== 'initialized' || this.vcpusInit.has(vcpu)) return EINVAL;
    this.vcpusInit.add(vcpu);
    return 0;
  }

  /** Checks before one page is added; 0 to go on. */
  checkAdd(gfn: bigint, rules: PopulateRules): number {
    if (this.state !== 'initialized') return EINVAL;
    if (this.added.has(gfn)) return rules === '7.0' ? EIO : EEXIST;
    return 0;
  }

  add(gfn: bigint, gpa: bigint, data: Uint8Array, measure: boolean): void {
    this.added.add(gfn);
    this.mrtd.pageAdd(gpa);
    if (measure) this.mrtd.extendPage(gpa, data);
  }

  finalize(): number {
    if (this.state !== 'initialized') return EINVAL;
    this.mrtd.finalise();
    this.state = 'runnable';
    return 0;
  }
}
