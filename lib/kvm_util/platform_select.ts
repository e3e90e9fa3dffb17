/**
 * The VM type a test creates, from KSFT_PLATFORM, with the requirements a
 * C test states as TEST_REQUIRE lines: KVM must offer the type
 * (KVM_CAP_VM_TYPES), and for the private-memory tests its VMs must support
 * the PRIVATE attribute (KVM_CAP_MEMORY_ATTRIBUTES on a VM of that type;
 * arch/x86/kvm/x86.c gives 0 for types without private memory). Where KVM
 * tracks PRIVATE per guest_memfd (7.4, kvm_has_gmem_attributes) the per-VM
 * cap is 0 for every type and KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES says it.
 */
import {
  KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_VM_TYPES, KVM_CHECK_EXTENSION, KVM_CREATE_VM,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from '../kvm/uapi.js';
import { kvmHasGmemAttributes } from './gmem_attributes.js';
import { TEST_REQUIRE } from './assert.js';
import { kvmBackend, kvmCheckCap, openKvmDevPathOrExit } from './kvm_dev.js';
import { ksftEnv } from './options.js';
import type { PlatformVmType } from './platform_types.js';
import { loadPlatformOrExit } from '../platform/index.js';

/**
 * The VM type of a platform, built-in or a plugin folder, with its uAPI
 * macro for skip texts. Only the named platform's manifest is read, when
 * a test asks: a process on the real /dev/kvm never validates the others.
 */
export function platformVmType(nameOrPath: string): PlatformVmType {
  const p = loadPlatformOrExit(nameOrPath);
  return { type: p.vmType, macro: p.manifest.vmTypeName };
}

/**
 * KSFT_PLATFORM's VM type, skipping (TEST_REQUIRE) unless KVM offers it and, with
 * `privateMem`, its VMs support the PRIVATE attribute.
 */
export function requirePlatformVmType(opts: { privateMem?: boolean } = {}): PlatformVmType {
  const name = ksftEnv().KSFT_PLATFORM;
  const plat = platformVmType(name);
  const b = kvmBackend();
  if (plat.type < 32) {
    TEST_REQUIRE(((kvmCheckCap(KVM_CAP_VM_TYPES) >>> plat.type) & 1) !== 0, `kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(${plat.macro})`);
  }
  const kvmFd = openKvmDevPathOrExit();
  const vm = b.ioctl(kvmFd, KVM_CREATE_VM, plat.type);
  TEST_REQUIRE(vm.ret >= 0, `vm_create_barebones_type(${plat.macro})`);
  if (opts.privateMem) {
    const [cap, name] = kvmHasGmemAttributes()
      ? [KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, 'KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES']
      : [KVM_CAP_MEMORY_ATTRIBUTES, 'KVM_CAP_MEMORY_ATTRIBUTES'];
    const attrs = b.ioctl(vm.ret, KVM_CHECK_EXTENSION, cap).ret;
    TEST_REQUIRE(attrs > 0 && (BigInt(attrs) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n,
      `vm_check_cap(vm, ${name}) & KVM_MEMORY_ATTRIBUTE_PRIVATE`);
  }
  b.close(vm.ret);
  b.close(kvmFd);
  return plat;
}
