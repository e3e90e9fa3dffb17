import t from 'tap';
import { toHex } from '../../../lib/platform/digest.js';
import { rimDataDescriptor, rimRecDescriptor } from '../../../platforms/cca/model.js';
import { KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, decodeRmiPopulate, encodeRmiPopulate } from '../../../platforms/cca/uapi.js';

t.test('RIM descriptors: content hashed only with MEASURE', async (t) => {
  const a = new Uint8Array(4096).fill(1);
  const b = new Uint8Array(4096).fill(2);
  t.equal(toHex(rimDataDescriptor(0x1000n, 0, a)), toHex(rimDataDescriptor(0x1000n, 0, b)));
  t.not(toHex(rimDataDescriptor(0x1000n, KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, a)), toHex(rimDataDescriptor(0x1000n, KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, b)));
  t.not(toHex(rimRecDescriptor(0)), toHex(rimRecDescriptor(1)));
});

t.test('kvm_arm_rmi_populate round-trips', async (t) => {
  const p = { base: 0x1000n, size: 0x2000n, sourceUaddr: 0x7f0000000000n, flags: 1 };
  t.same(decodeRmiPopulate(encodeRmiPopulate(p)), p);
});
