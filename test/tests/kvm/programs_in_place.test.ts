/**
 * The tests/kvm programs on the model's 6.19 and 7.4 profiles, 7.4 with
 * PRIVATE tracked per guest_memfd (kvm.vm_memory_attributes=N, the queued
 * default) and per VM (=Y): every conversion test must pass in both modes,
 * except the in-place test, which needs per-guest_memfd attributes and must
 * say so. private_mem_conversions_test also runs on the confidential
 * platforms, whose conversions go through their own guest protocols.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { builtCollections, cleanEnv, nodeCommand } from '../../lib/kselftest/support.js';

// The programs as the runner starts them: built bundles, plain node.
const OUT = await builtCollections(['kvm'], t);

function run(prog: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, argv] = nodeCommand(join(OUT, 'tests', 'kvm', `${prog}.mjs`), args);
    const child = spawn(cmd, argv, { env: cleanEnv({ KSFT_BACKEND: 'model', KSFT_PLATFORM: '', ...env }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const CONVERSIONS = ['private_mem_conversions_test', 'private_mem_kvm_exits_test', 'pre_fault_memory_test'];

for (const mode of ['N', 'Y']) {
  const env = { KSFT_KERNEL: '7.4', KSFT_VM_MEMORY_ATTRIBUTES: mode };
  for (const prog of CONVERSIONS) {
    t.test(`${prog} passes on 7.4 with vm_memory_attributes=${mode}`, async (t) => {
      const r = await run(prog, env);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, /^Random seed: 0x6b8b4567\n/);
      t.equal(r.stderr, '');
    });
  }
}

t.test('guest_memfd_conversions_test: all nine tests pass with PRIVATE per guest_memfd', async (t) => {
  const r = await run('guest_memfd_conversions_test', { KSFT_KERNEL: '7.4', KSFT_VM_MEMORY_ATTRIBUTES: 'N' });
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const name of ['init_private', 'init_shared', 'indexing', 'before_allocation_shared', 'before_allocation_private',
    'unallocated_folios', 'truncate', 'forked_accesses', 'elevated_refcount']) {
    t.match(r.stdout, new RegExp(`^ok \\d+ gmem_conversions\\.${name}$`, 'm'), name);
  }
  t.match(r.stdout, /# Totals: pass:9 fail:0 xfail:0 xpass:0 skip:0 error:0\n/);
  // One banner: the per-test processes do not print it again.
  t.equal(r.stdout.match(/Random seed/g)?.length, 1);
});

t.test('guest_memfd_conversions_test skips with PRIVATE per VM, naming the capability', async (t) => {
  const r = await run('guest_memfd_conversions_test', { KSFT_KERNEL: '7.4', KSFT_VM_MEMORY_ATTRIBUTES: 'Y' });
  t.equal(r.code, 4);
  t.equal(r.stdout, 'Random seed: 0x6b8b4567\n1..0 # SKIP - Requirement not met: kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE\n');
});

for (const platform of ['tdx', 'snp', 'cca']) {
  t.test(`private_mem_conversions_test in place on ${platform} (7.4, vm_memory_attributes=N)`, async (t) => {
    const r = await run('private_mem_conversions_test', { KSFT_KERNEL: '7.4', KSFT_VM_MEMORY_ATTRIBUTES: 'N', KSFT_PLATFORM: platform });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '');
  });
}

t.test('6.19: guest_memfd_test and the conversion tests pass', async (t) => {
  for (const prog of ['guest_memfd_test', ...CONVERSIONS]) {
    const r = await run(prog, { KSFT_KERNEL: '6.19' });
    t.equal(r.code, 0, `${prog}: ${r.stderr}`);
  }
});

t.test('guest_memfd_test\'s NUMA subtests on a two-node host: 6.19 places folios by the inode\'s policy, 6.18 does not', async (t) => {
  const r = await run('guest_memfd_test', { KSFT_KERNEL: '6.19', KSFT_NUMA_NODES: '2' });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  // Before 6.19 guest_memfd has no vm_ops->set_policy: mbind() only sets the
  // VMA's policy, and numa_allocation sees its pages on node 0.
  const old = await run('guest_memfd_test', { KSFT_KERNEL: '6.18', KSFT_NUMA_NODES: '2' });
  t.not(old.code, 0);
  t.match(old.stdout + old.stderr, /Expected page 0 on node 1, got it on node 0/);
});
