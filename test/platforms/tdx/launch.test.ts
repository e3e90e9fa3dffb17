import t from 'tap';
import { createHash } from 'node:crypto';
import { EEXIST, EINVAL, EIO } from '../../../lib/kvm/errno.js';
import { toHex } from '../../../lib/platform/digest.js';
import { TdxLaunch } from '../../../platforms/tdx/launch.js';
import { Mrtd, expectedMrtd } from '../../../platforms/tdx/mrtd.js';

t.test('the TD build state machine', async (t) => {
  const l = new TdxLaunch();
  t.equal(l.initVcpu(0), EINVAL, 'INIT_VCPU before INIT_VM');
  t.equal(l.initVm(), 0);
  t.equal(l.initVm(), EINVAL);
  t.equal(l.initVcpu(0), 0);
  t.equal(l.initVcpu(0), EINVAL, 'twice');
  t.equal(l.checkAdd(1n, '6.11'), 0);
  l.add(1n, 0x1000n, new Uint8Array(4096), true);
  t.equal(l.checkAdd(1n, '6.11'), EEXIST);
  t.equal(l.checkAdd(1n, '7.0'), EIO);
  t.equal(l.finalize(), 0);
  t.equal(l.checkAdd(2n, '6.11'), EINVAL, 'populate after finalize');
  t.equal(l.finalize(), EINVAL);
});

t.test('KVM_CREATE_VCPU only while initialised (tdx_vcpu_create(): -EIO)', async (t) => {
  const l = new TdxLaunch();
  t.equal(l.vcpuCreate(), EIO, 'before INIT_VM');
  t.equal(l.initVm(), 0);
  t.equal(l.vcpuCreate(), 0, 'after INIT_VM');
  t.equal(l.finalize(), 0);
  t.equal(l.vcpuCreate(), EIO, 'after FINALIZE_VM');
  t.equal(l.initVm(), EINVAL, 'INIT_VM after FINALIZE_VM');
});

t.test('MRTD: PAGE.ADD covers the GPA only, MR.EXTEND the content', async (t) => {
  const a = new Uint8Array(4096).fill(1);
  const b = new Uint8Array(4096).fill(2);
  const unmeasured = (d: Uint8Array) => toHex(expectedMrtd([{ gpa: 0x1000n, data: d, measure: false }]));
  const measured = (d: Uint8Array) => toHex(expectedMrtd([{ gpa: 0x1000n, data: d, measure: true }]));
  t.equal(unmeasured(a), unmeasured(b));
  t.not(measured(a), measured(b));
  t.not(measured(a), unmeasured(a));
  t.not(toHex(expectedMrtd([{ gpa: 0x2000n, data: a, measure: false }])), unmeasured(a));
  const m = new Mrtd();
  m.pageAdd(0x1000n);
  t.equal(m.value.length, 48);
  t.notOk(m.finalised);
});

t.test('MRTD from first principles: one SHA-384 over 128-byte records and MR.EXTEND chunks', async (t) => {
  const page = new Uint8Array(4096).map((_, i) => i * 13);
  // A record: the ASCII operation name zero-padded to 16 bytes, the GPA (u64) at 16, zeros to 128.
  const record = (name: string, gpa: bigint): Buffer => {
    const r = Buffer.alloc(128);
    r.write(name, 0, 'ascii');
    r.writeBigUInt64LE(gpa, 16);
    return r;
  };
  const measured = createHash('sha384').update(record('MEM.PAGE.ADD', 0x3000n));
  for (let off = 0; off < 4096; off += 256) {
    measured.update(record('MR.EXTEND', 0x3000n + BigInt(off))).update(page.subarray(off, off + 256));
  }
  const unmeasured = createHash('sha384').update(record('MEM.PAGE.ADD', 0x3000n));
  t.equal(toHex(expectedMrtd([{ gpa: 0x3000n, data: page, measure: true }])), measured.digest('hex'));
  t.equal(toHex(expectedMrtd([{ gpa: 0x3000n, data: page, measure: false }])), unmeasured.digest('hex'));
  // The model's TD build feeds the same records.
  const l = new TdxLaunch();
  l.initVm();
  l.add(3n, 0x3000n, page, true);
  t.equal(toHex(l.mrtd.finalise()), toHex(expectedMrtd([{ gpa: 0x3000n, data: page, measure: true }])));
});
