import t from 'tap';
import { encodeUserspaceMemoryRegion2, SIZEOF_KVM_USERSPACE_MEMORY_REGION2, decodeUserspaceMemoryRegion2 } from '../../../lib/kvm/structs.js';

t.test('kvm_userspace_memory_region2 layout', async (t) => {
  const b = encodeUserspaceMemoryRegion2({ slot: 10, flags: 4, guestPhysAddr: 0xc0000000n, memorySize: 0x200000n, userspaceAddr: 0, guestMemfdOffset: 4096, guestMemfd: 7 });
  t.equal(b.byteLength, SIZEOF_KVM_USERSPACE_MEMORY_REGION2);
  const dv = new DataView(b.buffer);
  t.equal(dv.getUint32(0, true), 10);
  t.equal(dv.getBigUint64(8, true), 0xc0000000n);
  t.equal(dv.getBigUint64(32, true), 4096n);
  t.equal(dv.getUint32(40, true), 7);
  t.equal(decodeUserspaceMemoryRegion2(b).memorySize, 0x200000n);
});
