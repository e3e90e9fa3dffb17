/**
 * The `kvm` backend's own machinery on the host's /dev/kvm: host accesses
 * that report the signal a real access would take, kicks, the watchdog of
 * ioctls that block, the end of a vCPU's resources with its last fd, and
 * the answers for fds that are not vCPUs. Skips with the reason where the
 * backend cannot run.
 */
import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { HostFault, MAP_FAILED, type Backend } from '../../../../lib/kvm/backend.js';
import { EBADF, EINTR, EINVAL } from '../../../../lib/kvm/errno.js';
import { createKvmBackend } from '../../../../lib/kvm/kvm/index.js';
import { KvmRun } from '../../../../lib/kvm/kvm_run.js';
import { encodeCreateGuestMemfd, encodeUserspaceMemoryRegion } from '../../../../lib/kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_RUN, KVM_SET_USER_MEMORY_REGION, MAP_ANONYMOUS,
  MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE,
} from '../../../../lib/kvm/uapi.js';
import { devKvmUsable } from '../../../../tools/kvm_probe/real_runner.js';

const made = devKvmUsable() ?? createKvmBackend();
const skip = typeof made === 'string' ? made : undefined;
const b = made as Backend;

/** A default VM with 64 KiB at the reset vector's segment, one vCPU spinning on `jmp .` in real mode. */
function spinningVcpu(): { vm: number; vcpu: number; run: KvmRun } {
  const kvm = b.open('/dev/kvm', 2).ret;
  const vm = b.ioctl(kvm, KVM_CREATE_VM, 0).ret;
  const mem = b.mmap(0n, 0x10000n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  b.hostWrite(mem + 0xfff0n, new Uint8Array([0xeb, 0xfe]));
  b.ioctl(vm, KVM_SET_USER_MEMORY_REGION, encodeUserspaceMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0xffff0000n, memorySize: 0x10000n, userspaceAddr: mem }));
  const vcpu = b.ioctl(vm, KVM_CREATE_VCPU, 0).ret;
  return { vm, vcpu, run: new KvmRun(b.kvmRunView(vcpu)) };
}

