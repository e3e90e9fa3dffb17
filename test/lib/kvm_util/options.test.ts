import t from 'tap';
import { parseKsftEnv } from '../../../lib/kvm_util/options.js';
import { hexLx } from '../../../lib/kvm_util/assert.js';
import { firstMismatch } from '../../../lib/kvm_util/visibility.js';

t.test('defaults: model, sw_protected, 6.18', async (t) => {
  t.same(parseKsftEnv({}), { ok: true, env: { KSFT_BACKEND: 'model', KSFT_PLATFORM: 'sw_protected', KSFT_KERNEL: '6.18', KSFT_VCPU_TIMEOUT: '60' } });
  t.same(parseKsftEnv({ KSFT_KERNEL: '6.12', KSFT_PLATFORM: 'tdx', KSFT_RANDOM_SEED: '0xdead', KSFT_VCPU_TIMEOUT: '0' }),
    { ok: true, env: { KSFT_BACKEND: 'model', KSFT_PLATFORM: 'tdx', KSFT_KERNEL: '6.12', KSFT_VCPU_TIMEOUT: '0', KSFT_RANDOM_SEED: '0xdead' } });
});

t.test('a bad value names the variable, the value and what is accepted', async (t) => {
  t.same(parseKsftEnv({ KSFT_BACKEND: 'xen' }), { ok: false, error: "KSFT_BACKEND: invalid value 'xen' (expected model|kvm)" });
  t.same(parseKsftEnv({ KSFT_RANDOM_SEED: 'abc' }),
    { ok: false, error: "KSFT_RANDOM_SEED: invalid value 'abc' (expected a 32-bit integer, decimal or 0x-hex)" });
  t.same(parseKsftEnv({ KSFT_VCPU_TIMEOUT: '1.5' }),
    { ok: false, error: "KSFT_VCPU_TIMEOUT: invalid value '1.5' (expected whole seconds, 0 for no watchdog)" });
});

t.test('KSFT_NUMA_NODES: 1..64', async (t) => {
  t.same(parseKsftEnv({ KSFT_NUMA_NODES: '2' }),
    { ok: true, env: { KSFT_BACKEND: 'model', KSFT_PLATFORM: 'sw_protected', KSFT_KERNEL: '6.18', KSFT_VCPU_TIMEOUT: '60', KSFT_NUMA_NODES: '2' } });
  t.equal(parseKsftEnv({ KSFT_NUMA_NODES: '64' }).ok, true);
  for (const bad of ['0', '65', '02', 'x']) {
    t.same(parseKsftEnv({ KSFT_NUMA_NODES: bad }), { ok: false, error: `KSFT_NUMA_NODES: invalid value '${bad}' (expected 1..64, the NUMA nodes of the model's host)` });
  }
});

t.test('%#lx: 0 without prefix, negatives as u64', async (t) => {
  t.equal(hexLx(0), '0');
  t.equal(hexLx(0xaa), '0xaa');
  t.equal(hexLx(-1), '0xffffffffffffffff');
  t.equal(hexLx(true), '0x1');
});

t.test('firstMismatch finds the first differing byte of a large array', async (t) => {
  const a = new Uint8Array(0x201000).fill(0xcc);
  t.equal(firstMismatch(a, 0xcc), -1);
  a[0x1fff43] = 0;
  a[0x200ff0] = 1;
  t.equal(firstMismatch(a, 0xcc), 0x1fff43);
  t.equal(firstMismatch(new Uint8Array([5]), 4), 0);
});
