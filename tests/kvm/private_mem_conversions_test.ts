/**
 * private_mem_conversions_test: vCPUs convert their own ranges of one
 * guest_memfd between private and shared with KVM_HC_MAP_GPA_RANGE, and
 * check after every step what the guest sees and what the host sees through
 * the shared HVA (private data never shows through; shared data the host
 * writes reaches the guest; a punched private page reads back zeros).
 *
 * Concurrency: each vCPU's host loop (run, handle the MAP_GPA_RANGE exit or
 * the ucall, run again) is its own async task, and all start together once
 * every vCPU is set up, as the C program's pthreads spin on `run_vcpus`.
 * The model's KVM_RUN yields to the event loop while the guest executes and
 * at every exit, so the vCPUs' conversions, fallocates and host checks
 * really interleave over the shared guest_memfd and memslots.
 *
 * Options as in C: -n nr_vcpus, -m nr_memslots, -s backing src (anonymous
 * or shmem), -h. The VM type is KSFT_PLATFORM's (default sw_protected).
 *
 * 7.4 with PRIVATE tracked per guest_memfd (kvm_has_gmem_attributes; "KVM:
 * selftests: Update private_mem_conversions_test to mmap() guest_memfd"):
 * the guest_memfd is created MMAP|INIT_SHARED and is itself the memslots'
 * shmem backing, conversions go through vm_mem_set_memory_attributes(), and
 * the host's look at a private page takes SIGBUS instead of seeing the old
 * shared data; every converted page is checked to be the guest's own page
 * (TEST_ASSERT_SAME_BACKING). The reset after each range comes after the
 * punch of the whole range ("KVM: selftests: Reset shared memory after
 * hole-punching"), since with one backing the punch zeroes the reset.
 */
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_EXIT_HYPERCALL, KVM_EXIT_HYPERCALL, KVM_EXIT_IO,
  KVM_HC_MAP_GPA_RANGE, KVM_MEM_GUEST_MEMFD, KVM_MEMORY_ATTRIBUTE_PRIVATE, PAGE_SHIFT, PAGE_SIZE, SZ_2M, UCALL_ABORT, UCALL_DONE,
  UCALL_SYNC } from '../../lib/kvm/uapi.js';
import { strerror } from '../../lib/kvm/errno.js';
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { kvmHypercallMapGpaRange } from '../../lib/guest/helpers.js';
import { writeStdout } from '../../lib/kselftest/index.js';
import { loadPlatformOrExit, type ConversionRequest } from '../../lib/platform/index.js';
import {
  KVM_IOCTL_ERROR, atoiPositive, backingSrcHelp, getopt, parseBackingSrcType, TEST_REQUIRE, _vcpuRun, ksftEnv, requirePlatformVmType, REPORT_GUEST_ASSERT, TEST_ASSERT, TEST_FAIL, __vmCreateWithVcpus, addrGpa2Hva,
  close, exitReasonStr, expectGuestSees, expectHostSees, fallocate, getUcall, hostFill, hostRead, kvmHasGmemAttributes, kvmSelftestMain,
  kvmVmFree, TEST_ASSERT_SAME_BACKING, TEST_EXPECT_SIGBUS, vcpuArgsSet, vcpuRun, vmCreateGuestMemfd, vmEnableCap, vmGuestMemFallocate,
  vmMemAdd, vmMemSetMemoryAttributes, vmShape, VM_MEM_SRC_ANONYMOUS, VM_MEM_SRC_SHMEM, type BackingSrc, type KvmVcpu, type KvmVm,
} from '../../lib/kvm_util/index.js';

const BASE_DATA_SLOT = 10;
const BASE_DATA_GPA = 1n << 32n;
const PER_CPU_DATA_SIZE = SZ_2M + PAGE_SIZE;

/* The guest→host sync commands (args[0] of GUEST_SYNC). */
const SYNC_SHARED = 0n;
const SYNC_PRIVATE = 1n;

/* The test's own MAP_GPA_RANGE flag bits: KVM passes a2 through unvalidated. */
const MAP_GPA_SET_ATTRIBUTES = 1n << 0n;
const MAP_GPA_SHARED = 1n << 1n;
const MAP_GPA_DO_FALLOCATE = 1n << 2n;

/*
 * Platforms whose conversion call does not pass a2 through (TDX MapGPA, SNP
 * PSC, CCA RSI_IPA_STATE_SET) send the flags in a GUEST_SYNC first, and a
 * punch without conversion is a GUEST_SYNC of its own.
 */