t.test('host reads and writes report the signal a real access takes', { skip }, async (t) => {
  const anon = b.mmap(0n, 0x3000n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  b.hostFill(anon, 0x3000, 0x5a);
  t.same([...b.hostRead(anon + 0xffen, 4)], [0x5a, 0x5a, 0x5a, 0x5a], 'a read across pages');
  b.munmap(anon + 0x2000n, 0x1000n);
  const fault = (fn: () => unknown): HostFault | undefined => {
    try {
      fn();
    } catch (e) {
      if (e instanceof HostFault) return e;
      throw e;
    }
    return undefined;
  };
  const unmapped = fault(() => b.hostRead(anon + 0x1ff0n, 0x20));
  t.same([unmapped?.signal, unmapped?.code, unmapped?.addr], ['SIGSEGV', 'SEGV_MAPERR', anon + 0x2000n], 'past the mapping: SEGV_MAPERR at the first missing byte');
  const w = fault(() => b.hostWrite(anon + 0x1ffen, new Uint8Array([1, 2, 3, 4])));
  t.equal(w?.signal, 'SIGSEGV');
  t.same([...b.hostRead(anon + 0x1ffen, 2)], [1, 2], 'bytes before the fault stay written, as memcpy leaves them');
  const none = b.mmap(0n, 0x1000n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  t.same([fault(() => b.hostRead(none, 1))?.code], ['SEGV_ACCERR'], 'PROT_NONE: SEGV_ACCERR');

  const kvm = b.open('/dev/kvm', 2).ret;
  const vm = b.ioctl(kvm, KVM_CREATE_VM, 0).ret;
  // Mappable guest_memfd exists from 6.18 (KVM_CAP_GUEST_MEMFD_FLAGS); before that nothing can take a SIGBUS from one.
  if (!(BigInt(b.ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS).ret) & GUEST_MEMFD_FLAG_MMAP)) {
    t.comment('no GUEST_MEMFD_FLAG_MMAP on this kernel: the SIGBUS case is not checked here');
    for (const fd of [vm, kvm]) b.close(fd);
    return;
  }
  const gmem = b.ioctl(vm, KVM_CREATE_GUEST_MEMFD, encodeCreateGuestMemfd({ size: 0x2000n, flags: GUEST_MEMFD_FLAG_MMAP })).ret;
  t.ok(gmem >= 0, 'a guest_memfd with MMAP');
  const m = b.mmap(0n, 0x2000n, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0n);
  t.not(m.addr, MAP_FAILED);
  const bus = fault(() => b.hostRead(m.addr, 1));
  t.same([bus?.signal, bus?.code], ['SIGBUS', 'BUS_ADRERR'], 'a private guest_memfd page (no INIT_SHARED): SIGBUS');
  for (const fd of [gmem, vm, kvm]) b.close(fd);
});

t.test('kick: before KVM_RUN it returns EINTR at once, during it it ends a spinning guest', { skip }, async (t) => {
  const { vm, vcpu, run } = spinningVcpu();
  b.kick(vcpu);
  const early = await b.kvmRun(vcpu);
  // immediate_exit: -EINTR before the guest runs, exit_reason left alone (kvm_arch_vcpu_ioctl_run()).
  t.same([early.ret, early.errno, run.exitReason], [-1, EINTR, 0], 'EINTR, exit_reason untouched');
  t.equal(run.immediateExit, 0, 'immediate_exit cleared once the kick is consumed');
  const started = Date.now();
  const p = b.kvmRun(vcpu);
  setTimeout(() => b.kick(vcpu), 200);
  const r = await p;
  t.same([r.ret, r.errno, run.exitReason], [-1, EINTR, 10], 'a signal while the guest runs: EINTR, KVM_EXIT_INTR');
  t.ok(Date.now() - started >= 150, 'the guest really ran until the kick');
  b.close(vcpu);
  t.same([...b.kvmRunView(vcpu)], [], 'a closed vCPU has no kvm_run');
  t.equal(run.exitReason, 0, 'a view kept from before the close reads zeros, it does not fault');
  b.close(vm);
});

t.test('an ioctl under a deadline is ended by a signal and says so', { skip }, async (t) => {
  const { vm, vcpu } = spinningVcpu();
  const started = Date.now();
  // KVM_RUN issued synchronously, on this thread: the guest spins, only a signal ends the call.
  const r = b.ioctl(vcpu, KVM_RUN, 0, { timeoutMs: 300 });
  const took = Date.now() - started;
  t.same([r.ret, r.errno, r.timedOut], [-1, EINTR, true]);
  t.ok(took >= 250 && took < 10_000, `ended after ${took} ms`);
  const quick = b.ioctl(vm, 0xae03 /* KVM_CHECK_EXTENSION */, 0, { timeoutMs: 300 });
  t.notOk(quick.timedOut, 'a call that returns in time is untouched');
  b.close(vcpu);
  b.close(vm);
});

t.test('setGuestProgram on what is not a vCPU', { skip }, async (t) => {
  const kvm = b.open('/dev/kvm', 2).ret;
  t.same(b.setGuestProgram(kvm, { ops: [] }), { ret: -1, errno: EINVAL }, '/dev/kvm: EINVAL');
  t.same(b.setGuestProgram(999, { ops: [] }), { ret: -1, errno: EBADF }, 'a closed fd: EBADF');
  b.close(kvm);
});

t.test('mbind(), get_mempolicy() and move_pages() reach the host kernel, and the model answers the same on one node', { skip }, async (t) => {
  const { createModelBackend } = await import('../../../../lib/kvm/model/index.js');
  const MPOL_BIND = 2;
  const MPOL_F_ADDR = 2;
  const ENOENT = 2;
  const ENOSYS = 38;
  for (const [name, be] of [['kvm', b], ['model', createModelBackend({ kernel: '6.18', numaNodes: 1 })]] as const) {
    const mem = be.mmap(0n, 0x2000n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
    const bound = be.mbind!(mem, 0x1000n, MPOL_BIND, [1n], 64n, 0);
    if (name === 'kvm' && bound.errno === ENOSYS) {
      // A kernel built without CONFIG_NUMA (the VM's, tools/vm) has no
      // memory-policy syscalls (kernel/sys_ni.c): nothing to compare.
      t.test('kvm: the memory-policy calls', { skip: 'the host kernel has no NUMA support (mbind is ENOSYS)' }, async () => {});
      be.munmap(mem, 0x2000n);
      continue;
    }
    t.same(bound, { ret: 0, errno: 0 }, `${name}: BIND to node 0`);
    t.equal(be.mbind!(mem + 1n, 0x1000n, MPOL_BIND, [1n], 64n, 0).errno, EINVAL, `${name}: unaligned`);
    const r = be.getMempolicy!(64n, mem, BigInt(MPOL_F_ADDR), true);
    t.same([r.ret, r.policy, r.nodemask], [0, MPOL_BIND, 1n], `${name}: the VMA's policy`);
    t.equal(be.getMempolicy!(64n, mem + 0x1000n, BigInt(MPOL_F_ADDR), true).policy, 0, `${name}: the split-off rest is default`);
    be.hostFill(mem, 0x1000, 1);
    t.same(be.movePagesStatus!([mem, mem + 0x1000n], 0).status, [0, -ENOENT], `${name}: a touched page on node 0, an untouched one absent`);
    t.equal(be.numaMaxNode!(), 0, `${name}: one node`);
    be.munmap(mem, 0x2000n);
  }
});
