/**
 * KVM_SEV_INIT2, KVM_TDX_INIT_VM and vCPUs on the model (lib/platform/launch_minimal.ts
 * vmPostCreate(), platforms/sev/model.ts, platforms/snp/model.ts): the
 * kernel accepts INIT2 only before the first KVM_CREATE_VCPU
 * (__sev_guest_init(): kvm->created_vcpus → -EINVAL), so kvm_util issues it
 * right after KVM_CREATE_VM, as the selftests' kvm_arch_vm_post_create() does;
 * a TD takes no vCPU before KVM_TDX_INIT_VM (tdx_vcpu_create(): -EIO), which
 * kvm_util issues at the same point (platforms/tdx/model.ts).
 */
import t from 'tap';
import type { Backend } from '../../../lib/kvm/backend.js';
import { EEXIST, EINVAL, EIO, ENOTTY, EPERM } from '../../../lib/kvm/errno.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import {
  KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_X86_DEFAULT_VM, KVM_X86_SEV_ES_VM, KVM_X86_SEV_VM, KVM_X86_SNP_VM, KVM_X86_SW_PROTECTED_VM,
  KVM_X86_TDX_VM,
} from '../../../lib/kvm/uapi.js';
import { KVM_TDX_FINALIZE_VM, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_VM, encodeTdxCmd, encodeTdxInitVm } from '../../../platforms/tdx/uapi.js';
import { __vmCreateWithVcpus, kvmVmFree, setKvmBackend, vmShape } from '../../../lib/kvm_util/index.js';
import { memoryEncryptOp } from '../../../lib/platform/encrypt_op.js';
import { registerPlatformModels, vmPostCreate } from '../../../lib/platform/index.js';
import {
  KVM_SEV_ES_INIT, KVM_SEV_INIT, KVM_SEV_INIT2, KVM_SEV_LAUNCH_START, encodeSevCmd, encodeSevInit, encodeSevLaunchStart,
} from '../../../platforms/sev/uapi.js';

function backend(): Backend {
  const b = createModelBackend({ kernel: '6.18' });
  registerPlatformModels({ register: (type, p) => b.registerPlatform(type, p) });
  return b;
}

function createVm(b: Backend, type: number): number {
  const kvm = b.open('/dev/kvm', 2);
  const vm = b.ioctl(kvm.ret, KVM_CREATE_VM, type);
  t.ok(vm.ret >= 0, `KVM_CREATE_VM(${type})`);
  return vm.ret;
}

const init2 = (b: Backend, vm: number) => memoryEncryptOp(b, vm, (d) => encodeSevCmd({ id: KVM_SEV_INIT2, data: d }), encodeSevInit());

const SEV_TYPES = [['SEV', KVM_X86_SEV_VM], ['SEV-ES', KVM_X86_SEV_ES_VM], ['SNP', KVM_X86_SNP_VM]] as const;

t.test('INIT2 after KVM_CREATE_VCPU is EINVAL on every SEV type; before it, 0', async (t) => {
  const b = backend();
  for (const [name, type] of SEV_TYPES) {
    const late = createVm(b, type);
    t.ok(b.ioctl(late, KVM_CREATE_VCPU, 0).ret >= 0, `${name}: KVM_CREATE_VCPU`);
    const r = init2(b, late);
    t.same([r.ret, r.errno], [-1, EINVAL], `${name}: INIT2 with a vCPU`);
    const early = createVm(b, type);
    t.equal(init2(b, early).ret, 0, `${name}: INIT2 without vCPUs`);
    t.ok(b.ioctl(early, KVM_CREATE_VCPU, 0).ret >= 0, `${name}: vCPUs after INIT2`);
  }
});

t.test('a refused INIT2 leaves an SEV VM uninitialised: LAUNCH_START finds no SEV guest', async (t) => {
  const b = backend();
  const vm = createVm(b, KVM_X86_SEV_VM);
  b.ioctl(vm, KVM_CREATE_VCPU, 0);
  init2(b, vm);
  const r = memoryEncryptOp(b, vm, (d) => encodeSevCmd({ id: KVM_SEV_LAUNCH_START, data: d }), encodeSevLaunchStart({ policy: 0 }));
  t.same([r.ret, r.errno], [-1, ENOTTY]);
});

t.test('vmPostCreate() runs INIT2 on the SEV types, INIT_VM on a TD, nothing elsewhere', async (t) => {
  const b = backend();
  for (const [name, type] of SEV_TYPES) {
    const vm = createVm(b, type);
    t.equal(vmPostCreate(b, vm, type).ret, 0, name);
    // Initialised: a second INIT2 is refused (sev_guest_init2(): !need_init;
    // on SNP sev_mem_enc_ioctl() already allows only the SNP commands).
    t.equal(init2(b, vm).errno, type === KVM_X86_SNP_VM ? EPERM : EINVAL, `${name}: already initialised`);
  }
  const td = createVm(b, KVM_X86_TDX_VM);
  t.equal(vmPostCreate(b, td, KVM_X86_TDX_VM).ret, 0, 'TDX');
  t.equal(tdxInitVm(b, td).errno, EINVAL, 'TDX: INIT_VM already done');
  for (const type of [KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM]) {
    const vm = createVm(b, type);
    t.same(vmPostCreate(b, vm, type), { ret: 0, errno: 0 }, `type ${type}: nothing to do`);
  }
});