const SYNC_MAP_FLAGS = 2n;
const SYNC_PUNCH_HOLE = 3n;

/** KSFT_PLATFORM's plugin: how a guest converts there and how the exit decodes. */
const plugin = loadPlatformOrExit(ksftEnv().KSFT_PLATFORM);
const conv = plugin.conversion && !plugin.conversion.passesRawFlags ? plugin.conversion : null;
/** The flags of each vCPU's pending conversion (SYNC_MAP_FLAGS). */
const mapFlags = new Map<KvmVcpu, bigint>();

/** GUEST_SYNC5(SYNC_SHARED, gpa, size, cur, new): the host checks `cur` and writes `new`. */
function guestSyncShared(g: GuestBuilder, gpa: bigint, size: number, current: number, next: number): void {
  g.syncN(SYNC_SHARED, gpa, size, current, next);
}

/** GUEST_SYNC4(SYNC_PRIVATE, gpa, size, pattern): the host's shared view must still hold `pattern`. */
function guestSyncPrivate(g: GuestBuilder, gpa: bigint, size: number, pattern: number): void {
  g.syncN(SYNC_PRIVATE, gpa, size, pattern);
}

function guestMapMem(g: GuestBuilder, gpa: bigint, size: number, mapShared: boolean, doFallocate: boolean): void {
  let flags = MAP_GPA_SET_ATTRIBUTES;
  if (mapShared) flags |= MAP_GPA_SHARED;
  if (doFallocate) flags |= MAP_GPA_DO_FALLOCATE;
  if (conv) {
    g.syncN(SYNC_MAP_FLAGS, flags);
    conv.convert(g, gpa, BigInt(size), !mapShared);
    return;
  }
  kvmHypercallMapGpaRange(g, gpa, size, flags);
}

const guestMapShared = (g: GuestBuilder, gpa: bigint, size: number, doFallocate: boolean): void => guestMapMem(g, gpa, size, true, doFallocate);
const guestMapPrivate = (g: GuestBuilder, gpa: bigint, size: number, doFallocate: boolean): void => guestMapMem(g, gpa, size, false, doFallocate);

/** memcmp_g(): the guest's check, reported as "Guest expected ... at offset ... (gpa ...), got ...". */
const memcmpG = (g: GuestBuilder, gpa: bigint, pattern: number, size: number): void => expectGuestSees(g, gpa, size, pattern);

/** Offsets and sizes inside a vCPU's range, straddling page and 2M boundaries. */
const TEST_RANGES: readonly { offset: number; size: number }[] = [
  { offset: 0, size: PAGE_SIZE },
  { offset: 0, size: SZ_2M },
  { offset: PAGE_SIZE, size: PAGE_SIZE },
  { offset: PAGE_SIZE, size: SZ_2M },
  { offset: SZ_2M, size: PAGE_SIZE },
];

function guestTestExplicitConversion(g: GuestBuilder, baseGpa: bigint, doFallocate: boolean): void {
  const defP = 0xaa;
  const initP = 0xcc;

  // A new VM's memory is shared.
  g.memset(baseGpa, PER_CPU_DATA_SIZE, defP);
  memcmpG(g, baseGpa, defP, PER_CPU_DATA_SIZE);
  guestSyncShared(g, baseGpa, PER_CPU_DATA_SIZE, defP, initP);

  memcmpG(g, baseGpa, initP, PER_CPU_DATA_SIZE);

  for (const r of TEST_RANGES) {
    const gpa = baseGpa + BigInt(r.offset);
    const size = r.size;
    const p1 = 0x11;
    const p2 = 0x22;
    const p3 = 0x33;
    const p4 = 0x44;

    // Pattern one marks the target against the rest of the range (initial pattern).
    g.memset(gpa, size, p1);

    // To private: the guest's private writes must not reach the host's shared view,
    // and the rest of the range keeps the initial pattern. Old private contents are
    // not guaranteed after a punch, so only freshly written data is checked.
    guestMapPrivate(g, gpa, size, doFallocate);

    if (size > PAGE_SIZE) {
      g.memset(gpa, PAGE_SIZE, p2);
    } else {
      g.memset(gpa, size, p2);
      guestSyncPrivate(g, gpa, size, p1);

      memcmpG(g, gpa, p2, size);
      if (gpa > baseGpa) memcmpG(g, baseGpa, initP, Number(gpa - baseGpa));
      if (gpa + BigInt(size) < baseGpa + BigInt(PER_CPU_DATA_SIZE)) {
        memcmpG(g, gpa + BigInt(size), initP, Number(baseGpa + BigInt(PER_CPU_DATA_SIZE) - (gpa + BigInt(size))));
      }

      // Odd frames back to shared: holes inside a private range.
      for (let j = 0; j < size; j += PAGE_SIZE) {
        if ((j >> PAGE_SHIFT) & 1) {
          guestMapShared(g, gpa + BigInt(j), PAGE_SIZE, doFallocate);
          guestSyncShared(g, gpa + BigInt(j), PAGE_SIZE, p1, p3);
          memcmpG(g, gpa + BigInt(j), p3, PAGE_SIZE);
        } else {
          guestSyncPrivate(g, gpa + BigInt(j), PAGE_SIZE, p1);
        }
      }
    }

    // Everything back to shared; pattern three fills the even frames before the host checks it.
    guestMapShared(g, gpa, size, doFallocate);
    g.memset(gpa, size, p3);
    guestSyncShared(g, gpa, size, p3, p4);
    memcmpG(g, gpa, p4, size);

    // PUNCH_HOLE all private memory so that the next range starts from a clean guest_memfd.
    guestMapShared(g, baseGpa, PER_CPU_DATA_SIZE, true);

    // The punch zeroed the private pages, and with in-place conversion the shared ones
    // too: reset the whole shared range for the next range.
    g.memset(baseGpa, PER_CPU_DATA_SIZE, initP);
  }
}

