/**
 * KSFT_TRACE=1 (lib/kvm_util/trace.ts): the events of a conversion round
 * trip in order on the model, the same lines from the host's real
 * /dev/kvm where it can run the guest, and nothing at all without it.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/trace.ts', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

function run(mode: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], {
      env: { ...process.env, KSFT_BACKEND: '', KSFT_KERNEL: '', KSFT_PLATFORM: '', KSFT_TRACE: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SHARED = [
  'trace: vm1: KVM_CREATE_VM type 0 (KVM_X86_DEFAULT_VM)',
  'trace: vm1: slot 0 gpa [0x0, 0x416000)',
  'trace: vm1: KVM_CREATE_GUEST_MEMFD size 0x4000 flags 0x0',
  'trace: vm1: slot 10 gpa [0x100000000, 0x100004000) guest_memfd offset 0x0',
  'trace: vm1/vcpu0: KVM_EXIT_IO (2): ucall UCALL_SYNC args 0x0 0x7',
  'trace: vm1: fallocate PUNCH_HOLE guest_memfd [0x1000, 0x3000) = gpa [0x100001000, 0x100003000) (slot 10)',
  'trace: vm1/vcpu0: KVM_EXIT_IO (2): ucall UCALL_DONE args 0x0 0x0',
  'trace: vm1: slot 0 deleted',
  'trace: vm1: slot 10 deleted',
  '',
].join('\n');

t.test('a conversion round trip on the model: exits, attribute changes and the punch, in order', async (t) => {
  const r = await run('convert', { KSFT_TRACE: '1' });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'Random seed: 0x6b8b4567\n', 'stdout keeps the test output only');
  t.equal(r.stderr, [
    'trace: vm1: KVM_CREATE_VM type 1 (KVM_X86_SW_PROTECTED_VM)',
    'trace: vm1: slot 0 gpa [0x0, 0x416000)',
    'trace: vm1: KVM_CREATE_GUEST_MEMFD size 0x4000 flags 0x0',
    'trace: vm1: slot 10 gpa [0x100000000, 0x100004000) guest_memfd offset 0x0',
    'trace: vm1/vcpu0: KVM_EXIT_HYPERCALL (3): KVM_HC_MAP_GPA_RANGE gpa 0x100000000 npages 1 attrs 0x10 (to private)',
    'trace: vm1: attributes [0x100000000, 0x100001000) private',
    'trace: vm1/vcpu0: KVM_EXIT_HYPERCALL (3): KVM_HC_MAP_GPA_RANGE gpa 0x100000000 npages 1 attrs 0x0 (to shared)',
    'trace: vm1: attributes [0x100000000, 0x100001000) shared',
    'trace: vm1: fallocate PUNCH_HOLE guest_memfd [0x0, 0x1000) = gpa [0x100000000, 0x100001000) (slot 10)',
    'trace: vm1/vcpu0: KVM_EXIT_IO (2): ucall UCALL_DONE args 0x0 0x0',
    'trace: vm1: slot 0 deleted',
    'trace: vm1: slot 10 deleted',
    '',
  ].join('\n'));
});

t.test('without KSFT_TRACE (or with 0) nothing is traced', async (t) => {
  for (const v of ['', '0']) {
    const r = await run('convert', { KSFT_TRACE: v });
    t.equal(r.code, 0);
    t.equal(r.stderr, '', `KSFT_TRACE='${v}'`);
  }
});

t.test('the same events read the same on the model and on the host\'s /dev/kvm', async (t) => {
  const model = await run('shared', { KSFT_TRACE: '1' });
  t.equal(model.code, 0, model.stderr);
  t.equal(model.stderr, SHARED);
  const kvm = await run('shared', { KSFT_TRACE: '1', KSFT_BACKEND: 'kvm' });
  if (kvm.code === 4) {
    await t.test('kvm backend', { skip: kvm.stdout.split('\n').find((l) => l.startsWith('1..0')) ?? 'skipped' }, async () => {});
    return;
  }
  t.equal(kvm.code, 0, kvm.stderr);
  t.equal(kvm.stderr, SHARED);
});
