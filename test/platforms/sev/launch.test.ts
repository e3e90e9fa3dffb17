import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { EINVAL, EIO } from '../../../lib/kvm/errno.js';
import { DEFAULT_SEV_API, SevLaunch, sevLaunchDigest, sevMeasurement, sevTikFromSession } from '../../../platforms/sev/launch.js';
import { SEV_RET_INVALID_GUEST_STATE } from '../../../platforms/sev/uapi.js';

const init = { vmsaFeatures: 0n, flags: 0, ghcbVersion: 0 };

t.test('the happy path and the measurement a guest owner recomputes', async (t) => {
  const l = new SevLaunch(false);
  t.equal(l.init2(init).errno, 0);
  const session = new Uint8Array(32).fill(5);
  t.equal(l.start(3, session).errno, 0);
  const a = new Uint8Array(64).fill(1);
  const b = new Uint8Array(32).fill(2);
  t.equal(l.updateData(a).errno, 0);
  t.equal(l.updateData(b).errno, 0);
  const mnonce = new Uint8Array(16).fill(9);
  const m = l.measure(mnonce);
  t.equal(m.errno, 0);
  const ld = sevLaunchDigest([a, b]);
  t.same(l.digest, ld);
  t.same(m.blob!.subarray(0, 32), sevMeasurement(sevTikFromSession(session), DEFAULT_SEV_API, 3, ld, mnonce));
  t.same(m.blob!.subarray(32), mnonce);
  t.equal(l.secret().errno, 0);
  t.equal(l.finish().errno, 0);
  t.equal(l.state, 'running');
});

t.test('wrong states are the firmware INVALID_GUEST_STATE', async (t) => {
  const l = new SevLaunch(false);
  l.init2(init);
  t.same(l.updateData(new Uint8Array(16)), { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE });
  l.start(0);
  t.same(l.secret(), { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE });
  t.same(l.finish(), { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE });
  l.measure();
  l.finish();
  t.same(l.updateData(new Uint8Array(16)), { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE });
});

t.test('INIT2 rules', async (t) => {
  const l = new SevLaunch(false);
  t.equal(l.init2({ ...init, flags: 1 }).errno, EINVAL);
  t.equal(l.init2({ ...init, vmsaFeatures: 1n }).errno, EINVAL);
  t.equal(l.init2(init).errno, 0);
  t.equal(l.init2(init).errno, EINVAL, 'twice');
  const es = new SevLaunch(true);
  t.equal(es.init2({ vmsaFeatures: 1n << 5n, flags: 0, ghcbVersion: 1 }).errno, 0);
  // Only the supported VMSA features: every other bit is EINVAL on SEV-ES too.
  for (let bit = 0n; bit < 64n; bit++) {
    if (bit === 5n) continue;
    t.equal(new SevLaunch(true).init2({ vmsaFeatures: 1n << bit, flags: 0, ghcbVersion: 1 }).errno, EINVAL, `vmsa_features bit ${bit}`);
  }
  t.equal(new SevLaunch(true, undefined, 0n).init2({ vmsaFeatures: 1n << 5n, flags: 0, ghcbVersion: 1 }).errno, EINVAL, 'DEBUG_SWAP when the part lacks it');
  t.equal(new SevLaunch(true).init2({ vmsaFeatures: 0n, flags: 0, ghcbVersion: 3 }).errno, EINVAL, 'ghcb_version above GHCB_VERSION_MAX');
  t.equal(new SevLaunch(false).updateVmsa([]).errno, EINVAL, 'UPDATE_VMSA is SEV-ES only');
});

t.test('INIT2 once vCPUs exist is EINVAL and leaves the VM uninitialised (__sev_guest_init(): kvm->created_vcpus)', async (t) => {
  for (const es of [false, true]) {
    const l = new SevLaunch(es);
    t.equal(l.init2(init, 1).errno, EINVAL, `${es ? 'SEV-ES' : 'SEV'}: one vCPU`);
    t.equal(l.state, 'uninit');
    t.same(l.start(0), { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE }, 'nothing to launch');
    t.equal(l.init2(init, 0).errno, 0, 'the same request without vCPUs');
  }
  // The vCPU check comes before the struct: a bad flag with vCPUs is the same EINVAL.
  t.equal(new SevLaunch(false).init2({ ...init, flags: 1 }, 2).errno, EINVAL);
});

t.test('SEV-ES measures the VMSAs', async (t) => {
  const run = (vmsa: boolean): Uint8Array => {
    const l = new SevLaunch(true);
    l.init2({ vmsaFeatures: 0n, flags: 0, ghcbVersion: 1 });
    l.start(4);
    l.updateData(new Uint8Array(16));
    if (vmsa) l.updateVmsa([new Uint8Array(4096).fill(1)]);
    l.measure(new Uint8Array(16));
    return l.digest!;
  };
  t.notSame(run(true), run(false));
});

t.test('LAUNCH_MEASURE from first principles: HMAC-SHA256 under the TIK over 0x04, API version, policy, digest and MNONCE', async (t) => {
  const session = new Uint8Array(64).fill(0x33);
  const data = new Uint8Array(4096).map((_, i) => i * 3);
  const mnonce = new Uint8Array(16).map((_, i) => 0xf0 + i);
  const l = new SevLaunch(false);
  t.equal(l.init2(init).errno, 0);
  t.equal(l.start(0x5, session).errno, 0);
  t.equal(l.updateData(data).errno, 0);
  const m = l.measure(mnonce);
  t.equal(m.errno, 0);
  // The model's TIK: the first 16 bytes of SHA-256 over the session blob.
  const tik = createHash('sha256').update(session).digest().subarray(0, 16);
  const ld = createHash('sha256').update(data).digest();
  const policy = Buffer.alloc(4);
  policy.writeUInt32LE(0x5);
  const want = createHmac('sha256', tik)
    .update(Buffer.from([0x04, DEFAULT_SEV_API.major, DEFAULT_SEV_API.minor, DEFAULT_SEV_API.build]))
    .update(policy).update(ld).update(mnonce).digest('hex');
  t.equal(Buffer.from(m.blob!.subarray(0, 32)).toString('hex'), want);
  t.same(m.blob!.subarray(32), mnonce);
});
