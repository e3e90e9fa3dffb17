/**
 * private_mem_conversions_test: vCPUs convert their own ranges of one
 * guest_memfd between private and shared, and check after every step what
 * the guest and the host (through the shared HVA) see.
 *
 * The conversion is KSFT_PLATFORM's own call (raw KVM_HC_MAP_GPA_RANGE on
 * SW_PROTECTED, MapGPA + ACCEPT on TDX, PSC + PVALIDATE on SNP,
 * RSI_IPA_STATE_SET on CCA) carrying the test's flags, and the host
 * decodes every platform's request alike (vcpuRunConversion()). Where
 * guests cannot ask the host to convert the test skips with the platform's
 * reason: SEV and SEV-ES have no private guest_memfd, pKVM shares at EL2
 * without telling the VMM, the default VM has no private memory.
 *
 * One async host loop per vCPU, all started together (C: pthreads spinning
 * on `run_vcpus`); the model's KVM_RUN yields at every exit, so the vCPUs'
 * conversions, fallocates and host checks interleave.
 *
 * 7.4 with PRIVATE per guest_memfd (kvm_has_gmem_attributes): the
 * guest_memfd is MMAP|INIT_SHARED and itself the memslots' shmem backing,
 * a host look at a private page is SIGBUS, every converted page must be
 * the guest's own (TEST_ASSERT_SAME_BACKING), and the reset after each
 * range follows the punch of the whole range, which zeroes it.
 */
import {
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_EXIT_IO, KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE, PAGE_SHIFT, PAGE_SIZE, SZ_2M, UCALL_ABORT, UCALL_DONE, UCALL_SYNC, REPORT_GUEST_ASSERT, TEST_ASSERT,
  TEST_ASSERT_SAME_BACKING, TEST_EXPECT_SIGBUS, TEST_FAIL, VM_MEM_SRC_ANONYMOUS, VM_MEM_SRC_SHMEM, __vmCreateWithVcpus, addrGpa2Hva,
  atoiPositive, backingSrcHelp, close, cocoLaunch, exitReasonStr, expectGuestSees, expectHostSees, fallocate, getUcall, getoptLoop,
  hostFill, hostRead, ksftPlatformPlugin, kvmHasGmemAttributes, kvmSelftestMain, kvmVmFree, parseBackingSrcType, requireConversion,
  requirePlatformVmType, strerror, vcpuArgsSet, vcpuRunConversion, vmCreateGuestMemfd, vmEnableConversionExits,
  vmGuestMemFallocate, vmMemAdd, vmMemSetMemoryAttributes, vmShape, type BackingSrc, type ConversionRequest, type GuestBuilder,
  type GuestConversion, type KvmVcpu, type KvmVm, type PlatformPlugin,
} from '../../lib/kvm_util/index.js';

const BASE_DATA_SLOT = 10;
const BASE_DATA_GPA = 1n << 32n;
const PER_CPU_DATA_SIZE = SZ_2M + PAGE_SIZE;

/* The guest→host sync commands (args[0] of GUEST_SYNC). */
const SYNC_SHARED = 0n;
const SYNC_PRIVATE = 1n;

/* The test's own flags: opaque to KVM and to the platform, they ride with the conversion. */
const MAP_GPA_SET_ATTRIBUTES = 1n << 0n;
const MAP_GPA_SHARED = 1n << 1n;
const MAP_GPA_DO_FALLOCATE = 1n << 2n;

/** KSFT_PLATFORM's plugin and its conversion call (main() sets both before any guest code is recorded). */
let plugin: PlatformPlugin;
let conv: GuestConversion;

/** GUEST_SYNC5(SYNC_SHARED, gpa, size, cur, new): the host checks `cur` and writes `new`. */
const guestSyncShared = (g: GuestBuilder, gpa: bigint, size: number, current: number, next: number): void =>
  g.syncN(SYNC_SHARED, gpa, size, current, next);

/** GUEST_SYNC4(SYNC_PRIVATE, gpa, size, pattern): the host's shared view must still hold `pattern`. */
const guestSyncPrivate = (g: GuestBuilder, gpa: bigint, size: number, pattern: number): void => g.syncN(SYNC_PRIVATE, gpa, size, pattern);

