import t from 'tap';
import { addSlot, gmem, setup } from './helpers.js';
import { EINVAL, ENOENT, EOPNOTSUPP, EFAULT } from '../../../../lib/kvm/errno.js';
import { KVM_CAP_PRE_FAULT_MEMORY, PAGE_SIZE, SZ_2M } from '../../../../lib/kvm/uapi.js';
import { vmPostCreate } from '../../../../lib/platform/index.js';

const P = BigInt(PAGE_SIZE);
const M2 = BigInt(SZ_2M);
const TEST_NPAGES = (M2 + P) / P;

for (const [type, priv] of [[0, false], [1, false], [1, true]] as const) {
  t.test(`#53/#54/#55 pre-fault, vm type ${type}, private ${priv}`, async (t) => {
    const e = setup(type);
    t.equal(e.sys.__checkExtension(KVM_CAP_PRE_FAULT_MEMORY).ret, 1, '#53 the cap');
    const base = ((1n << 52n) - TEST_NPAGES * P) & ~(M2 - 1n);
    const g = priv ? gmem(e, TEST_NPAGES * P) : undefined;
    addSlot(e, 10, base, TEST_NPAGES * P, g);
    if (priv) e.vm.__setMemoryAttributes(base, TEST_NPAGES * P, 8);
    const v = e.vm.__createVcpu(0).vcpu!;
    t.same(v.__preFaultMemory(base, P, 1).res, { ret: -1, errno: EINVAL }, '#53 flags != 0');
    t.same(v.__preFaultMemory(base + 1n, P).res, { ret: -1, errno: EINVAL }, '#53 unaligned gpa');
    t.same(v.__preFaultMemory(base, P - 1n).res, { ret: -1, errno: EINVAL }, '#53 unaligned size');
    t.same(v.__preFaultMemory(base, 0).res, { ret: -1, errno: EINVAL }, '#53 size 0');
    t.same(v.__preFaultMemory((1n << 64n) - P, 2n * P).res, { ret: -1, errno: EINVAL }, '#53 wrap');
    const a = v.__preFaultMemory(base, M2);
    t.same(a.res, { ret: 0, errno: 0 }, '#53 fully inside the slot');
    t.equal(a.range.size, 0n);
    t.equal(a.range.gpa, base + M2);
    const b = v.__preFaultMemory(base + M2, 2n * P);
    t.same(b.res, { ret: 0, errno: 0 }, '#54 partial progress is success');
    t.equal(b.range.size, P, '#54 remaining 4K');
    t.equal(b.range.gpa, base + M2 + P);
    const c = v.__preFaultMemory(b.range.gpa, b.range.size);
    t.same(c.res, { ret: -1, errno: ENOENT }, '#54 then ENOENT past the slot');
    t.equal(c.range.size, P, 'no progress: range unchanged');
    const d = v.__preFaultMemory(base + M2 + P, P);
    t.same(d.res, { ret: -1, errno: ENOENT });
  });
}

t.test('#55 private GFN without gmem in the slot → EFAULT', async (t) => {
  const e = setup(1);
  addSlot(e, 10, 0x100000000n, P);
  e.vm.__setMemoryAttributes(0x100000000n, P, 8);
  const v = e.vm.__createVcpu(0).vcpu!;
  t.same(v.__preFaultMemory(0x100000000n, P).res, { ret: -1, errno: EFAULT });
});

t.test('#56 pre-fault on CoCo types before finalise → EOPNOTSUPP (validation first)', async (t) => {
  for (const type of [2, 3, 4, 5]) {
    const e = setup(type);
    // kvm_arch_vm_post_create(): a TD takes no vCPU before KVM_TDX_INIT_VM.
    t.equal(vmPostCreate(e.b, e.vm.fd, type).ret, 0, `type ${type}: post-create step`);
    addSlot(e, 10, 0x100000000n, P);
    const v = e.vm.__createVcpu(0).vcpu!;
    t.same(v.__preFaultMemory(0x100000000n, P).res, { ret: -1, errno: EOPNOTSUPP }, `type ${type}`);
    t.same(v.__preFaultMemory(0x100000000n, P, 1).res, { ret: -1, errno: EINVAL }, `type ${type}: flags checked first`);
  }
});