/** "Map shared" by fallocate only: PUNCH_HOLE without changing the attributes. */
function guestPunchHole(g: GuestBuilder, gpa: bigint, size: number): void {
  if (conv) {
    g.syncN(SYNC_PUNCH_HOLE, gpa, size);
    conv.reacquire(g, gpa, BigInt(size));
    return;
  }
  kvmHypercallMapGpaRange(g, gpa, size, MAP_GPA_SHARED | MAP_GPA_DO_FALLOCATE);
}

/**
 * PUNCH_HOLE really frees private memory: it zaps the guest's mappings and the
 * next fault allocates a zeroed page.
 */
function guestTestPunchHole(g: GuestBuilder, baseGpa: bigint, precise: boolean): void {
  const initP = 0xcc;

  guestMapPrivate(g, baseGpa, PER_CPU_DATA_SIZE, false);

  for (const r of TEST_RANGES) {
    const gpa = baseGpa + BigInt(r.offset);
    const size = r.size;

    // Free everything first, so that ranges do not influence each other.
    guestPunchHole(g, baseGpa, PER_CPU_DATA_SIZE);

    if (precise) {
      g.memset(gpa, size, initP);
      memcmpG(g, gpa, initP, size);
    } else {
      g.memset(baseGpa, PER_CPU_DATA_SIZE, initP);
      memcmpG(g, baseGpa, initP, PER_CPU_DATA_SIZE);
    }

    guestPunchHole(g, gpa, size);
    memcmpG(g, gpa, 0, size);
  }
}

const guestCode = (g: GuestBuilder, baseGpa: bigint): void => {
  guestTestExplicitConversion(g, baseGpa, false);
  guestTestExplicitConversion(g, baseGpa, true);

  guestTestPunchHole(g, baseGpa, false);
  guestTestPunchHole(g, baseGpa, true);
  g.done();
};

/**
 * vm_mem_set_memory_attributes(), and with in-place conversion the check
 * that the pages converted are the ones the host looks at.
 */
function convertRange(vm: KvmVm, gpa: bigint, size: bigint, toPrivate: boolean): void {
  vmMemSetMemoryAttributes(vm, gpa, size, toPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n);
  if (!kvmHasGmemAttributes()) return;
  for (let p = gpa; p < gpa + size; p += BigInt(vm.pageSize)) TEST_ASSERT_SAME_BACKING(vm, p);
}

function handleExitHypercall(vcpu: KvmVcpu): void {
  const run = vcpu.run;
  const gpa = run.hypercallArg(0);
  const size = run.hypercallArg(1) * BigInt(PAGE_SIZE);
  const flags = run.hypercallArg(2);
  const setAttributes = (flags & MAP_GPA_SET_ATTRIBUTES) !== 0n;
  const mapShared = (flags & MAP_GPA_SHARED) !== 0n;
  const doFallocate = (flags & MAP_GPA_DO_FALLOCATE) !== 0n;
  const vm = vcpu.vm;

  TEST_ASSERT(run.hypercallNr === BigInt(KVM_HC_MAP_GPA_RANGE),
    `Wanted MAP_GPA_RANGE (${KVM_HC_MAP_GPA_RANGE}), got '${run.hypercallNr}'`);

  // To shared: punch the private pages; to private: allocate them.
  if (doFallocate) vmGuestMemFallocate(vm, gpa, size, mapShared);

  if (setAttributes) convertRange(vm, gpa, size, !mapShared);
  run.hypercallRet = 0n;
}