function guestMapMem(g: GuestBuilder, gpa: bigint, size: number, mapShared: boolean, doFallocate: boolean): void {
  let flags = MAP_GPA_SET_ATTRIBUTES;
  if (mapShared) flags |= MAP_GPA_SHARED;
  if (doFallocate) flags |= MAP_GPA_DO_FALLOCATE;
  conv.convert(g, gpa, size, !mapShared, flags);
}

const guestMapShared = (g: GuestBuilder, gpa: bigint, size: number, doFallocate: boolean): void => guestMapMem(g, gpa, size, true, doFallocate);
const guestMapPrivate = (g: GuestBuilder, gpa: bigint, size: number, doFallocate: boolean): void => guestMapMem(g, gpa, size, false, doFallocate);

/** memcmp_g(): "Guest expected ... at offset ... (gpa ...), got ...". */
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
  const end = baseGpa + BigInt(PER_CPU_DATA_SIZE);

  // A new VM's memory is shared.
  g.memset(baseGpa, PER_CPU_DATA_SIZE, defP);
  memcmpG(g, baseGpa, defP, PER_CPU_DATA_SIZE);
  guestSyncShared(g, baseGpa, PER_CPU_DATA_SIZE, defP, initP);
  memcmpG(g, baseGpa, initP, PER_CPU_DATA_SIZE);

  for (const r of TEST_RANGES) {
    const gpa = baseGpa + BigInt(r.offset);
    const size = r.size;
    const [p1, p2, p3, p4] = [0x11, 0x22, 0x33, 0x44];

    // Pattern one marks the target against the rest of the range.
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
      if (gpa + BigInt(size) < end) memcmpG(g, gpa + BigInt(size), initP, Number(end - (gpa + BigInt(size))));

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

    // The punch zeroed the private pages, and in place the shared ones too: reset them all.
    g.memset(baseGpa, PER_CPU_DATA_SIZE, initP);
  }
}

/**
 * "Map shared" by fallocate alone: PUNCH_HOLE, the attributes stay private,
 * so it is a request that converts nothing; then what the guest owes before
 * it touches pages punched from under it (TDX ACCEPT, SNP PVALIDATE).
 */
function guestPunchHole(g: GuestBuilder, gpa: bigint, size: number): void {
  conv.request(g, gpa, size, MAP_GPA_SHARED | MAP_GPA_DO_FALLOCATE);
  conv.reacquire(g, gpa, size);
}

/** PUNCH_HOLE really frees private memory: the next fault allocates a zeroed page. */
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

/** vm_mem_set_memory_attributes(); in place, also that the converted pages are the ones the host looks at. */
function convertRange(vm: KvmVm, gpa: bigint, size: bigint, toPrivate: boolean): void {
  vmMemSetMemoryAttributes(vm, gpa, size, toPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n);
  if (!kvmHasGmemAttributes()) return;
  for (let p = gpa; p < gpa + size; p += BigInt(vm.pageSize)) TEST_ASSERT_SAME_BACKING(vm, p);
}

/** handle_exit_hypercall(): what the guest's flags ask for, whichever platform's call carried them. */
function handleMapGpaRange(vcpu: KvmVcpu, req: ConversionRequest): void {
  const mapShared = (req.flags & MAP_GPA_SHARED) !== 0n;

  TEST_ASSERT(!req.converts || mapShared === !req.toPrivate,
    `Conversion to ${req.toPrivate ? 'private' : 'shared'} with flags 0x${req.flags.toString(16)}`);

  // To shared: punch the private pages; to private: allocate them.
  if (req.flags & MAP_GPA_DO_FALLOCATE) vmGuestMemFallocate(vcpu.vm, req.gpa, req.size, mapShared);

  if (req.flags & MAP_GPA_SET_ATTRIBUTES) convertRange(vcpu.vm, req.gpa, req.size, !mapShared);
  conv.complete(vcpu.run, 0n);
}

