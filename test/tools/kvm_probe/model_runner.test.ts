import t from 'tap';
import '../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { runOnBackend, SafetyRefusal } from '../../../tools/kvm_probe/model_runner.js';
import { devKvmUsable } from '../../../tools/kvm_probe/real_runner.js';
import { parseScript } from '../../../tools/kvm_probe/script.js';

t.test('a script on the model: names carry fds and addresses; everything is released at the end', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  const calls = parseScript([
    'kvm = open_kvm', 'vm = create_vm kvm 0', 'g = create_gmem vm 0x2000 3', 'fstat g', 'm = mmap g 0x3000 0 3 1',
    'poke m+0x1000 7', 'peek m+0x1000', 'peek m+0x2000', 'cpu = create_vcpu vm 0', 'pre_fault cpu 0 0x1000 0',
    'set_region2 vm 0 4 0 0x2000 m 0 g', 'pre_fault cpu 0 0x2000 0', 'close g', 'close g',
  ].join('\n'));
  const r = runOnBackend(b, calls);
  t.equal(r.length, calls.length);
  t.same(r[3], { line: 4, op: 'fstat', ret: 0, errno: 0, size: '8192', blksize: 4096, mode: 0o100600, ino: r[3]!.ino });
  t.same(r[6], { line: 7, op: 'peek', ret: 0, errno: 0, value: 7 });
  t.same(r[7], { line: 8, op: 'peek', ret: -1, errno: 0, signal: 'SIGBUS' }, 'past i_size');
  t.same(r[9], { line: 10, op: 'pre_fault', ret: -1, errno: 2, gpa: '0', size: '4096' }, 'no slot → ENOENT');
  t.same(r[11], { line: 12, op: 'pre_fault', ret: 0, errno: 0, gpa: '8192', size: '0' });
  t.same(r[13], { line: 14, op: 'close', ret: -1, errno: 9 });
  t.equal(b.fstat(3).ret, -1, 'the script\'s fds are closed afterwards');
  t.same(b.internalErrors, []);
});

t.test('the probe\'s safety refusals apply to the model run too', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  let caught: unknown;
  try {
    runOnBackend(b, parseScript('kvm = open_kvm\nvm = create_vm kvm 0\ng = create_gmem vm 0x10000000 0\nfallocate g 1 0 0x10000000\n'));
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof SafetyRefusal, 'SafetyRefusal');
  t.match(String(caught), /line 4: fallocate allocation of 268435456 bytes refused/);
  t.equal(b.fstat(3).ret, -1, 'released after a refusal');
});

t.test('an unusable /dev/kvm is a reason to skip, with the errno', async (t) => {
  t.match(devKvmUsable('/nonexistent/kvm') ?? '', /cannot open \/nonexistent\/kvm: ENOENT/);
});