/** The same, for a platform's own conversion exit, with the flags the guest synced before it. */
function handleConversion(vcpu: KvmVcpu, req: ConversionRequest): void {
  const flags = mapFlags.get(vcpu) ?? 0n;
  const mapShared = (flags & MAP_GPA_SHARED) !== 0n;
  TEST_ASSERT(mapShared === !req.toPrivate, `Conversion to ${req.toPrivate ? 'private' : 'shared'} after flags 0x${flags.toString(16)}`);
  if (flags & MAP_GPA_DO_FALLOCATE) vmGuestMemFallocate(vcpu.vm, req.gpa, req.size, mapShared);
  if (flags & MAP_GPA_SET_ATTRIBUTES) convertRange(vcpu.vm, req.gpa, req.size, !mapShared);
  conv!.complete(vcpu.run, 0n);
}

/** One vCPU's host loop: its own async task, interleaving with the others at every KVM_RUN. */
async function testMemConversionsVcpu(vcpu: KvmVcpu): Promise<void> {
  const run = vcpu.run;
  const vm = vcpu.vm;

  for (;;) {
    if (conv) {
      // A CCA conversion is KVM_EXIT_MEMORY_FAULT, which comes with KVM_RUN = -1.
      const r = await _vcpuRun(vcpu);
      const req = conv.decodeExit(run);
      if (req) {
        handleConversion(vcpu, req);
        continue;
      }
      TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_RUN', r.ret, r.errno));
    } else {
      await vcpuRun(vcpu);

      if (run.exitReason === KVM_EXIT_HYPERCALL) {
        handleExitHypercall(vcpu);
        continue;
      }
    }

    TEST_ASSERT(run.exitReason === KVM_EXIT_IO,
      `Wanted KVM_EXIT_IO, got exit reason: ${run.exitReason} (${exitReasonStr(run.exitReason)})`);

    const uc = getUcall(vcpu);
    switch (uc.cmd) {
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc, vcpu);
      // falls through: REPORT_GUEST_ASSERT does not return
      case UCALL_SYNC: {
        const [cmd, gpa, size, cur, next] = uc.args as [bigint, bigint, bigint, bigint, bigint];
        if (cmd === SYNC_MAP_FLAGS) {
          mapFlags.set(vcpu, gpa);
          break;
        }
        if (cmd === SYNC_PUNCH_HOLE) {
          vmGuestMemFallocate(vm, gpa, size, true);
          break;
        }
        TEST_ASSERT(cmd === SYNC_SHARED || cmd === SYNC_PRIVATE, `Unknown sync command '${cmd}'`);
        // Page by page: a range may span memslots, and each page has its own HVA.
        for (let i = 0n; i < size; i += BigInt(vm.pageSize)) {
          const nrBytes = Number(size - i < BigInt(vm.pageSize) ? size - i : BigInt(vm.pageSize));
          const hva = addrGpa2Hva(vm, gpa + i);
          // In place, the host's address is the guest's private page: a touch is SIGBUS.
          // With separate backings the host sees the shared data, whatever the guest did privately.
          if (kvmHasGmemAttributes() && cmd === SYNC_PRIVATE) TEST_EXPECT_SIGBUS(() => hostRead(hva, 1));
          else expectHostSees(vm, gpa + i, nrBytes, Number(cur));
          if (cmd === SYNC_SHARED) hostFill(hva, nrBytes, Number(next));
        }
        break;
      }
      case UCALL_DONE:
        return;
      default:
        TEST_FAIL(`Unknown ucall 0x${uc.cmd.toString(16)}.`);
    }
  }
}

