/**
 * kvm_util against the model backend, in process: constructors, memslots,
 * guest_memfd helpers, ucall, vCPU interleaving, EINTR retry. Assertion
 * exits are turned into exceptions so a failing helper is observable here.
 */
import t from 'tap';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { EINTR, EINVAL, ENOMEM } from '../../../lib/kvm/errno.js';
import {
  KVM_CAP_EXIT_HYPERCALL, KVM_EXIT_HYPERCALL, KVM_EXIT_IO, KVM_HC_MAP_GPA_RANGE, KVM_MEM_GUEST_MEMFD, KVM_X86_SW_PROTECTED_VM,
  UCALL_DONE, UCALL_SYNC, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, MAP_SHARED, PROT_READ, PROT_WRITE,
} from '../../../lib/kvm/uapi.js';
import type { GuestBuilder } from '../../../lib/guest/builder.js';
import type { GuestOp } from '../../../lib/kvm/guest_program.js';
import {
  SLOT0, UCALL_POOL_GPA, __vmEnableCap, _vcpuRun, addrGpa2Hva, getUcall, hostRead, hostWrite, kvmVmFree, pageState,
  setAssertExit, setKvmBackend, vcpuArgsSet, vcpuRun, vmCreate, vmCreateBarebones, vmCreateGuestMemfd, vmCreateWithVcpus,
  vmEnableCap, vmGuestMemPunchHole, vmMemAdd, vmMemSetPrivate, vmShape, vmUserspaceMemRegionAdd, VM_MEM_SRC_ANONYMOUS,
  vmCreateShapeWithOneVcpu, kvmBackend, getErrno, hostFill, kvmMmap, kvmMmapAnonymous, kvmMunmap, madvise, MADV_COLLAPSE,
  MADV_DONTNEED, MADV_HUGEPAGE,
} from '../../../lib/kvm_util/index.js';

class AssertExit extends Error {
  constructor(readonly code: number) { super(`exit ${code}`); }
}
setAssertExit((code) => { throw new AssertExit(code); });

t.beforeEach(() => setKvmBackend(createModelBackend({ kernel: '6.18' })));

const G4 = 0x100000000n;

t.test('__vmCreate adds slot 0 at GPA 0 holding the ucall pool; barebones has no memory', async (t) => {
  const bare = vmCreateBarebones();
  t.equal(bare.regions.size, 0);
  kvmVmFree(bare);
  const vm = vmCreate(vmShape(0), 2);
  const s0 = vm.regions.get(SLOT0)!;
  t.equal(s0.gpa, 0n);
  t.ok(s0.size >= 512n * 4096n);
  t.equal(vm.ucallPoolGpa, UCALL_POOL_GPA);
  kvmVmFree(vm);
  t.ok(vm.freed);
});

t.test('vmMemAdd: the shared HVA backs the GPA; overlap and duplicate slots are test bugs', async (t) => {
  const vm = vmCreateBarebones();
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, G4, 10, 4, 0);
  hostWrite(addrGpa2Hva(vm, G4 + 0x1001n), new Uint8Array([1, 2, 3]));
  t.same([...hostRead(addrGpa2Hva(vm, G4 + 0x1000n), 4)], [0, 1, 2, 3]);
  t.throws(() => vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, G4 + 0x3000n, 11, 1, 0), { message: 'exit 254' }, 'GPA overlap');
  t.throws(() => vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, G4 * 2n, 10, 1, 0), { message: 'exit 254' }, 'duplicate slot');
  t.throws(() => vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, G4 + 1n, 12, 1, 0), { message: 'exit 254' }, 'unaligned');
  t.throws(() => addrGpa2Hva(vm, 0x5000n), { message: 'exit 254' }, 'no memory at that GPA');
  kvmVmFree(vm);
});

t.test('vmGuestMemFallocate walks gmem slots at their guest_memfd offsets; page states follow', async (t) => {
  const vm = vmCreate(vmShape(KVM_X86_SW_PROTECTED_VM), 1);
  const fd = vmCreateGuestMemfd(vm, 8 * 4096, 0);
  vmMemAdd(vm, VM_MEM_SRC_ANONYMOUS, G4, 10, 4, KVM_MEM_GUEST_MEMFD, fd, 0);
  vmMemAdd(vm, VM_MEM_SRC_ANONYMOUS, G4 + 0x4000n, 11, 4, KVM_MEM_GUEST_MEMFD, fd, 0x4000);
  vmMemSetPrivate(vm, G4 + 0x3000n, 0x2000);
  vmGuestMemPunchHole(vm, G4 + 0x3000n, 0x2000);
  const ev = vm.memEvents.filter((e) => e.kind === 'gmem');
  t.same(ev.map((e) => e.kind === 'gmem' && [e.offset, e.len, e.punch]), [[0x3000n, 0x1000n, true], [0x4000n, 0x1000n, true]],
    'split at the slot boundary');
  t.same([0x2000n, 0x3000n, 0x4000n, 0x5000n].map((o) => pageState(vm, G4 + o)), ['shared', 'private/hole', 'private/hole', 'shared']);
  t.throws(() => vmGuestMemPunchHole(vm, 0n, 4096), { message: 'exit 254' }, 'slot 0 has no guest_memfd');
  kvmVmFree(vm);
});

