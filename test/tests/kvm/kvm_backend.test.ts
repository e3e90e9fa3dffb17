/**
 * The tests/kvm programs on the host's real /dev/kvm (KSFT_BACKEND=kvm), as
 * built bundles started with plain node, as the runner starts them.
 *
 * On a host kind and kernel listed in HOSTS every program's outcome is
 * asserted exactly: what passes, what skips and with which kselftest
 * reason, and the kernel's known failures with their cause (this file runs
 * in make check on the machine's own kernel, and in make vm_check on the
 * 6.12 kernel in the VM). On any other host each program must end as a
 * kselftest program does (pass, skip, or a failure report), never crash or
 * hang. Without /dev/kvm, or without permission to open it, every program
 * skips the way C's open_path_or_exit() and test_assert() do; those two
 * cases run in a mount namespace without the node, and as an unprivileged
 * user, where this machine allows it.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCollections } from '../../../tools/build/build.js';
import { devKvmUsable, hostKvmKind } from '../../../tools/kvm_probe/real_runner.js';
import { cleanEnv } from '../../lib/kselftest/support.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = `${REPO}tests/kvm/`;
const PROGS = /TEST_GEN_PROGS := (.*)/.exec(readFileSync(`${DIR}Makefile`, 'utf8'))![1]!.trim().split(/\s+/);
/** One MOVE/DELETE loop is enough; the conversion test with two vCPUs over two memslots. */
const ARGS: Record<string, string[]> = { set_memory_region_test: ['1'], private_mem_conversions_test: ['-n', '2', '-m', '2'] };

const OUT = mkdtempSync(join(tmpdir(), 'ksft-kvm-backend-'));
// Readable by the unprivileged user of the EACCES case.
chmodSync(OUT, 0o755);
t.teardown(() => rmSync(OUT, { recursive: true, force: true }));
const built = await buildCollections({ root: REPO, out: OUT, collections: ['kvm'] });
if (built.failures.length > 0) throw new Error(`building tests/kvm: ${built.failures.map((f) => f.message).join('; ')}`);

interface Run { code: number | null; stdout: string; stderr: string }

