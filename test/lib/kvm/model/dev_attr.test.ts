/** /dev/kvm KVM_HAS_DEVICE_ATTR / KVM_GET_DEVICE_ATTR: the x86 system attributes a platform reports (kvm_arch_dev_ioctl()). */
import t from 'tap';
import { createModelBackend, type ModelBackend } from '../../../../lib/kvm/model/index.js';
import type { ModelPlatform } from '../../../../lib/kvm/model/platform.js';
import { EFAULT, ENXIO } from '../../../../lib/kvm/errno.js';
import { KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SIZEOF_KVM_DEVICE_ATTR } from '../../../../lib/kvm/uapi.js';
import { loadPlatform } from '../../../../lib/platform/loader.js';
import '../../../../lib/kvm_util/platform_types.js'; // registers the built-in platforms with the loader

function attr(group: number, a: bigint, addr: bigint): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_DEVICE_ATTR);
  const d = new DataView(b.buffer);
  d.setUint32(4, group, true);
  d.setBigUint64(8, a, true);
  d.setBigUint64(16, addr, true);
  return b;
}

function withAttr(name: string, answer: (g: number, a: bigint) => bigint | undefined): ModelPlatform {
  return { name, hasPrivateMem: false, preFault: true, attach: () => ({ isPrivateAccess: () => false }), devAttr: answer };
}

/** A model backend with no platform but those a case registers (the built-ins' SEV types answer the attribute). */
function bareBackend(): ModelBackend {
  const b = createModelBackend({ kernel: '6.18' });
  for (const type of b.platforms.types()) b.platforms.unregister(type);
  return b;
}

t.test('nobody reports the attribute → ENXIO; group 0 is not modelled', async (t) => {
  const b = bareBackend();
  const kvm = b.open('/dev/kvm').ret;
  const buf = b.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  t.same(b.ioctl(kvm, KVM_HAS_DEVICE_ATTR, attr(1, 0n, buf)), { ret: -1, errno: ENXIO });
  t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr(1, 0n, buf)), { ret: -1, errno: ENXIO });
  b.registerPlatform(20, withAttr('any', () => 7n));
  t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr(0, 0n, buf)), { ret: -1, errno: ENXIO }, 'group 0');
});

t.test('GET stores the OR of the platforms’ answers at addr; HAS does not write', async (t) => {
  const b = bareBackend();
  b.registerPlatform(20, withAttr('a', (g, a) => (g === 1 && a === 0n ? 0x20n : undefined)));
  b.registerPlatform(21, withAttr('b', (g, a) => (g === 1 && a === 0n ? 0x200n : undefined)));
  const kvm = b.open('/dev/kvm').ret;
  const buf = b.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  b.hostFill(buf, 8, 0xee);
  t.same(b.ioctl(kvm, KVM_HAS_DEVICE_ATTR, attr(1, 0n, buf)), { ret: 0, errno: 0 });
  t.equal(b.hostRead(buf, 1)[0], 0xee);
  t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr(1, 0n, buf)), { ret: 0, errno: 0 });
  t.equal(new DataView(b.hostRead(buf, 8).buffer).getBigUint64(0, true), 0x220n);
  t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr(1, 1n, buf)), { ret: -1, errno: ENXIO }, 'unknown attr');
  t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr(1, 0n, 0x1000n)), { ret: -1, errno: EFAULT }, 'unmapped addr');
  t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, 0), { ret: -1, errno: EFAULT }, 'no struct');
});

t.test('the sev_es and snp plugins report hardware.vmsaFeatures as KVM_X86_SEV_VMSA_FEATURES; plain SEV reports 0', async (t) => {
  const read = (plugins: [number, ModelPlatform][]): bigint => {
    const b = bareBackend();
    for (const [type, p] of plugins) b.registerPlatform(type, p);
    const kvm = b.open('/dev/kvm').ret;
    const buf = b.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
    t.same(b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr(1, 0n, buf)), { ret: 0, errno: 0 });
    return new DataView(b.hostRead(buf, 8).buffer).getBigUint64(0, true);
  };
  const sev = loadPlatform('sev');
  const es = loadPlatform('sev_es');
  t.equal(read([[sev.vmType, sev.model]]), 0n);
  t.equal(read([[sev.vmType, sev.model], [es.vmType, es.model]]), 0x20n);
  const es0 = loadPlatform('sev_es', { hardware: { vmsaFeatures: 0 } });
  t.equal(read([[es0.vmType, es0.model]]), 0n);
  const snp = loadPlatform('snp', { hardware: { vmsaFeatures: 0x220 } });
  t.equal(read([[snp.vmType, snp.model]]), 0x220n);
});
