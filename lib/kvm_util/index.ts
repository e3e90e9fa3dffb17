/**
 * kvm_util for TypeScript: the private-memory subset of
 * tools/testing/selftests/kvm/include/kvm_util.h. It sits on the platform
 * layer (lib/platform, platforms/<name>) and never the other way round
 * (lib/README.md, test/lib/layers.test.ts).
 */
export * from './assert.js';
export * from './attributes.js';
export * from './caps.js';
export { describeExit } from './exit_info.js';
export * from './gmem.js';
export { pinPages, unpinPages } from './gup.js';
export { TEST_ASSERT_SAME_BACKING } from './backing.js';
export {
  TEST_ASSERT_SUPPORTED_ATTRIBUTES, __gmemIoctl, __gmemSetMemoryAttributes, __gmemSetPrivate, __gmemSetShared, gmemIoctl,
  gmemSetMemoryAttributes, gmemSetPrivate, gmemSetShared, kvmGpaToGuestMemfd, kvmHasGmemAttributes,
  type GmemAttributesResult, type GpaGuestMemfd,
} from './gmem_attributes.js';
export { GUEST_AREA_SIZE, loadGuestProgram, vcpuGuestArea, vcpuUcallGpa } from './guest_loader.js';
export * from './ioctl.js';
export { kvmBackend, setKvmBackend, openKvmDevPathOrExit, requireModel, KVM_DEV_PATH } from './kvm_dev.js';
export { guestRandomSeed, kvmSelftestInit, kvmSelftestMain, DEFAULT_RANDOM_SEED } from './main.js';
export * from './memslots.js';
export * from './numa.js';
export { ksftEnv, parseKsftEnv, KsftEnvSchema, type KsftEnv } from './options.js';
export { pageState, pageStateMap, useColour, type PageState } from './page_states.js';
export { PLATFORM_NAMES, type PlatformName, type PlatformVmType } from './platform_types.js';
export { platformVmType, requirePlatformVmType } from './platform_select.js';
export * from './syscalls.js';
export * from './test_util.js';
export * from './types.js';
export * from './ucall.js';
export * from './vcpu.js';
export * from './visibility.js';
export * from './vm.js';
export * from './vm_create.js';
export { getErrno } from './errno_state.js';
export { traceBackend } from './trace.js';
// kvm_util.h includes <linux/kvm.h> and the guest-side headers, so a
// selftest needs one include; here one import gives the uAPI constants,
// the errno values and the guest helpers as well.
export * from '../kvm/uapi.js';
export * from '../kvm/errno.js';
export * from '../guest/index.js';
// The portable private-memory flow (lib/kvm_util/coco.ts): a VM of
// KSFT_PLATFORM's type after its post-create step, its minimal launch, the
// guest's conversion call and a KVM_RUN loop that answers conversion exits
// as a VMM does, so a test that converts runs unchanged on every platform.
export {
  COCO_TEST_GPA, COCO_TEST_SLOT, __vcpuRunConversion, cocoLaunch, cocoVmCreate, expectHostFault, expectMemoryFault, ksftPlatform,
  ksftPlatformPlugin, requireConversion, runToMemoryFault, runToUcall, vcpuRunConversion, vmEnableConversionExits, type CocoVm,
  type CocoVmOptions, type ConversionRun, type MemoryFaultExit, type RunToUcallOptions,
} from './coco.js';
export type { ConversionRequest, GuestConversion, PlatformPlugin } from '../platform/index.js';