function run(prog: string, env: Record<string, string> = {}, wrap: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const argv = [...wrap, process.execPath, '--enable-source-maps', join(OUT, 'tests', 'kvm', `${prog}.mjs`), ...(ARGS[prog] ?? [])];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: REPO,
      // A short watchdog: a guest or an ioctl that hangs fails within the test's time.
      env: cleanEnv({ KSFT_BACKEND: 'kvm', KSFT_PLATFORM: '', KSFT_KERNEL: '', KSFT_VCPU_TIMEOUT: '20', ...env }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Expect =
  | { readonly pass: true }
  | { readonly skip: string }
  | { readonly fail: RegExp; readonly why: string };

const SKIP_LINE = (reason: string): string => `Random seed: 0x6b8b4567\n1..0 # SKIP - ${reason}\n`;

const PREFAULT_LIVELOCK =
  'a memslot deleted before KVM_PRE_FAULT_MEMORY leaves the vCPU\'s MMU root obsolete and the prefault retries the fault forever ' +
  '(kvm_tdp_map_page() sees a stale root, RET_PF_RETRY): upstream fixed it in 6.18 with commit 3ccbf6f47098 ("KVM: x86/mmu: Return ' +
  '-EAGAIN if userspace deletes/moves memslot during prefault"), whose regression test this port is; this 6.12 kernel lacks the fix';

/**
 * What each program does on a host kind and kernel this project has
 * measured: `kind` from hostKvmKind(), then ` major.minor` of the release
 * for kernels whose answers are version-specific.
 */
const HOSTS: Readonly<Record<string, Readonly<Record<string, Expect>>>> = {
  'amd 6.12': {
    guest_memfd_test: { pass: true },
    // PRIVATE per guest_memfd is 7.4's; 6.12 has no such capability.
    guest_memfd_conversions_test: { skip: 'Requirement not met: kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE' },
    private_mem_conversions_test: { pass: true },
    private_mem_kvm_exits_test: { pass: true },
    set_memory_region_test: { pass: true },
    pre_fault_memory_test: {
      fail: /pre_fault_memory_test\.ts:\d+: KVM_PRE_FAULT_MEMORY returned\n[\s\S]*KVM_PRE_FAULT_MEMORY did not return within 20 s \(KSFT_VCPU_TIMEOUT\)/,
      why: PREFAULT_LIVELOCK,
    },
  },
  pvm: {
    guest_memfd_test: {
      fail: /guest_memfd_test\.ts:\d+: getUcall\(vcpu\)\.cmd == UCALL_DONE\n[\s\S]*\n  UCALL_NONE \(0\) != UCALL_DONE \(4\) \(getUcall\(vcpu\)\.cmd != UCALL_DONE\)\n  no ucall: the last getUcall\(\) found vCPU 0: KVM_EXIT_MMIO \(6\): read of 1 bytes at gpa 0x100000000, inside slot 1, guest_memfd only \(userspace_addr 0\): KVM should have served it from memory\n$/,
      why: 'kvm_pvm offers GUEST_MEMFD_FLAG_MMAP|INIT_SHARED and accepts a guest_memfd-only memslot (userspace_addr 0), ' +
        'but its shadow MMU resolves the guest\'s access through userspace_addr, finds nothing, and exits KVM_EXIT_MMIO ' +
        'instead of faulting the page in from the guest_memfd; every file-level subtest before the guest part passes',
    },
    guest_memfd_conversions_test: { skip: 'Requirement not met: KVM_CAP_VM_TYPES & BIT(KVM_X86_SW_PROTECTED_VM)' },
    private_mem_conversions_test: { skip: 'Requirement not met: kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)' },
    private_mem_kvm_exits_test: { skip: 'Requirement not met: kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)' },
    set_memory_region_test: { pass: true },
    pre_fault_memory_test: { skip: 'Requirement not met: kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY)' },
  },
};

const unusable = devKvmUsable();
const host = hostKvmKind();
const version = /^(\d+\.\d+)/.exec(release())?.[1] ?? '';
const table = HOSTS[`${host} ${version}`] ?? HOSTS[host];

if (unusable) {
  t.test('KSFT_BACKEND=kvm without a usable /dev/kvm', { skip: `this machine: ${unusable} (the namespace tests below cover it)` }, async () => {});
} else {
  for (const prog of PROGS) {
    t.test(`${prog} on this ${host} host's /dev/kvm (Linux ${release()})`, async (t) => {
      const r = await run(prog);
      t.match(r.stdout, /^Random seed: 0x6b8b4567\n/, 'the seed line first');
      const e = table?.[prog];
      if (!e) {
        // A host kind this project has measured lists every program; on
        // another host only the kselftest way of ending is known.
        t.notOk(table, `${prog} is in the table for ${host} ${version}`);
        t.ok(r.code === 0 || r.code === 4 || r.code === 254, `ends as a kselftest program does (exit ${r.code})`);
        return;
      }
      if ('pass' in e) {
        t.equal(r.code, 0, r.stderr);
        t.equal(r.stderr, '');
      } else if ('skip' in e) {
        t.equal(r.code, 4, r.stderr);
        t.equal(r.stdout, SKIP_LINE(e.skip));
      } else {
        t.equal(r.code, 254, `known failure on ${host}: ${e.why}`);
        t.match(r.stderr, e.fail);
      }
    });
  }
}

/** Whether we may make mount namespaces and switch users (root with util-linux, a kernel with namespaces). */
function privileged(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a mount namespace, another user)';
  for (const tool of ['unshare', 'setpriv']) {
    if (spawnSync(tool, ['--version']).error) return `${tool} (util-linux) is not installed`;
  }
  const ns = spawnSync('unshare', ['-m', 'true'], { encoding: 'utf8' });
  if (ns.status !== 0) return `no mount namespaces here: ${(ns.stderr || '').trim()}`;
  return undefined;
}

const noPriv = privileged();

t.test('no /dev/kvm: every program skips with "Cannot open /dev/kvm: No such file or directory"', { skip: noPriv }, async (t) => {
  // A private /dev with only the nodes Node itself needs.
  const nodes = ([['null', 1, 3], ['zero', 1, 5], ['random', 1, 8], ['urandom', 1, 9]] as const)
    .map(([name, major, minor]) => `mknod -m 666 /dev/${name} c ${major} ${minor}`);
  const script = `mount -t tmpfs tmpfs /dev && ${nodes.join(' && ')} && exec "$@"`;
  for (const prog of PROGS) {
    const r = await run(prog, {}, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh']);
    t.equal(r.code, 4, `${prog}: ${r.stderr}`);
    t.equal(r.stdout, SKIP_LINE('Cannot open /dev/kvm: No such file or directory'), prog);
  }
});

/** A /dev/kvm that an unprivileged user cannot open (udev's usual rule makes it 0666). */
function restricted(): string | undefined {
  try {
    return (statSync('/dev/kvm').mode & 0o006) === 0o006 ? '/dev/kvm is open to every user here' : undefined;
  } catch {
    return 'no /dev/kvm';
  }
}

t.test('/dev/kvm without permission (EACCES): every program skips as test_assert() does', { skip: noPriv ?? restricted() }, async (t) => {
  for (const prog of PROGS) {
    // The test runner re-adds its process hooks to children (NODE_OPTIONS); they cannot write as nobody.
    const r = await run(prog, { HOME: '/tmp' }, ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    t.equal(r.code, 4, `${prog}: ${r.stderr}`);
    t.equal(r.stdout, 'Random seed: 0x6b8b4567\nAccess denied - Exiting, skipping test\n', prog);
  }
});