/** One vCPU's host loop: its own async task, interleaving with the others at every KVM_RUN. */
async function testMemConversionsVcpu(vcpu: KvmVcpu): Promise<void> {
  const { run, vm } = vcpu;

  for (;;) {
    const req = await vcpuRunConversion(vcpu, conv);
    if (req) {
      handleMapGpaRange(vcpu, req);
      continue;
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
        TEST_ASSERT(cmd === SYNC_SHARED || cmd === SYNC_PRIVATE, `Unknown sync command '${cmd}'`);

        // Page by page: a range may span memslots, and each page has its own HVA.
        for (let i = 0n; i < size; i += BigInt(vm.pageSize)) {
          const nrBytes = Number(size - i < BigInt(vm.pageSize) ? size - i : BigInt(vm.pageSize));
          const hva = addrGpa2Hva(vm, gpa + i);

          // With separate backings the host sees the shared data, whatever the guest did
          // privately; in place the host's address is the private page, and a touch is SIGBUS.
          if (kvmHasGmemAttributes() && cmd === SYNC_PRIVATE) TEST_EXPECT_SIGBUS(() => hostRead(hva, 1));
          else expectHostSees(vm, gpa + i, nrBytes, Number(cur));

          // For shared, write the new pattern to guest memory.
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

  vmEnableConversionExits(vm, plugin);

  // In place, the guest_memfd is the only backing: mappable, and shared until the guest converts.
  const gmemFlags = kvmHasGmemAttributes() ? GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED : 0n;
  const memfd = vmCreateGuestMemfd(vm, memfdSize, gmemFlags);

  for (let i = 0; i < nrMemslots; i++) {
    vmMemAdd(vm, srcType, BASE_DATA_GPA + BigInt(slotSize * i), BASE_DATA_SLOT + i, slotSize / vm.pageSize,
      KVM_MEM_GUEST_MEMFD, memfd, slotSize * i, gmemFlags);
  }

  vcpus.forEach((vcpu, i) => vcpuArgsSet(vcpu, BASE_DATA_GPA + BigInt(i * perCpuSize)));

  // What the platform needs before a vCPU may run (TDX: INIT_VCPU, FINALIZE_VM).
  cocoLaunch({ plugin, vm });

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

function usage(cmd: string): never {
  process.stdout.write(`
usage: ${cmd} [-h] [-m nr_memslots] [-s mem_type] [-n nr_vcpus]

 -s: specify the type of memory that should be used to
     back the guest data region. (default: anonymous, shmem in place)
${backingSrcHelp()}
 -n: specify the number of vcpus (default: 1)

 -m: specify the number of memslots (default: 1)

`);
  process.exit(0);
}

kvmSelftestMain(async (argv) => {
  // guest_memfd's mmap() needs what shmem has (MAP_SHARED, base pages).
  let srcType: BackingSrc = kvmHasGmemAttributes() ? VM_MEM_SRC_SHMEM : VM_MEM_SRC_ANONYMOUS;
  let nrMemslots = 1;
  let nrVcpus = 1;

  // C: TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)), for KSFT_PLATFORM.
  plugin = ksftPlatformPlugin();
  conv = requireConversion(plugin);
  const plat = requirePlatformVmType({ privateMem: true });

  const prog = process.argv[1] ?? 'private_mem_conversions_test';
  for (const { opt, arg = '' } of getoptLoop(argv, 'hm:s:n:', prog)) {
    switch (opt) {
      case 's':
        srcType = parseBackingSrcType(arg);
        TEST_ASSERT(!kvmHasGmemAttributes() || srcType === VM_MEM_SRC_SHMEM,
          `Testing in-place conversions, only ${VM_MEM_SRC_SHMEM} mem_type supported\n`);
        break;
      case 'n':
        nrVcpus = atoiPositive('nr_vcpus', arg);
        break;
      case 'm':
        nrMemslots = atoiPositive('nr_memslots', arg);
        break;
      case 'h':
      default:
        usage(prog);
    }
  }

  await testMemConversions(srcType, nrVcpus, nrMemslots, plat.type);
});
