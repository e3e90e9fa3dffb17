import t from 'tap';
import { addSlot, gmem, loc, op, readUcall, setup, vcpu, expectFault, type Env } from './helpers.js';
import { EEXIST, EFAULT, EINTR, EINVAL } from '../../../../lib/kvm/errno.js';
import { KVM_EXIT_INTR, defaultUcallGpa, type KernelName } from '../../../../lib/kvm/model/index.js';
import {
  FALLOC_FL_KEEP_SIZE as KEEP, FALLOC_FL_PUNCH_HOLE as PUNCH, KVM_CAP_EXIT_HYPERCALL, KVM_EXIT_HYPERCALL, KVM_EXIT_IO,
  KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN, KVM_EXIT_INTERNAL_ERROR, KVM_HC_MAP_GPA_RANGE, PAGE_SIZE,
  UCALL_PIO_PORT, KVM_CREATE_IRQCHIP, KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED,
  KVM_MP_STATE_HALTED,
} from '../../../../lib/kvm/uapi.js';

const P = BigInt(PAGE_SIZE);
const GPA = 0xc0000000n;
const HC = BigInt(KVM_HC_MAP_GPA_RANGE);
const u64 = (v: bigint) => BigInt.asUintN(64, v);

/** A VM with slot 0 (shared, GPA 0..0x40000) holding the ucall structs. */
function withUcall(type: number, kernel: KernelName = '6.18'): Env & { slot0: bigint; uc: (id?: number) => ReturnType<typeof readUcall> } {
  const e = setup(type, kernel);
  const slot0 = addSlot(e, 0, 0n, 0x40000n);
  return { ...e, slot0, uc: (id = 0) => readUcall(e, (g) => slot0 + g, defaultUcallGpa(id)) };
}

t.test('#59 ucall: KVM_EXIT_IO IN on port 0x1000, RDI = &uc, data at run + 4096; SYNC/DONE', async (t) => {
  const e = withUcall(0);
  const v = vcpu(e, [op.sync(7n, 8n), { op: 'ucall', cmd: 3, args: [], text: 'hello 42', loc: { file: 'g.ts', line: 1 } }, op.done()]);
  t.same(await v.__run(), { ret: 0, errno: 0 });
  const run = v.run;
  t.equal(run.exitReason, KVM_EXIT_IO);
  t.equal(run.ioDirection, 0, 'IN');
  t.equal(run.ioPort, UCALL_PIO_PORT);
  t.equal(run.ioSize, 1);
  t.equal(run.ioCount, 1);
  t.equal(run.ioDataOffset, 4096n);
  t.equal(v.__getRegs().regs!.rdi, defaultUcallGpa(0));
  t.same(e.uc(), { cmd: 1n, args: [7n, 8n, 0n, 0n, 0n, 0n, 0n], text: '' });
  await v.__run();
  t.equal(e.uc().cmd, 3n, 'PRINTF');
  t.equal(e.uc().text, 'hello 42');
  await v.__run();
  t.equal(e.uc().cmd, 4n, 'DONE');
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(v.run.exitReason, KVM_EXIT_SHUTDOWN, 'falling off guest_code triple-faults');
});

t.test('ucall GPA from the program, per vCPU', async (t) => {
  const e = withUcall(0);
  const v = vcpu(e, [op.done()], 3, 0x2000n);
  await v.__run();
  t.equal(v.__getRegs().regs!.rdi, 0x2000n);
  t.equal(readUcall(e, (g) => e.slot0 + g, 0x2000n).cmd, 4n);
});

