/**
 * Every tests/kvm program on the model, for the 6.12 and 6.18 profiles:
 * it must exit 0 and print the seed line first, or skip for the one
 * reason its kernel gives. (6.19 and 7.4: programs_in_place.test.ts; the
 * same programs on the host's real /dev/kvm: kvm_backend.test.ts.)
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtCollections, cleanEnv, nodeCommand } from '../../lib/kselftest/support.js';

const DIR = fileURLToPath(new URL('../../../tests/kvm/', import.meta.url));
// The programs as the runner starts them: built bundles, plain node.
const OUT = await builtCollections(['kvm'], t);
const PROGS = /TEST_GEN_PROGS := (.*)/.exec(readFileSync(`${DIR}Makefile`, 'utf8'))![1]!.trim().split(/\s+/);

function run(prog: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, argv] = nodeCommand(join(OUT, 'tests', 'kvm', `${prog}.mjs`), args);
    const child = spawn(cmd, argv, { env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The upstream programs are listed; a test added to the collection joins
// the loops below like them (it must pass on the model too).
for (const upstream of ['guest_memfd_test', 'guest_memfd_conversions_test', 'private_mem_conversions_test', 'private_mem_kvm_exits_test',
  'set_memory_region_test', 'pre_fault_memory_test']) t.ok(PROGS.includes(upstream), `tests/kvm lists ${upstream}`);

/** One MOVE and one DELETE loop of set_memory_region_test is enough to check it; ten take 20 s. */
const ARGS: Record<string, string[]> = { set_memory_region_test: ['1'] };
/** Before 7.4 no guest_memfd takes attributes: the in-place test must skip, and say why. */
const SKIPS: Record<string, string> = {
  guest_memfd_conversions_test: 'kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE',
};

for (const kernel of ['6.12', '6.18']) {
  for (const prog of PROGS) {
    const skip = SKIPS[prog];
    t.test(`${prog} ${skip ? 'skips' : 'passes'} on the model, KSFT_KERNEL=${kernel}`, async (t) => {
      const r = await run(prog, { KSFT_BACKEND: 'model', KSFT_KERNEL: kernel, KSFT_PLATFORM: '' }, ARGS[prog]);
      if (skip) {
        t.equal(r.code, 4, r.stderr);
        t.equal(r.stdout, `Random seed: 0x6b8b4567\n1..0 # SKIP - Requirement not met: ${skip}\n`);
      } else {
        t.equal(r.code, 0, r.stderr);
        t.match(r.stdout, /^Random seed: 0x6b8b4567\n/);
      }
      t.equal(r.stderr, '');
    });
  }
}

t.test('set_memory_region_test prints what the C program prints', async (t) => {
  const r = await run('set_memory_region_test', { KSFT_KERNEL: '6.18' }, ['2']);
  t.equal(r.stdout, [
    'Random seed: 0x6b8b4567',
    'Testing KVM_RUN with zero added memory regions',
    'Allowed number of memory slots: 32764',
    'Adding slots 0..32763, each memory region with 2048K size',
    'Testing ADD of KVM_MEM_GUEST_MEMFD memory regions',
    'Testing ADD of overlapping KVM_MEM_GUEST_MEMFD memory regions',
    'Testing MOVE of in-use region, 2 loops, slot zap quirk enabled',
    'Testing DELETE of in-use region, 2 loops, slot zap quirk enabled',
    'Testing MOVE of in-use region, 2 loops, slot zap quirk disabled',
    'Testing DELETE of in-use region, 2 loops, slot zap quirk disabled',
    '',
  ].join('\n'));
  const bad = await run('set_memory_region_test', {}, ['0']);
  t.equal(bad.code, 254);
  t.match(bad.stderr, /Number of iterations must be greater than 0, got '0'/);
});

t.test('private_mem_conversions_test with several vCPUs and memslots', async (t) => {
  const r = await run('private_mem_conversions_test', { KSFT_KERNEL: '6.18' }, ['-n', '2', '-m', '2']);
  t.equal(r.code, 0, r.stderr);
  const bad = await run('private_mem_conversions_test', {}, ['-n', '2', '-m', '3']);
  t.equal(bad.code, 254);
  t.match(bad.stderr, /The memfd size \(0x800000\) needs to be cleanly divisible by the number of memslots \(3\)/);
});

t.test('the SW_PROTECTED tests skip on a KSFT_PLATFORM without private memory', async (t) => {
  // The conversion test names the platform and what it lacks (its plugin's genericConversionSkip()).
  const reasons: Record<string, string> = {
    private_mem_conversions_test: 'platform default: no private memory attribute (KVM_X86_DEFAULT_VM has KVM_CAP_MEMORY_ATTRIBUTES = 0), conversion is "none"',
    private_mem_kvm_exits_test: 'vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE',
  };
  for (const [prog, reason] of Object.entries(reasons)) {
    const r = await run(prog, { KSFT_PLATFORM: 'default' });
    t.equal(r.code, 4, prog);
    t.equal(r.stdout, `Random seed: 0x6b8b4567\n1..0 # SKIP - Requirement not met: ${reason}\n`);
  }
});
