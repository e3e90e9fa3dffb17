import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devKvmUsable, prepareProbe, runProbe } from '../../../tools/kvm_probe/real_runner.js';

t.test('no compiler (or no usable /dev/kvm) is a skip with the reason, never a probe', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = prepareProbe(dir, '/nonexistent/cc');
  t.ok('skip' in r, 'skipped');
  if ('skip' in r) t.match(r.skip, devKvmUsable() ? /cannot open \/dev\/kvm/ : /\/nonexistent\/cc not available: ENOENT/);
  t.notOk(existsSync(join(dir, 'kvm_probe')), 'nothing built');
});

const kvm = devKvmUsable();
t.test('a fresh build runs a script and validates its output', kvm ? { skip: kvm } : {}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = prepareProbe(dir);
  if ('skip' in r) {
    t.fail(`unexpected skip: ${r.skip}`);
    return;
  }
  t.equal(r.path, join(dir, 'kvm_probe'));
  const out = runProbe(r.path, 'kvm = open_kvm\ncheck_ext kvm 10\ncheck_ext 999 10\n');
  t.same(out.map((o) => [o.line, o.op, o.errno]), [[1, 'open_kvm', 0], [2, 'check_ext', 0], [3, 'check_ext', 9]]);
  t.ok(out[1]!.ret > 0, 'KVM_CAP_NR_MEMSLOTS is positive');
  t.throws(() => runProbe(r.path, 'frob\n'), /exited 2: kvm_probe: line 1: unknown op 'frob'/);
  t.throws(() => runProbe(r.path, 'kvm = open_kvm\nioctl kvm 0xae80 0\n'), /exited 3: .*KVM_RUN refused/);
});