t.test('ucall: getUcall reads the struct at RDI; args are taken at the first run', async (t) => {
  const code = (g: GuestBuilder, a: bigint, b: bigint): void => { g.syncN(a, b, 3); g.printf('x'); g.done(); };
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(0), code);
  vcpuArgsSet(vcpu, 1, 2);
  await vcpuRun(vcpu);
  t.equal(vcpu.run.exitReason, KVM_EXIT_IO);
  const uc = getUcall(vcpu);
  t.equal(uc.cmd, UCALL_SYNC);
  t.same(uc.args.slice(0, 3), [1n, 2n, 3n]);
  vcpuArgsSet(vcpu, 5, 6);
  t.same((vcpu.program?.ops[0] as Extract<GuestOp, { op: 'ucall' }>).args, [1n, 2n, 3n], 'the running program keeps its args');
  await vcpuRun(vcpu);
  t.equal(getUcall(vcpu).buffer, 'x');
  await vcpuRun(vcpu);
  t.equal(getUcall(vcpu).cmd, UCALL_DONE);
  kvmVmFree(vm);
});

t.test('MAP_GPA_RANGE exits once the cap is on; bad cap bits are EINVAL', async (t) => {
  const code = (g: GuestBuilder): void => { g.hypercall(KVM_HC_MAP_GPA_RANGE, [G4, 1, 0x10], { expect: 0 }); g.done(); };
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(KVM_X86_SW_PROTECTED_VM), code);
  t.equal(__vmEnableCap(vm, KVM_CAP_EXIT_HYPERCALL, 1).errno, EINVAL);
  vmEnableCap(vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);
  await vcpuRun(vcpu);
  t.equal(vcpu.run.exitReason, KVM_EXIT_HYPERCALL);
  t.same([vcpu.run.hypercallArg(0), vcpu.run.hypercallArg(1), vcpu.run.hypercallArg(2)], [G4, 1n, 0x10n]);
  vcpu.run.hypercallRet = 0n;
  await vcpuRun(vcpu);
  t.equal(getUcall(vcpu).cmd, UCALL_DONE);
  kvmVmFree(vm);
});

t.test('vCPU host loops written as async tasks interleave', async (t) => {
  const code = (g: GuestBuilder): void => { g.loop(20, (b) => b.sync(1)); g.done(); };
  const { vm, vcpus } = vmCreateWithVcpus(2, code);
  const order: number[] = [];
  await Promise.all(vcpus.map(async (v) => {
    for (;;) {
      await vcpuRun(v);
      if (getUcall(v).cmd === UCALL_DONE) return;
      order.push(v.id);
    }
  }));
  t.equal(order.length, 40);
  const switches = order.slice(1).filter((id, i) => id !== order[i]).length;
  t.ok(switches >= 10, `the two vCPUs alternate (${switches} switches)`);
  kvmVmFree(vm);
});

t.test('_vcpuRun retries a KVM_RUN interrupted with EINTR', async (t) => {
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(0), (g) => g.done());
  kvmBackend().kick(vcpu.fd);
  const raw = await kvmBackend().kvmRun(vcpu.fd);
  t.same([raw.ret, raw.errno], [-1, EINTR], 'the model reports the kick as EINTR');
  kvmBackend().kick(vcpu.fd);
  const r = await _vcpuRun(vcpu);
  t.equal(r.ret, 0);
  t.equal(getUcall(vcpu).cmd, UCALL_DONE);
  kvmVmFree(vm);
});

t.test('madvise: COLLAPSE is EINVAL on guest_memfd, fine on anonymous memory; DONTNEED re-faults from the file', async (t) => {
  const vm = vmCreateBarebones();
  const fd = vmCreateGuestMemfd(vm, 0x200000, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  const g = kvmMmap(0x200000, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  const a = kvmMmapAnonymous(0x200000);
  t.same([madvise(g, 0x200000, MADV_COLLAPSE).ret, getErrno()], [-1, EINVAL]);
  t.equal(madvise(a, 0x200000, MADV_COLLAPSE).ret, 0);
  t.equal(madvise(g, 0x200000, MADV_HUGEPAGE).ret, 0);
  hostFill(g, 4096, 0x5a);
  hostFill(a, 4096, 0x5a);
  t.equal(madvise(g, 0x200000, MADV_DONTNEED).ret, 0);
  t.equal(madvise(a, 0x200000, MADV_DONTNEED).ret, 0);
  t.equal(hostRead(g, 1)[0], 0x5a, 'shared file page comes back from the guest_memfd');
  t.equal(hostRead(a, 1)[0], 0, 'anonymous page is zero again');
  t.equal(madvise(g + 1n, 4096, MADV_HUGEPAGE).errno, EINVAL, 'unaligned start');
  kvmMunmap(g, 0x200000);
  t.equal(madvise(g, 4096, MADV_HUGEPAGE).errno, ENOMEM, 'unmapped range');
  kvmVmFree(vm);
});
