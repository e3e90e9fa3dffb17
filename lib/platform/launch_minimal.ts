/**
 * What a VM needs right after KVM_CREATE_VM (vmPostCreate, kvm_util's
 * kvm_arch_vm_post_create()), and the least launch each behaviour needs
 * before its vCPUs may run (launchMinimal, for generic tests that bring no
 * payload), on the raw backend.
 */
import type { Backend, SysResult } from '../kvm/backend.js';
import { KVM_X86_SEV_ES_VM, KVM_X86_SEV_VM, KVM_X86_SNP_VM, KVM_X86_TDX_VM } from '../kvm/uapi.js';
import { memoryEncryptOp } from './encrypt_op.js';
import type { BehaviourName } from './manifest.js';
import {
  KVM_SEV_INIT2, KVM_SEV_LAUNCH_FINISH, KVM_SEV_LAUNCH_MEASURE, KVM_SEV_LAUNCH_START, KVM_SEV_SNP_LAUNCH_FINISH,
  KVM_SEV_SNP_LAUNCH_START, SEV_MEASUREMENT_LEN, encodeSevCmd, encodeSevInit, encodeSevLaunchStart, encodeUaddrLen,
} from '../../platforms/sev/uapi.js';
import { SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH, encodeSnpLaunchStart } from '../../platforms/snp/uapi.js';
import { KVM_TDX_FINALIZE_VM, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_VM, encodeTdxCmd, encodeTdxInitVm } from '../../platforms/tdx/uapi.js';
import { scratchArea } from './encrypt_op.js';

const OK: SysResult = { ret: 0, errno: 0 };

function steps(list: readonly (() => SysResult)[]): SysResult {
  for (const s of list) {
    const r = s();
    if (r.ret < 0) return r;
  }
  return OK;
}

/**
 * kvm_arch_vm_post_create() (tools/testing/selftests/kvm/lib/x86/processor.c),
 * before any vCPU exists:
 * - an SEV, SEV-ES or SNP VM (is_sev_vm()) gets KVM_SEV_INIT2 with an empty
 *   struct, because __sev_guest_init() (arch/x86/kvm/svm/sev.c) refuses a
 *   VM that already has vCPUs;
 * - a TD gets KVM_TDX_INIT_VM, because tdx_vcpu_create()
 *   (arch/x86/kvm/vmx/tdx.c) refuses KVM_CREATE_VCPU with -EIO until it ran,
 *   and tdx_td_init() takes it only once. Without a CPUID leaf 0x80000008
 *   the part's own GPAW applies (`hardware.gpaw`, tdxGpaw()); a test that
 *   wants other INIT_VM parameters creates the VM without this step (a
 *   `postCreate` of its own in kvm_util's __vmCreate()).
 * Nothing for the other types.
 */
export function vmPostCreate(b: Backend, vmFd: number, vmType: number): SysResult {
  if (vmType === KVM_X86_TDX_VM) {
    return memoryEncryptOp(b, vmFd, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VM, data: d }), encodeTdxInitVm());
  }
  if (vmType !== KVM_X86_SEV_VM && vmType !== KVM_X86_SEV_ES_VM && vmType !== KVM_X86_SNP_VM) return OK;
  return memoryEncryptOp(b, vmFd, (d) => encodeSevCmd({ id: KVM_SEV_INIT2, data: d }), encodeSevInit());
}

/** The command vmPostCreate() issues for a VM type, for error messages. */
export function postCreateCommand(vmType: number): string | undefined {
  if (vmType === KVM_X86_TDX_VM) return 'KVM_TDX_INIT_VM';
  if (vmType === KVM_X86_SEV_VM || vmType === KVM_X86_SEV_ES_VM || vmType === KVM_X86_SNP_VM) return 'KVM_SEV_INIT2';
  return undefined;
}

/**
 * The launch after vmPostCreate() and once the vCPUs exist: SEV and SNP
 * are initialised (INIT2) and a TD has had KVM_TDX_INIT_VM by then; TDX's
 * INIT_VCPU needs the vCPUs.
 */
export function launchMinimal(behaviour: BehaviourName, b: Backend, vmFd: number, vcpuFds: readonly number[]): SysResult {
  const sev = (id: number, data: Uint8Array) => () => memoryEncryptOp(b, vmFd, (d) => encodeSevCmd({ id, data: d }), data);
  switch (behaviour) {
    case 'tdx':
      return steps([
        ...vcpuFds.map((fd) => () => memoryEncryptOp(b, fd, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VCPU, data: d }), new Uint8Array(0))),
        () => memoryEncryptOp(b, vmFd, (d) => encodeTdxCmd({ id: KVM_TDX_FINALIZE_VM, data: d }), new Uint8Array(0)),
      ]);
    case 'snp':
      return steps([
        sev(KVM_SEV_SNP_LAUNCH_START, encodeSnpLaunchStart((1n << 16n) | (1n << 17n))),
        sev(KVM_SEV_SNP_LAUNCH_FINISH, new Uint8Array(SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH)),
      ]);
    case 'sev':
    case 'sev_es': {
      const out = scratchArea(b) + 0x8000n;
      return steps([
        sev(KVM_SEV_LAUNCH_START, encodeSevLaunchStart({ policy: behaviour === 'sev_es' ? 5 : 1 })),
        sev(KVM_SEV_LAUNCH_MEASURE, encodeUaddrLen(out, SEV_MEASUREMENT_LEN)),
        sev(KVM_SEV_LAUNCH_FINISH, new Uint8Array(0)),
      ]);
    }
    default:
      return OK;
  }
}