async function testMemConversions(srcType: BackingSrc, nrVcpus: number, nrMemslots: number, vmType: number): Promise<void> {
  // Each vCPU's chunk is naturally aligned to the backing's page size (4K here, 2M at least).
  const alignment = SZ_2M;
  const perCpuSize = Math.ceil(PER_CPU_DATA_SIZE / alignment) * alignment;
  const memfdSize = perCpuSize * nrVcpus;
  const slotSize = Math.floor(memfdSize / nrMemslots);

  TEST_ASSERT(slotSize * nrMemslots === memfdSize,
    `The memfd size (0x${memfdSize.toString(16)}) needs to be cleanly divisible by the number of memslots (${nrMemslots})`);

  const { vm, vcpus } = __vmCreateWithVcpus(vmShape(vmType), nrVcpus, 0, guestCode);

  if (plugin.manifest.arch === 'x86_64') vmEnableCap(vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);

  // In place, the guest_memfd is the only backing: mappable, and shared until the guest converts.
  const gmemFlags = kvmHasGmemAttributes() ? GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED : 0n;
  const memfd = vmCreateGuestMemfd(vm, memfdSize, gmemFlags);

  for (let i = 0; i < nrMemslots; i++) {
    vmMemAdd(vm, srcType, BASE_DATA_GPA + BigInt(slotSize * i), BASE_DATA_SLOT + i, slotSize / vm.pageSize,
      KVM_MEM_GUEST_MEMFD, memfd, slotSize * i, gmemFlags);
  }

  for (let i = 0; i < nrVcpus; i++) vcpuArgsSet(vcpus[i]!, BASE_DATA_GPA + BigInt(i * perCpuSize));

  // What the platform needs before a vCPU may run (TDX: INIT_VCPU, FINALIZE_VM; INIT_VM ran in __vmCreate()).
  const launched = plugin.launchMinimal(vm.backend, vm.fd, vcpus.map((v) => v.fd));
  TEST_ASSERT(launched.ret === 0, KVM_IOCTL_ERROR('KVM_MEMORY_ENCRYPT_OP', launched.ret, launched.errno));

  // All host loops start together (C: the threads spin until run_vcpus is set).
  await Promise.all(vcpus.map((v) => testMemConversionsVcpu(v)));

  kvmVmFree(vm);

  // The guest_memfd holds a reference to its VM: it stays usable after the VM fd is closed.
  let r = fallocate(memfd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, memfdSize);
  TEST_ASSERT(!r.ret, `fallocate() failed, rc: ${r.ret} errno: ${r.errno} (${strerror(r.errno)})`);

  r = fallocate(memfd, FALLOC_FL_KEEP_SIZE, 0, memfdSize);
  TEST_ASSERT(!r.ret, `fallocate() failed, rc: ${r.ret} errno: ${r.errno} (${strerror(r.errno)})`);

  close(memfd);
}

function usage(cmd: string): void {
  writeStdout('\n');
  writeStdout(`usage: ${cmd} [-h] [-m nr_memslots] [-s mem_type] [-n nr_vcpus]\n`);
  writeStdout('\n');
  writeStdout(` -s: specify the type of memory that should be used to\n     back the guest data region. (default: anonymous, shmem in place)\n${backingSrcHelp()}`);
  writeStdout('\n');
  writeStdout(' -n: specify the number of vcpus (default: 1)\n');
  writeStdout('\n');
  writeStdout(' -m: specify the number of memslots (default: 1)\n');
  writeStdout('\n');
}

kvmSelftestMain(async (argv) => {
  // guest_memfd's mmap() needs what shmem has (MAP_SHARED, base pages).
  let srcType: BackingSrc = kvmHasGmemAttributes() ? VM_MEM_SRC_SHMEM : VM_MEM_SRC_ANONYMOUS;
  let nrMemslots = 1;
  let nrVcpus = 1;

  // KSFT_PLATFORM's VM type (C: KVM_X86_SW_PROTECTED_VM), which must have private memory.
  const skip = plugin.genericConversionSkip();
  TEST_REQUIRE(skip === null, skip ?? '');
  const plat = requirePlatformVmType({ privateMem: true });

  const prog = process.argv[1] ?? 'private_mem_conversions_test';
  const opts = getopt(argv, 'hm:s:n:', prog);
  if (!opts.ok) process.stderr.write(opts.error);
  for (const { opt, arg } of opts.options) {
    switch (opt) {
      case 's':
        srcType = parseBackingSrcType(arg!);
        TEST_ASSERT(!kvmHasGmemAttributes() || srcType === VM_MEM_SRC_SHMEM,
          `Testing in-place conversions, only ${VM_MEM_SRC_SHMEM} mem_type supported\n`);
        break;
      case 'n': nrVcpus = atoiPositive('nr_vcpus', arg!); break;
      case 'm': nrMemslots = atoiPositive('nr_memslots', arg!); break;
      default:
        usage(prog);
        process.exit(0);
    }
  }
  if (!opts.ok) {
    usage(prog);
    process.exit(0);
  }

  await testMemConversions(srcType, nrVcpus, nrMemslots, plat.type);
});