t.test('#60 guest assert: UCALL_ABORT with `file:line: expr` and the detail', async (t) => {
  const e = withUcall(0);
  addSlot(e, 1, GPA, 2n * P);
  const v = vcpu(e, [op.write(GPA, 8192, 0x11), op.check(GPA, 8192, 0x22)]);
  t.same(await v.__run(), { ret: 0, errno: 0 });
  const uc = e.uc();
  t.equal(uc.cmd, 2n, 'ABORT');
  t.equal(uc.args[2], 42n, 'line in args[GUEST_LINE]');
  t.equal(uc.text, 'guest.ts:42: memcmp_g(gpa, pattern, size)\nGuest expected 0x22 at offset 0 (gpa 0xc0000000), got 0x11');
  await v.__run();
  t.equal(v.run.exitReason, KVM_EXIT_SHUTDOWN, 'no execution past an abort');
  const f = vcpu(e, [{ op: 'fail', expr: 'false', message: 'boom', loc: { file: 'x.ts', line: 9 } }], 1);
  await f.__run();
  t.equal(e.uc(1).text, 'x.ts:9: false\nboom');
});

t.test('#43 MAP_GPA_RANGE without the cap → RAX = -KVM_ENOSYS, no exit', async (t) => {
  const e = withUcall(1);
  const v = vcpu(e, [op.hypercall(HC, [GPA, 1n, 0x10n], -1000n), op.done()]);
  await v.__run();
  t.equal(v.run.exitReason, KVM_EXIT_IO);
  t.equal(e.uc().cmd, 4n);
  t.equal(v.__getRegs().regs!.rax, u64(-1000n));
  const w = vcpu(e, [op.hypercall(HC, [GPA, 1n, 0x10n], 0n)], 1);
  await w.__run();
  t.equal(e.uc(1).cmd, 2n, 'expect mismatch aborts');
  t.match(e.uc(1).text, /0xfffffffffffffc18 != 0x0/);
});

t.test('#44/#46 with the cap: exit 3, nr 12, args as passed, flags LONG_MODE; ret handed back as RAX', async (t) => {
  const e = withUcall(1);
  e.vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [0x1000]);
  const v = vcpu(e, [op.hypercall(HC, [GPA, 3n, 0xdeadbeefn << 8n], 0x55n), op.done()]);
  t.same(await v.__run(), { ret: 0, errno: 0 });
  const r = v.run;
  t.equal(r.exitReason, KVM_EXIT_HYPERCALL);
  t.equal(r.hypercallNr, 12n);
  t.equal(r.hypercallArg(0), GPA);
  t.equal(r.hypercallArg(1), 3n);
  t.equal(r.hypercallArg(2), 0xdeadbeefn << 8n, 'attrs unvalidated');
  t.equal(r.hypercallFlags, 1n);
  r.hypercallRet = 0x55n;
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(e.uc().cmd, 4n, 'guest resumed after vmcall with RAX = ret');
  t.equal(v.__getRegs().regs!.rax, 0x55n);
  const w = vcpu(e, [op.hypercall(HC, [GPA, 1n, 0n], 0n)], 1);
  await w.__run();
  w.run.hypercallRet = 5n;
  await w.__run();
  t.equal(e.uc(1).cmd, 2n, 'a non-zero ret fails GUEST_ASSERT(!ret)');
});

t.test('#45 unaligned gpa, npages 0, GFN wrap → RAX = -KVM_EINVAL, no exit; other nrs', async (t) => {
  const e = withUcall(1);
  e.vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [0x1000]);
  const bad: bigint[][] = [[GPA + 1n, 1n, 0n], [GPA, 0n, 0n], [P, (1n << 64n) - 1n, 0n], [(1n << 64n) - P, (1n << 64n) - (1n << 52n) + 1n, 0n]];
  const v = vcpu(e, [...bad.map((a) => op.hypercall(HC, a, -22n)), op.hypercall(99n, [], -1000n), op.hypercall(1n, [], 0n), op.done()]);
  await v.__run();
  t.equal(v.run.exitReason, KVM_EXIT_IO);
  t.equal(e.uc().cmd, 4n, `${e.uc().text}`);
});

