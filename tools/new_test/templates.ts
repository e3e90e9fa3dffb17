// The two shapes of a new selftest that `make new_test` writes: a plain
// program (kvmSelftestMain: one test, exit code 0/4/254, as most of
// tools/testing/selftests/kvm) and a kselftest_harness program (TEST()s,
// one process each, a TAP line per TEST, as tests/coco). Both build a VM
// of KSFT_PLATFORM's type with guest_memfd memory, let the guest and the
// host exchange a page through shared memory and check both sides, so the
// new test passes at once and fails when that exchange breaks. The
// tutorial (docs/tutorial.md) starts from the plain one.

export type Style = 'plain' | 'harness';
export const STYLES: readonly Style[] = ['plain', 'harness'];

export interface TemplateInput {
  /** The test's name: its file is `<name>.ts`. */
  readonly name: string;
  /** The collection, relative to tests/: `kvm`, `coco/tdx`. */
  readonly collection: string;
}

/** `../../` for tests/kvm, `../../../` for tests/coco/tdx: from the test file to the project root. */
export function rootFrom(collection: string): string {
  return '../'.repeat(collection.split('/').length + 1);
}

function header(t: TemplateInput, style: Style): string {
  return `/**
 * ${t.name}: the guest writes a shared page and the host reads it through
 * the slot's shared HVA, then the guest reads what the host wrote back (a
 * shared page is backed by the memslot's userspace_addr: kvm_faultin_pfn(),
 * arch/x86/kvm/mmu/mmu.c). When you change the test, say here what it
 * checks and the kernel rule it rests on.
 *
 * Made by \`make new_test\` (${style}); docs/tutorial.md turns this one into a
 * conversion test. Run it with \`make run_tests TARGETS=${t.collection}\`, or
 * \`make all\` and then \`build/tests/${t.collection}/${t.name}\`. ${platformOf(t.collection)
    ? 'It reads KSFT_BACKEND\n * (model, kvm), KSFT_KERNEL and KSFT_TRACE=1 (docs/platform-helpers.md).'
    : 'It reads\n * KSFT_PLATFORM (sw_protected, tdx, snp, ...), KSFT_BACKEND (model, kvm),\n * KSFT_KERNEL and KSFT_TRACE=1 (docs/platform-helpers.md).'}
 */`;
}

/**
 * The platform a collection is for: tests/coco/<platform> test their own
 * platform; every other collection runs on KSFT_PLATFORM's.
 */
export function platformOf(collection: string): string | undefined {
  return /^coco\/([a-z0-9_]+)$/.exec(collection)?.[1];
}

const body = (platform: string | undefined): string => `  // A VM of ${platform ? `the ${platform} platform` : "KSFT_PLATFORM's type"} with one vCPU and 16 guest_memfd-backed
  // pages at c.gpa (4 GiB); the guest code gets that GPA as \`base\`.
  const c = cocoVmCreate(${platform ? `'${platform}'` : 'ksftPlatform()'}, (g, base) => {${platform === 'pkvm'
    ? "\n    pkvmMemShare(g, base); // pKVM: a page the guest touches is the guest's until it shares it"
    : ''}
    g.memset(base, PAGE, 0xaa); // the guest writes shared memory
    g.sync(1); // GUEST_SYNC(1): the host's turn
    expectGuestSees(g, base, PAGE, 0x55); // what the host wrote in its turn
    g.done();
  });
  cocoLaunch(c); // the platform's launch steps (TDX, SNP, SEV); nothing elsewhere

  await runToUcall(c.vcpu, UCALL_SYNC);
  expectHostSees(c.vm, c.gpa, PAGE, 0xaa); // through the slot's shared HVA
  hostFill(addrGpa2Hva(c.vm, c.gpa), PAGE, 0x55);
  await runToUcall(c.vcpu, UCALL_DONE);
  kvmVmFree(c.vm);`;

/** The new test's source. */
export function renderTest(style: Style, t: TemplateInput): string {
  const root = rootFrom(t.collection);
  const platform = platformOf(t.collection);
  // One import, as kvm_util.h brings <linux/kvm.h> and ucall_common.h
  // along; the harness is a header of its own in C too.
  const imports = `${style === 'harness' ? `import { TEST, TEST_HARNESS_MAIN } from '${root}lib/harness/index.js';\n` : ''}import {
  UCALL_DONE, UCALL_SYNC, addrGpa2Hva, cocoLaunch, cocoVmCreate, expectGuestSees, expectHostSees, hostFill,
  ${platform ? '' : 'ksftPlatform, '}${style === 'plain' ? 'kvmSelftestMain, ' : ''}kvmVmFree, runToUcall,
} from '${root}lib/kvm_util/index.js';${platform === 'pkvm'
    ? `\nimport { pkvmMemShare } from '${root}platforms/pkvm/guest.js';`
    : ''}`;
  const main = style === 'plain'
    ? `kvmSelftestMain(async () => {\n${body(platform)}\n});`
    : `TEST('guest_and_host_exchange_a_page', async () => {\n${body(platform)}\n});\n\nvoid TEST_HARNESS_MAIN();`;
  return `${header(t, style)}\n${imports}\n\nconst PAGE = 4096;\n\n${main}\n`;
}
