import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { SERIES_VM_TYPES, addSlot, gmem, op, readUcall, setup, expectFault } from './helpers.js';
import {
  createModelBackend, registerModelPlatform, globalPlatforms, defaultUcallGpa,
  type ModelPlatform, type PlatformVmContext,
} from '../../../../lib/kvm/model/index.js';
import { KvmSystem } from '../../../../lib/kvm/handles.js';
import { loadPlatform, vmPostCreate } from '../../../../lib/platform/index.js';
import { EINVAL, ENOTTY } from '../../../../lib/kvm/errno.js';
import {
  KVM_EXIT_HYPERCALL, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_SYSTEM_EVENT, KVM_MEMORY_ENCRYPT_OP, KVM_VM_TYPE_ARM_PROTECTED,
  PAGE_SIZE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
} from '../../../../lib/kvm/uapi.js';

const P = BigInt(PAGE_SIZE);
const GPA = 0x100000000n;

t.test('TDX: marker-based private-ness gives mismatch exits (implicit conversion)', async (t) => {
  const e = setup(5);
  // The TD's own steps: KVM_TDX_INIT_VM before a vCPU, INIT_VCPU and FINALIZE_VM before KVM_RUN.
  t.equal(vmPostCreate(e.b, e.vm.fd, 5).ret, 0, 'KVM_TDX_INIT_VM');
  const slot0 = addSlot(e, 0, 0n, 0x40000n);
  const g = gmem(e, P);
  addSlot(e, 10, GPA, P, g);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const v = e.vm.__createVcpu(0).vcpu!;
  t.equal(loadPlatform('tdx').launchMinimal(e.b, e.vm.fd, [v.fd]).ret, 0, 'KVM_TDX_INIT_VCPU, KVM_TDX_FINALIZE_VM');
  e.b.setGuestProgram(v.fd, { ops: [op.write(GPA, 8, 1, 'shared'), op.done()] });
  t.same(await v.__run(), { ret: -1, errno: 14 });
  t.equal(v.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  t.equal(v.run.memoryFaultFlags, 0n, 'shared access to a private GFN: flags 0');
  e.vm.__setMemoryAttributes(GPA, P, 0);
  t.same(await v.__run(), { ret: 0, errno: 0 }, 'after the host converts, the access retries and succeeds');
  t.equal(readUcall(e, (x) => slot0 + x, defaultUcallGpa(0)).cmd, 4n);
});

t.test('a plugin overrides a type: guest op exits, resume, hooks, ioctls, zap, beforeRun', async (t) => {
  const b = createModelBackend({ kernel: '6.18' });
  const zaps: string[] = [];
  let ctxSeen: PlatformVmContext | undefined;
  const plugin: ModelPlatform = {
    name: 'toy',
    hasPrivateMem: true,
    preFault: false,
    gmemFlags: () => 1n,
    attach: (ctx) => {
      ctxSeen = ctx;
      let runs = 0;
      return {
        isPrivateAccess: (a) => a.view === 'private',
        guestOp: (vc, o) => {
          if (o.call === 'map') {
            return { kind: 'exit', exit: { reason: 'hypercall', nr: 12n, args: [BigInt(o.args.gpa as bigint), 1n, 0x10n], flags: 1n }, resume: (r) => r.hypercallRet };
          }
          if (o.call === 'term') return { kind: 'fatal', exit: { reason: 'system_event', type: 6, data: [0x101n] } };
          vc.setReg('r12', 7n);
          return { kind: 'done', status: 0n };
        },
        encodeGuestWrite: (_a, backing, d) => (backing === 'shared' ? d.map((x) => x ^ 0xff) : d),
        vmIoctl: (req) => (req === KVM_MEMORY_ENCRYPT_OP ? { ret: 0, errno: 0 } : undefined),
        checkExtension: (cap) => (cap === 4242 ? 9 : undefined),
        onZap: (gpa, size, why) => { zaps.push(`${why}:${gpa.toString(16)}+${size.toString(16)}`); },
        beforeRun: () => (runs++ === 0 ? EINVAL : undefined),
        hostAccess: (a) => (a.gpa === GPA + P ? { signal: 'SIGSEGV', code: 'SEGV_ACCERR' } : undefined),
      };
    },
  };
  b.registerPlatform(7, plugin);
  const { sys } = KvmSystem.__open(b);
  t.equal(sys!.__checkExtension(235).ret, 0xbf | SERIES_VM_TYPES, 'type 7 appears in KVM_CAP_VM_TYPES');
  const vm = sys!.__createVm(7).vm!;
  t.equal(vm.__checkExtension(4242).ret, 9);
  t.equal(vm.__checkExtension(244).ret, 1);
  t.same(vm.__ioctl(KVM_MEMORY_ENCRYPT_OP, new Uint8Array(8)), { ret: 0, errno: 0 });
  t.same(vm.__ioctl(0xdead), { ret: -1, errno: ENOTTY });
  const e = { b, sys: sys!, vm };
  const slot0 = addSlot(e, 0, 0n, 0x40000n);
  const g = gmem(e, 2n * P);
  const hva = addSlot(e, 10, GPA, 2n * P, g);
  vm.__setMemoryAttributes(GPA, P, 8);
  t.ok(zaps.includes(`attributes:${GPA.toString(16)}+1000`), 'attribute change zaps');
  const v = vm.__createVcpu(0).vcpu!;
  b.setGuestProgram(v.fd, { ops: [op.platform('map', { gpa: GPA }, 0n), op.write(GPA + P, 16, 0x0f, 'shared'), op.platform('nop', {}, 0n), op.platform('term')] });
  t.same(await v.__run(), { ret: -1, errno: EINVAL }, 'beforeRun refuses the first KVM_RUN');
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(v.run.exitReason, KVM_EXIT_HYPERCALL);
  t.equal(v.run.hypercallArg(0), GPA);
  v.run.hypercallRet = 0n;
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(v.run.exitReason, KVM_EXIT_SYSTEM_EVENT);
  t.equal(v.run.systemEventType, 6);
  t.equal(v.run.systemEventData(0), 0x101n);
  t.equal(v.__getRegs().regs ? 0 : 1, 0);
  expectFault(t, () => b.hostRead(hva + P, 1), 'SIGSEGV', 'plugin host-access veto', 'SEGV_ACCERR');
  t.equal(b.hostRead(hva, 1)[0], 0, 'other pages readable');
  t.same(g.__fallocate(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, P), { ret: 0, errno: 0 });
  t.ok(zaps.includes(`punch:${GPA.toString(16)}+1000`), 'a punch zaps the bound GFNs');
  t.ok(ctxSeen!.writeBacking(GPA, new Uint8Array([1, 2, 3]), 'private'));
  t.same([...ctxSeen!.readBacking(GPA, 3, 'private')!], [1, 2, 3]);
  t.equal(ctxSeen!.attributes(GPA), 8n);
  t.equal(ctxSeen!.slotAt(GPA)!.hasGmem, true);
  void slot0;
  t.same(b.internalErrors, []);
});

t.test('global registry: non-x86 types accepted once registered; hooks that throw become internal errors', async (t) => {
  const thrower: ModelPlatform = {
    name: 'pkvm-toy', hasPrivateMem: false, preFault: true,
    attach: () => ({ isPrivateAccess: () => { throw new Error('boom'); } }),
  };
  registerModelPlatform(KVM_VM_TYPE_ARM_PROTECTED, thrower);
  try {
    const b = createModelBackend();
    const { sys } = KvmSystem.__open(b);
    const vm = sys!.__createVm(KVM_VM_TYPE_ARM_PROTECTED >>> 0).vm;
    t.ok(vm, 'type 1<<31 created');
    t.equal(sys!.__checkExtension(235).ret, 0x3f | SERIES_VM_TYPES, 'types >= 32 are not in the bitmap');
    const e = { b, sys: sys!, vm: vm! };
    addSlot(e, 0, 0n, 0x40000n);
    const v = vm!.__createVcpu(0).vcpu!;
    b.setGuestProgram(v.fd, { ops: [op.read(0x1000n, 8)] });
    t.same(await v.__run(), { ret: 0, errno: 0 });
    t.equal(v.run.exitReason, 17, 'KVM_EXIT_INTERNAL_ERROR');
    t.equal(b.internalErrors.length, 1, 'the hook\'s exception is recorded');
    t.match(b.internalErrors[0], /^isPrivateAccess: Error: boom/);
  } finally {
    globalPlatforms.unregister(KVM_VM_TYPE_ARM_PROTECTED);
  }
  t.same(createModelBackend().open('/dev/kvm').ret >= 0, true);
});