t.test('#47 SW_PROTECTED: private GFN on a slot without gmem → -1/EFAULT, exit 39 {8, gpa, 4096}', async (t) => {
  const e = withUcall(1);
  addSlot(e, 10, GPA, P);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const v = vcpu(e, [op.read(GPA + 0x10n, 8)]);
  t.same(await v.__run(), { ret: -1, errno: EFAULT });
  t.equal(v.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  t.equal(v.run.memoryFaultFlags, 8n);
  t.equal(v.run.memoryFaultGpa, GPA);
  t.equal(v.run.memoryFaultSize, 4096n);
  t.same(await v.__run(), { ret: -1, errno: EFAULT }, 'the access retries and faults again');
});

t.test('#48 SW_PROTECTED: a slot deleted while the guest spins → MEMORY_FAULT(PRIVATE); no slot at all too', async (t) => {
  const e = withUcall(1);
  const g = gmem(e, P);
  addSlot(e, 10, GPA, P, g);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const v = vcpu(e, [op.loop('forever', [op.read(GPA, 8)])]);
  const running = v.__run();
  await new Promise((r) => setTimeout(r, 20));
  t.same(e.vm.__setUserMemoryRegion2({ slot: 10, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0 }), { ret: 0, errno: 0 });
  t.same(await running, { ret: -1, errno: EFAULT });
  t.equal(v.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  t.equal(v.run.memoryFaultFlags, 8n);
  t.equal(v.run.memoryFaultGpa, GPA);
  t.equal(v.run.memoryFaultSize, 4096n);
  const w = vcpu(e, [op.read(0x900000000n, 8)], 1);
  e.vm.__setMemoryAttributes(0x900000000n, P, 8);
  t.same(await w.__run(), { ret: -1, errno: EFAULT });
  t.equal(w.run.memoryFaultFlags, 8n);
});

t.test('#49/#50 SW_PROTECTED: access follows the attribute; private bytes never reach userspace_addr', async (t) => {
  const e = withUcall(1);
  const g = gmem(e, 2n * P);
  const hva = addSlot(e, 10, GPA, 2n * P, g);
  e.b.hostFill(hva, 2 * 4096, 0x11);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  // view 'shared' on a private GFN does not mismatch: the attribute decides.
  const v = vcpu(e, [op.write(GPA, 8192, 0x22, 'shared'), op.sync(1n), op.check(GPA, 4096, 0x22), op.check(GPA + P, 4096, 0x33), op.done()]);
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(e.uc().cmd, 1n);
  t.ok(e.b.hostRead(hva, 4096).every((x) => x === 0x11), 'host still sees 0x11 on the private page');
  t.ok(e.b.hostRead(hva + P, 4096).every((x) => x === 0x22), 'the shared page got 0x22');
  e.b.hostFill(hva + P, 4096, 0x33);
  await v.__run();
  t.equal(e.uc().cmd, 4n, 'guest sees its private 0x22 and the host-written shared 0x33');
  e.vm.__setMemoryAttributes(GPA, P, 0);
  const w = vcpu(e, [op.check(GPA, 4096, 0x11), op.done()], 1);
  await w.__run();
  t.equal(e.uc(1).cmd, 4n, 'after conversion to shared the guest sees the host data');
});

t.test('#51 shared→private after a punch reads 0', async (t) => {
  const e = withUcall(1);
  const g = gmem(e, P);
  addSlot(e, 10, GPA, P, g);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const v = vcpu(e, [op.write(GPA, 4096, 0x44), op.sync(), op.check(GPA, 4096, 0), op.done()]);
  await v.__run();
  e.vm.__setMemoryAttributes(GPA, P, 0);
  g.__fallocate(KEEP | PUNCH, 0, P);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  await v.__run();
  t.equal(e.uc().cmd, 4n, e.uc().text);
});

t.test('#52 concurrent vCPUs converting disjoint ranges of one gmem split over memslots', async (t) => {
  const e = withUcall(1);
  e.vm.__enableCap(KVM_CAP_EXIT_HYPERCALL, [0x1000]);
  const n = 4;
  const per = 16n * P;
  const g = gmem(e, per * BigInt(n));
  const slots = 2;
  const slotSize = per * BigInt(n) / BigInt(slots);
  const hvas: bigint[] = [];
  for (let s = 0; s < slots; s++) hvas.push(addSlot(e, 10 + s, 0x100000000n + BigInt(s) * slotSize, slotSize, g, BigInt(s) * slotSize));
  const vcpus = Array.from({ length: n }, (_, i) => {
    const base = 0x100000000n + BigInt(i) * per;
    return vcpu(e, [
      op.write(base, Number(per), 0xaa),
      op.hypercall(HC, [base, per / P, 0x10n], 0n),
      op.write(base, Number(per), 0x10 + i),
      op.loop(20, [op.check(base, Number(per), 0x10 + i)]),
      op.hypercall(HC, [base, per / P, 0n], 0n),
      op.check(base, Number(per), 0xaa),
      op.done(),
    ], i);
  });
  const results = await Promise.all(vcpus.map(async (v, i) => {
    for (;;) {
      const r = await v.__run();
      if (r.ret < 0) return `vcpu ${i}: ${r.errno}`;
      const run = v.run;
      if (run.exitReason === KVM_EXIT_HYPERCALL) {
        const gpa = run.hypercallArg(0);
        const size = run.hypercallArg(1) * P;
        const priv = (run.hypercallArg(2) & 0x10n) !== 0n;
        e.vm.__setMemoryAttributes(gpa, size, priv ? 8 : 0);
        run.hypercallRet = 0n;
        continue;
      }
      return `vcpu ${i}: ucall ${e.uc(i).cmd} ${e.uc(i).text}`;
    }
  }));
  t.same(results, vcpus.map((_, i) => `vcpu ${i}: ucall 4 `));
});

t.test('kick: a running KVM_RUN returns -1/EINTR (KVM_EXIT_INTR); a kick before KVM_RUN is consumed; immediate_exit', async (t) => {
  const e = withUcall(0);
  const v = vcpu(e, [op.loop('forever', [])]);
  const p = v.__run();
  await new Promise((r) => setTimeout(r, 10));
  v.kick();
  t.same(await p, { ret: -1, errno: EINTR });
  t.equal(v.run.exitReason, KVM_EXIT_INTR);
  v.kick();
  v.run.exitReason = 0;
  t.same(await v.__run(), { ret: -1, errno: EINTR }, 'pending kick');
  t.equal(v.run.exitReason, 0, 'a kick before KVM_RUN ends it before the guest runs: exit_reason left as it was');
  v.run.immediateExit = 1;
  t.same(await v.__run(), { ret: -1, errno: EINTR }, 'immediate_exit');
  t.equal(v.run.exitReason, 0, 'immediate_exit: exit_reason left as it was');
  v.run.immediateExit = 0;
  const h = vcpu(e, [{ op: 'halt', loc: { file: 'h.ts', line: 1 } }], 1);
  const hp = h.__run();
  await new Promise((r) => setTimeout(r, 10));
  h.kick();
  t.same(await hp, { ret: -1, errno: EINTR }, 'HLT blocks until a signal');
});

t.test('shared access with no memslot is emulated MMIO (KVM_EXIT_MMIO); counted loops; internal error on platform ops', async (t) => {
  const e = withUcall(0);
  const v = vcpu(e, [op.write(0xfee00000n, 4, 0x5a), op.loop(3, [op.sync()]), op.done()]);
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(v.run.exitReason, KVM_EXIT_MMIO);
  t.equal(v.run.mmioPhysAddr, 0xfee00000n);
  t.equal(v.run.mmioLen, 4);
  t.equal(v.run.mmioIsWrite, 1);
  let syncs = 0;
  for (;;) {
    await v.__run();
    if (e.uc().cmd === 1n) syncs++;
    else break;
  }
  t.equal(syncs, 3);
  t.equal(e.uc().cmd, 4n);
  const p = vcpu(e, [op.platform('tdx.accept')], 1);
  await p.__run();
  t.equal(p.run.exitReason, KVM_EXIT_INTERNAL_ERROR, 'no platform op on a default VM');
  const q = e.vm.__createVcpu(2).vcpu!;
  await q.__run();
  t.equal(q.run.exitReason, KVM_EXIT_INTERNAL_ERROR, 'no program loaded');
});

t.test('6.18 default VM: guest faults on a mmap-able gmem slot are served from the gmem (hva = 0)', async (t) => {
  const e = withUcall(0);
  const g = gmem(e, P, 3);
  t.same(e.vm.__setUserMemoryRegion2({ slot: 1, flags: 4, guestPhysAddr: 1n << 32n, memorySize: P, userspaceAddr: 0, guestMemfd: g.fd }), { ret: 0, errno: 0 });
  const m = g.__mmap(P).addr;
  e.b.hostFill(m, 4096, 0xaa);
  const v = vcpu(e, [op.check(1n << 32n, 4096, 0xaa), op.write(1n << 32n, 4096, 0xff), op.done()]);
  await v.__run();
  t.equal(e.uc().cmd, 4n, e.uc().text);
  t.ok(e.b.hostRead(g.__mmap(P).addr, 4096).every((x) => x === 0xff));
});

t.test('SW_PROTECTED 6.18 MMAP-only gmem: host SIGBUS, guest private data stays in the gmem', async (t) => {
  const e = withUcall(1);
  const g = gmem(e, P, 1);
  addSlot(e, 10, GPA, P, g);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const v = vcpu(e, [op.write(GPA, 4096, 0x77), op.done()]);
  await v.__run();
  expectFault(t, () => e.b.hostRead(g.__mmap(P).addr, 1), 'SIGBUS', 'host read of private gmem', 'BUS_ADRERR');
});

t.test('#47 gmem failure: a private access after the guest_memfd was closed → MEMORY_FAULT(PRIVATE); a dup keeps it bound', async (t) => {
  const e = withUcall(1);
  const g = gmem(e, P);
  addSlot(e, 10, GPA, P, g);
  e.vm.__setMemoryAttributes(GPA, P, 8);
  const dupFd = e.b.dup(g.fd).ret;
  const v = vcpu(e, [op.write(GPA, 8, 1), op.read(GPA, 8), op.done()]);
  g.__close();
  t.same(await v.__run(), { ret: 0, errno: 0 }, 'the dup keeps the file alive');
  t.equal(e.uc().cmd, 4n);
  e.b.close(dupFd);
  const w = vcpu(e, [op.read(GPA, 8)], 1);
  t.same(await w.__run(), { ret: -1, errno: EFAULT }, 'kvm_gmem_get_pfn(): file gone → -EFAULT');
  t.equal(w.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  t.equal(w.run.memoryFaultFlags, 8n);
});

t.test('guest registers and control flow: loads, MMIO loads completed from mmio.data, if/while, runtime asserts', async (t) => {
  const e = withUcall(0);
  addSlot(e, 10, GPA, 2n * P);
  const r0 = { reg: 0 };
  const r1 = { reg: 1 };
  const MMIO = 0xfee00000n;
  const v = vcpu(e, [
    { op: 'store', gpa: GPA + 8n, width: 8, value: 0x1122334455667788n, view: 'auto', loc },
    { op: 'load', dst: r0, gpa: GPA + 8n, width: 2, view: 'auto', loc },
    op.sync(),
    { op: 'ucall', cmd: 1, args: [r0], loc },
    // Spin on an MMIO value until the host answers something else than 0.
    { op: 'load', dst: r1, gpa: MMIO, width: 8, view: 'auto', loc },
    { op: 'while', cond: { any: [{ a: r1, cmp: 'eq', b: 0n }] }, body: [{ op: 'load', dst: r1, gpa: MMIO, width: 8, view: 'auto', loc }], loc },
    { op: 'if', cond: { any: [{ a: r1, cmp: 'gtu', b: 5n }] }, then: [{ op: 'alu', fn: 'add', dst: r1, src: 100n, loc }], else: [], loc },
    { op: 'ucall', cmd: 1, args: [r1], loc },
    { op: 'assert', cond: { any: [{ a: r1, cmp: 'eq', b: 1n }] }, expr: 'r1 == 1', message: "got '%lx' (%#lx)", args: [r1, 0n], loc },
  ]);
  await v.__run();
  await v.__run();
  t.same(e.uc().args[0], 0x7788n, 'a 2-byte load zero-extends');
  for (const answer of [0n, 0n, 9n]) {
    await v.__run();
    t.equal(v.run.exitReason, KVM_EXIT_MMIO);
    t.same([v.run.mmioPhysAddr, v.run.mmioLen, v.run.mmioIsWrite], [MMIO, 8, 0]);
    v.run.mmioData = answer;
  }
  await v.__run();
  t.same(e.uc().args[0], 109n, 'the third answer ended the spin; if took its then-branch');
  await v.__run();
  const uc = e.uc();
  t.equal(uc.cmd, 2n, 'a false runtime assert aborts');
  t.equal(uc.text, "guest.ts:42: r1 == 1\ngot '6d' (0)");
  t.same(await v.__run(), { ret: 0, errno: 0 });
  t.equal(v.run.exitReason, KVM_EXIT_SHUTDOWN, 'no execution past an abort');
});

t.test('the guest code area gone (its memslot deleted): the next step is KVM_EXIT_INTERNAL_ERROR', async (t) => {
  const e = withUcall(0);
  const { vcpu: v } = e.vm.__createVcpu(0);
  e.b.setGuestProgram(v!.fd, { ops: [op.loop('forever', [])], area: { gpa: 0x20000n, size: 0x10000n } });
  const p = v!.__run();
  await new Promise((r) => setTimeout(r, 10));
  e.vm.__setUserMemoryRegion2({ slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: 0n, userspaceAddr: 0n });
  t.same(await p, { ret: 0, errno: 0 });
  t.equal(v!.run.exitReason, KVM_EXIT_INTERNAL_ERROR);
});

t.test('MP state: with an in-kernel irqchip an AP waits for INIT/SIPI until made RUNNABLE', async (t) => {
  const e = setup(0);
  addSlot(e, 0, 0n, 0x40000n);
  t.equal(e.vm.__ioctl(KVM_CREATE_IRQCHIP).ret, 0);
  t.same(e.vm.__ioctl(KVM_CREATE_IRQCHIP), { ret: -1, errno: EEXIST }, 'one irqchip per VM');
  const bsp = vcpu(e, [op.done()], 0);
  const ap = vcpu(e, [op.done()], 1);
  t.same(e.vm.__ioctl(KVM_CREATE_IRQCHIP), { ret: -1, errno: EEXIST });
  const state = (x: typeof ap): number => { const b = new Uint8Array(4); x.__ioctl(KVM_GET_MP_STATE, b); return new DataView(b.buffer).getUint32(0, true); };
  t.same([state(bsp), state(ap)], [KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED]);
  const p = ap.__run();
  await new Promise((r) => setTimeout(r, 20));
  ap.kick();
  t.same(await p, { ret: -1, errno: EINTR }, 'the AP blocked in KVM_RUN until a signal');
  t.equal(ap.run.exitReason, KVM_EXIT_INTR);
  const set = (s: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, s, true); return b; };
  t.same(ap.__ioctl(KVM_SET_MP_STATE, set(99)), { ret: -1, errno: EINVAL }, 'an unknown state');
  t.same(ap.__ioctl(KVM_SET_MP_STATE, set(KVM_MP_STATE_RUNNABLE)), { ret: 0, errno: 0 });
  await ap.__run();
  t.equal(ap.run.exitReason, KVM_EXIT_IO, 'RUNNABLE: it runs');
  const noIrq = setup(0);
  const { vcpu: v } = noIrq.vm.__createVcpu(1);
  t.same(v!.__ioctl(KVM_SET_MP_STATE, set(KVM_MP_STATE_HALTED)), { ret: -1, errno: EINVAL }, 'wait states need the in-kernel LAPIC');
});
