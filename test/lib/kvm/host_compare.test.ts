/**
 * Backend.hostCompare, the host memcmp against a pattern behind
 * expectHostSees: the first differing offset or -1, a HostFault where the
 * range runs into memory a real access would fault on, and a mismatch
 * before that fault reported as the mismatch. On the model and, where it
 * can run, the host's /dev/kvm backend (process_vm_readv).
 */
import t from 'tap';
import '../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { HostFault, type Backend } from '../../../lib/kvm/backend.js';
import { createKvmBackend } from '../../../lib/kvm/kvm/index.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../lib/kvm/uapi.js';

const kvm = createKvmBackend();
const backends: Array<[string, Backend | string]> = [['model', createModelBackend({ kernel: '6.18' })], ['kvm', kvm]];

for (const [name, made] of backends) {
  t.test(`hostCompare on the ${name} backend`, { skip: typeof made === 'string' ? made : undefined }, async (t) => {
    const b = made as Backend;
    const base = b.mmap(0n, 0x4000n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
    b.hostFill(base, 0x4000, 0xaa);
    t.equal(b.hostCompare(base, 0x4000, 0xaa), -1, 'all equal: -1');
    t.equal(b.hostCompare(base, 0x4000, 0x1aa), -1, 'the value is a byte (& 0xff)');
    t.equal(b.hostCompare(base, 0, 0x55), -1, 'an empty range is equal');
    b.hostWrite(base + 0x1801n, new Uint8Array([0x11]));
    t.equal(b.hostCompare(base, 0x4000, 0xaa), 0x1801, 'the first differing offset');
    t.equal(b.hostCompare(base + 0x1000n, 0x3000, 0xaa), 0x801, 'relative to the start');
    t.equal(b.hostCompare(base + 0x1802n, 0x2000, 0xaa), -1, 'a range past the difference is equal');
    t.equal(b.hostCompare(base, 0x4000, 0x11), 0, 'another pattern differs at once');

    b.munmap(base + 0x3000n, 0x1000n);
    let fault: unknown;
    try {
      b.hostCompare(base + 0x2000n, 0x2000, 0xaa);
    } catch (e) {
      fault = e;
    }
    t.ok(fault instanceof HostFault, 'running into an unmapped page faults');
    const f = fault as HostFault;
    t.same([f.signal, f.code, f.addr], ['SIGSEGV', 'SEGV_MAPERR', base + 0x3000n], 'SEGV_MAPERR at the first missing byte');
    t.equal(b.hostCompare(base + 0x1000n, 0x3000, 0xaa), 0x801, 'a difference before the fault is the answer');
    b.munmap(base, 0x3000n);
  });
}
