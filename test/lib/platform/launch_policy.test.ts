import t from 'tap';
import { PrivateFd, runLaunch } from '../../../lib/platform/launch_policy.js';

t.test('shareable-until-launch closes at the measurement', async (t) => {
  const fd = new PrivateFd('shareable-until-launch');
  t.ok(fd.vmmWrite(0, new Uint8Array([1])).ok);
  fd.measure();
  const r = fd.vmmWrite(0, new Uint8Array([2]));
  t.notOk(r.ok);
  t.equal(fd.bytes[0], 1);
});

t.test('inaccessible refuses the VMM and the kernel copy', async (t) => {
  const fd = new PrivateFd('inaccessible');
  t.notOk(fd.vmmWrite(0, new Uint8Array([1])).ok);
  t.notOk(fd.kernelCopyIn(0, new Uint8Array([1])).ok);
});

t.test('source-copy only takes the kernel copy, and not after launch', async (t) => {
  const fd = new PrivateFd('source-copy');
  t.notOk(fd.vmmWrite(0, new Uint8Array([1])).ok);
  t.ok(fd.kernelCopyIn(0, new Uint8Array([7])).ok);
  fd.measure();
  t.notOk(fd.kernelCopyIn(0, new Uint8Array([8])).ok);
  t.equal(fd.bytes[0], 7);
});

t.test('runLaunch reports the failing step', async (t) => {
  const p = new Uint8Array(16).fill(3);
  t.match(runLaunch('inaccessible', 'in-place', p).detail, /^LAUNCH_UPDATE_DATA never starts/);
  const ok = runLaunch('shareable-until-launch', 'in-place', p);
  t.ok(ok.ok);
  t.notOk(ok.vmmWritableAfterLaunch);
});
