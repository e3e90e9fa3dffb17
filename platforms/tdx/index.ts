/** Intel TDX (lib/platform/types.ts, PlatformDefinition). */
import { KVM_MEMORY_ENCRYPT_OP, PAGE_SIZE as PAGE } from '../../lib/kvm/uapi.js';
import { gpaArg, memoryEncryptOp } from '../../lib/platform/encrypt_op.js';
import { runSteps } from '../../lib/platform/launch_minimal.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import { tdxConversion } from './conversion.js';
import manifest from './manifest.json' with { type: 'json' };
import { TdxHardware, tdxDerived } from './hardware.js';
import { createTdxModel } from './model.js';
import {
  KVM_TDX_FINALIZE_VM, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_VM, KVM_TDX_MODEL_HOST_READ, KVM_TDX_MODEL_HOST_WRITE, encodeTdxCmd,
  encodeTdxInitVm,
} from './uapi.js';

export const tdx: PlatformDefinition<'tdx', typeof TdxHardware> = {
  name: 'tdx',
  manifest,
  manifestFile: 'platforms/tdx/manifest.json',
  hardware: TdxHardware,
  derived: tdxDerived,
  model: (hw) => createTdxModel(hw),
  // The shared bit is GPA bit GPAW-1 (TDX module spec: GPAW 48 → bit 47, 52 → bit 51).
  conversion: (hw) => tdxConversion(hw.gpaw - 1),
  /**
   * KVM_TDX_INIT_VM before any vCPU: tdx_vcpu_create() (arch/x86/kvm/vmx/tdx.c)
   * refuses KVM_CREATE_VCPU with -EIO until it ran, and tdx_td_init() takes
   * it only once. Without a CPUID leaf 0x80000008 the part's own GPAW applies.
   */
  postCreate: {
    command: 'KVM_TDX_INIT_VM',
    run: (b, vmFd) => memoryEncryptOp(b, vmFd, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VM, data: d }), encodeTdxInitVm()),
  },
  // A TD's interrupt controller is the split irqchip (KVM_CAP_SPLIT_IRQCHIP), never KVM_CREATE_IRQCHIP's full one.
  inKernelIrqchip: false,
  // INIT_VCPU needs the vCPUs, so it is part of the launch, not the post-create step.
  launchMinimal: (b, vmFd, vcpuFds) => runSteps([
    ...vcpuFds.map((fd) => () => memoryEncryptOp(b, fd, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VCPU, data: d }), new Uint8Array(0))),
    () => memoryEncryptOp(b, vmFd, (d) => encodeTdxCmd({ id: KVM_TDX_FINALIZE_VM, data: d }), new Uint8Array(0)),
  ]),
  // The host kernel reading a TD private page reads zeros [H]; only the model offers that read.
  hostKernelAccess: {
    page: 'a TD private page',
    read(vm, gpa) {
      const r = memoryEncryptOp(vm.backend, vm.fd, (d) => encodeTdxCmd({ id: KVM_TDX_MODEL_HOST_READ, data: d }), gpaArg(gpa, PAGE));
      return { kind: 'zeros', data: r.data.subarray(8) };
    },
    // A host write poisons the page; the TD's next read takes a #MC.
    write(vm, gpa) {
      const r = vm.backend.ioctl(vm.fd, KVM_MEMORY_ENCRYPT_OP, encodeTdxCmd({ id: KVM_TDX_MODEL_HOST_WRITE, data: gpa }));
      return r.ret === 0 ? { kind: 'poisoned', gpa } : { kind: 'ok' };
    },
  },
};