t.test('kvm_util __vmCreateWithVcpus() initialises an SEV VM before its vCPUs', async (t) => {
  const b = backend();
  setKvmBackend(b);
  t.teardown(() => setKvmBackend(undefined));
  for (const [name, type] of SEV_TYPES) {
    const { vm, vcpus } = __vmCreateWithVcpus(vmShape(type), 2, 0);
    t.equal(vcpus.length, 2, name);
    t.equal(init2(b, vm.fd).errno, type === KVM_X86_SNP_VM ? EPERM : EINVAL, `${name}: INIT2 already done`);
    kvmVmFree(vm);
  }
});

const legacy = (b: Backend, vm: number, id: number) => memoryEncryptOp(b, vm, (d) => encodeSevCmd({ id, data: d }), new Uint8Array(0));

t.test('legacy KVM_SEV_INIT / KVM_SEV_ES_INIT: EINVAL once vCPUs exist, and on every VM type but the default one', async (t) => {
  const b = backend();
  for (const id of [KVM_SEV_INIT, KVM_SEV_ES_INIT]) {
    const name = id === KVM_SEV_INIT ? 'KVM_SEV_INIT' : 'KVM_SEV_ES_INIT';
    // __sev_guest_init(): kvm->created_vcpus.
    const dflt = createVm(b, KVM_X86_DEFAULT_VM);
    t.ok(b.ioctl(dflt, KVM_CREATE_VCPU, 0).ret >= 0);
    t.same(legacy(b, dflt, id).errno, EINVAL, `${name} on a default VM with a vCPU`);
    // sev_guest_init(): kvm->arch.vm_type != KVM_X86_DEFAULT_VM.
    for (const type of [KVM_X86_SW_PROTECTED_VM, KVM_X86_SEV_VM, KVM_X86_SEV_ES_VM, KVM_X86_SNP_VM]) {
      t.equal(legacy(b, createVm(b, type), id).errno, EINVAL, `${name} on VM type ${type}`);
    }
  }
});

const tdxInitVm = (b: Backend, vm: number) => memoryEncryptOp(b, vm, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VM, data: d }), encodeTdxInitVm());
const tdxOp = (b: Backend, fd: number, id: number) => memoryEncryptOp(b, fd, (d) => encodeTdxCmd({ id, data: d }), new Uint8Array(0));

t.test('TDX: KVM_CREATE_VCPU is EIO before KVM_TDX_INIT_VM and after FINALIZE_VM; INIT_VM runs once', async (t) => {
  // tdx_vcpu_create(): kvm_tdx->state != TD_STATE_INITIALIZED → -EIO;
  // tdx_td_init(): a TD that is not TD_STATE_UNINITIALIZED → -EINVAL.
  const b = backend();
  const vm = createVm(b, KVM_X86_TDX_VM);
  t.same(b.ioctl(vm, KVM_CREATE_VCPU, 0), { ret: -1, errno: EIO }, 'vCPU before INIT_VM');
  t.equal(tdxInitVm(b, vm).ret, 0, 'INIT_VM without vCPUs');
  const again = tdxInitVm(b, vm);
  t.same([again.ret, again.errno], [-1, EINVAL], 'INIT_VM again');
  const vcpu = b.ioctl(vm, KVM_CREATE_VCPU, 0);
  t.ok(vcpu.ret >= 0, 'vCPU 0 after INIT_VM: the refused one left no id behind');
  t.equal(b.ioctl(vm, KVM_CREATE_VCPU, 0).errno, EEXIST, 'the duplicate id is EEXIST once creation is allowed');
  t.equal(tdxOp(b, vcpu.ret, KVM_TDX_INIT_VCPU).ret, 0);
  t.equal(tdxOp(b, vm, KVM_TDX_FINALIZE_VM).ret, 0);
  t.same(b.ioctl(vm, KVM_CREATE_VCPU, 1), { ret: -1, errno: EIO }, 'vCPU after FINALIZE_VM');
  // kvm_vm_ioctl_create_vcpu() calls kvm_arch_vcpu_create() before it looks for a duplicate id.
  t.same(b.ioctl(vm, KVM_CREATE_VCPU, 0), { ret: -1, errno: EIO }, 'an existing id after FINALIZE_VM: EIO before EEXIST');
});

t.test('vmPostCreate() on a TD is INIT_VM: the vCPUs may follow, a second INIT_VM is EINVAL', async (t) => {
  const b = backend();
  const vm = createVm(b, KVM_X86_TDX_VM);
  t.equal(vmPostCreate(b, vm, KVM_X86_TDX_VM).ret, 0);
  t.ok(b.ioctl(vm, KVM_CREATE_VCPU, 0).ret >= 0);
  t.equal(tdxInitVm(b, vm).errno, EINVAL);
});

t.test('kvm_util __vmCreateWithVcpus(): a TD gets INIT_VM before its vCPUs, or the postCreate it is given', async (t) => {
  const b = backend();
  setKvmBackend(b);
  t.teardown(() => setKvmBackend(undefined));
  const { vm, vcpus } = __vmCreateWithVcpus(vmShape(KVM_X86_TDX_VM), 2, 0);
  t.equal(vcpus.length, 2);
  t.equal(tdxInitVm(b, vm.fd).errno, EINVAL, 'INIT_VM already done');
  kvmVmFree(vm);
  const seen: number[] = [];
  const own = __vmCreateWithVcpus(vmShape(KVM_X86_TDX_VM), 1, 0, undefined, (v) => {
    seen.push(v.vcpus.length);
    t.equal(tdxInitVm(b, v.fd).ret, 0, 'the test\'s own INIT_VM, before any vCPU');
  });
  t.same(seen, [0]);
  t.equal(own.vcpus.length, 1);
  kvmVmFree(own.vm);
});
