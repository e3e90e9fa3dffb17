/** SEV-SNP (lib/platform/types.ts, PlatformDefinition). */
import { PAGE_SIZE as PAGE } from '../../lib/kvm/uapi.js';
import { gpaArg, memoryEncryptOp } from '../../lib/platform/encrypt_op.js';
import { runSteps } from '../../lib/platform/launch_minimal.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import { KVM_SEV_SNP_LAUNCH_FINISH, KVM_SEV_SNP_LAUNCH_START, encodeSevCmd } from '../sev/uapi.js';
import { sevCmd, sevPostCreate } from '../sev/steps.js';
import { snpConversion } from './conversion.js';
import manifest from './manifest.json' with { type: 'json' };
import { SnpHardware, snpDerived } from './hardware.js';
import { createSnpModel } from './model.js';
import { KVM_SEV_MODEL_HOST_READ, KVM_SEV_MODEL_HOST_WRITE, SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH, encodeSnpLaunchStart } from './uapi.js';

export const snp: PlatformDefinition<'snp', typeof SnpHardware> = {
  name: 'snp',
  manifest,
  manifestFile: 'platforms/snp/manifest.json',
  hardware: SnpHardware,
  derived: snpDerived,
  model: (hw) => createSnpModel(hw),
  conversion: () => snpConversion,
  postCreate: sevPostCreate,
  // Policy bits 16 (reserved, must be one) and 17 (SMT allowed).
  launchMinimal: (b, vmFd) => runSteps([
    sevCmd(b, vmFd, KVM_SEV_SNP_LAUNCH_START, encodeSnpLaunchStart((1n << 16n) | (1n << 17n))),
    sevCmd(b, vmFd, KVM_SEV_SNP_LAUNCH_FINISH, new Uint8Array(SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH)),
  ]),
  // The host kernel reading the page sees ciphertext; only the model offers that read.
  hostKernelAccess: {
    page: 'an SNP private page',
    read(vm, gpa) {
      const r = memoryEncryptOp(vm.backend, vm.fd, (d) => encodeSevCmd({ id: KVM_SEV_MODEL_HOST_READ, data: d }), gpaArg(gpa, PAGE));
      return { kind: 'ciphertext', data: r.data.subarray(8) };
    },
    // A host write to an assigned page takes an RMP #PF (the model's stand-in reports it).
    write(vm, gpa) {
      const r = memoryEncryptOp(vm.backend, vm.fd, (d) => encodeSevCmd({ id: KVM_SEV_MODEL_HOST_WRITE, data: d }), gpaArg(gpa));
      return r.ret === 0 ? { kind: 'ok' } : { kind: 'rmp-fault', gpa };
    },
  },
};
