/**
 * Whether this KVM offers a platform, as a C test says it with TEST_REQUIRE:
 * the VM type must be in KVM_CAP_VM_TYPES (x86) or creatable (the arm64
 * machine-type bits), and every capability the manifest lists must be
 * reported. Returns the skip reason, or null.
 */
import type { Backend } from '../kvm/backend.js';
import {
  CAP_NAMES, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_VM_TYPES, KVM_CHECK_EXTENSION, KVM_CREATE_VM,
} from '../kvm/uapi.js';
import type { PlatformPlugin } from './types.js';

const CAP_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(CAP_NAMES).map(([n, name]) => [name, Number(n)]));

export function capNumber(name: string): number | undefined {
  return CAP_BY_NAME.get(name);
}

/**
 * Whether this KVM offers the platform: null, or the skip reason naming the
 * platform and what is missing (the VM type, a required capability).
 */
export function probePlatform(plugin: PlatformPlugin, b: Backend): string | null {
  const m = plugin.manifest;
  const kvm = b.open('/dev/kvm', 2);
  if (kvm.ret < 0) return `platform ${m.name}: cannot open /dev/kvm`;
  try {
    if (m.vmType < 32) {
      const types = b.ioctl(kvm.ret, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES).ret;
      if (types < 0 || ((types >>> m.vmType) & 1) === 0) return `platform ${m.name}: kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(${m.vmTypeName})`;
    } else {
      const vm = b.ioctl(kvm.ret, KVM_CREATE_VM, m.vmType);
      if (vm.ret < 0) return `platform ${m.name}: vm_create_barebones_type(${m.vmTypeName})`;
      b.close(vm.ret);
    }
    const has = (cap: number): boolean => b.ioctl(kvm.ret, KVM_CHECK_EXTENSION, cap).ret > 0;
    for (const name of m.requiredCaps) {
      const cap = capNumber(name);
      if (cap !== undefined && has(cap)) continue;
      // 7.4 with kvm.vm_memory_attributes=N tracks PRIVATE per guest_memfd:
      // the per-VM capability is 0 there and the guest_memfd one stands in
      // for it, as the selftests' vm_mem_set_memory_attributes() chooses.
      if (cap === KVM_CAP_MEMORY_ATTRIBUTES && has(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)) continue;
      return `platform ${m.name}: kvm_has_cap(${name})`;
    }
    return null;
  } finally {
    b.close(kvm.ret);
  }
}
