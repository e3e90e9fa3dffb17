/**
 * Property tests with a fixed seed (KSFT_PROPERTY_SEED to reproduce,
 * KSFT_PROPERTY_RUNS for longer runs): random syscall sequences never throw,
 * attributes and memslots equal naive oracles, and no host view ever shows a
 * byte the guest wrote privately.
 */

import t from 'tap';
import '../../../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import fc from 'fast-check';
import { createModelBackend, type ModelBackend, type PlatformVmContext } from '../../../../lib/kvm/model/index.js';
import { HostFault } from '../../../../lib/kvm/backend.js';
import { EEXIST, EINVAL } from '../../../../lib/kvm/errno.js';
import {
  encodeCreateGuestMemfd, encodeEnableCap, encodeMemoryAttributes, encodeMemoryAttributes2, encodePreFaultMemory, encodeUserspaceMemoryRegion2,
} from '../../../../lib/kvm/structs.js';
import {
  IOCTL_NAMES, KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_ENABLE_CAP,
  KVM_PRE_FAULT_MEMORY, KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_MEMORY_ATTRIBUTES2, KVM_SET_USER_MEMORY_REGION2, PAGE_SIZE,
} from '../../../../lib/kvm/uapi.js';
import { op } from './helpers.js';

const seed = Number(process.env.KSFT_PROPERTY_SEED ?? 0x5eed);
const numRuns = Number(process.env.KSFT_PROPERTY_RUNS ?? 60);
const params = { seed, numRuns, endOnFailure: true };
const P = BigInt(PAGE_SIZE);

/** A backend whose SW_PROTECTED VMs expose their platform context to the test. */
function tapped(kernel: '6.18' | '7.4' = '6.18', vmMemoryAttributes?: boolean): { b: ModelBackend; ctx: () => PlatformVmContext } {
  const b = createModelBackend({ kernel, ...(vmMemoryAttributes !== undefined ? { vmMemoryAttributes } : {}) });
  let ctx: PlatformVmContext | undefined;
  const sw = b.platforms.get(1)!;
  b.registerPlatform(1, { ...sw, attach: (c) => { ctx = c; return sw.attach(c); } });
  return { b, ctx: () => ctx! };
}

const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 4095n, 4096n, 8192n, 0x200000n, 0xc0000000n, (1n << 63n), (1n << 64n) - 1n, (1n << 64n) - 4096n, -1n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0n, max: 64n }).map((x) => x * 4096n),
);
const fdArb = fc.integer({ min: -2, max: 12 });

const ioctlArb = fc.oneof(
  fc.record({ k: fc.constant('create_vm' as const), type: fc.oneof(fc.integer({ min: -1, max: 40 }), fc.constant(2 ** 31)) }),
  fc.record({ k: fc.constant('gmem' as const), fd: fdArb, size: u64, flags: u64 }),
  fc.record({ k: fc.constant('region' as const), fd: fdArb, slot: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(0x10000), fc.constant(32764)), flags: fc.integer({ min: 0, max: 8 }), gpa: u64, size: u64, hva: u64, gfd: fdArb, off: u64 }),
  fc.record({ k: fc.constant('attrs' as const), fd: fdArb, addr: u64, size: u64, attrs: u64, flags: fc.constantFrom(0n, 1n) }),
  fc.record({ k: fc.constant('attrs2' as const), fd: fdArb, addr: u64, size: u64, attrs: u64, flags: fc.constantFrom(0n, 1n) }),
  fc.record({ k: fc.constant('cap' as const), fd: fdArb, cap: fc.integer({ min: -5, max: 300 }) }),
  fc.record({ k: fc.constant('enable' as const), fd: fdArb, cap: fc.constantFrom(201, 232, 0), arg: u64, flags: fc.constantFrom(0, 1) }),
  fc.record({ k: fc.constant('vcpu' as const), fd: fdArb, id: u64 }),
  fc.record({ k: fc.constant('prefault' as const), fd: fdArb, gpa: u64, size: u64, flags: fc.constantFrom(0n, 1n) }),
  fc.record({ k: fc.constant('raw' as const), fd: fdArb, req: fc.oneof(fc.constantFrom(...Object.keys(IOCTL_NAMES).map(Number)), fc.integer()), arg: fc.oneof(fc.integer(), u64, fc.uint8Array({ maxLength: 200 }), fc.constant(undefined)) }),
  fc.record({ k: fc.constant('falloc' as const), fd: fdArb, mode: fc.integer({ min: -1, max: 0x200 }), off: u64, len: u64 }),
  fc.record({ k: fc.constant('mmap' as const), fd: fdArb, len: u64, prot: fc.integer({ min: 0, max: 7 }), flags: fc.integer({ min: 0, max: 0x3f }), off: u64 }),
  fc.record({ k: fc.constant('munmap' as const), addr: u64, len: u64 }),
  fc.record({ k: fc.constant('file' as const), fd: fdArb, which: fc.integer({ min: 0, max: 7 }), off: u64 }),
  fc.record({ k: fc.constant('host' as const), addr: u64, len: fc.integer({ min: -1, max: 9000 }), write: fc.boolean() }),
  fc.record({ k: fc.constant('close' as const), fd: fdArb }),
  fc.record({ k: fc.constant('dup' as const), fd: fdArb }),
  fc.record({ k: fc.constant('run' as const), fd: fdArb, gpa: u64, view: fc.constantFrom('auto' as const, 'private' as const, 'shared' as const) }),
);

t.test('random syscall sequences never throw (only HostFault from host memory access)', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(ioctlArb, { maxLength: 40 }), fc.constantFrom('6.12' as const, '6.18' as const, '6.19' as const, '7.4' as const), async (cmds, kernel) => {
    const b = createModelBackend({ kernel });
    b.open('/dev/kvm');
    b.ioctl(3, KVM_CREATE_VM, 1);
    for (const c of cmds) {
      switch (c.k) {
        case 'create_vm': b.ioctl(3, KVM_CREATE_VM, c.type); break;
        case 'gmem': b.ioctl(c.fd, KVM_CREATE_GUEST_MEMFD, encodeCreateGuestMemfd({ size: c.size, flags: c.flags })); break;
        case 'region': b.ioctl(c.fd, KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({ slot: c.slot, flags: c.flags, guestPhysAddr: c.gpa, memorySize: c.size, userspaceAddr: c.hva, guestMemfd: c.gfd, guestMemfdOffset: c.off })); break;
        case 'attrs': b.ioctl(c.fd, KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address: c.addr, size: c.size, attributes: c.attrs, flags: c.flags })); break;
        case 'attrs2': b.ioctl(c.fd, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: c.addr, size: c.size, attributes: c.attrs, flags: c.flags })); break;
        case 'cap': b.ioctl(c.fd, KVM_CHECK_EXTENSION, c.cap); break;
        case 'enable': b.ioctl(c.fd, KVM_ENABLE_CAP, encodeEnableCap({ cap: c.cap, flags: c.flags, args: [c.arg] })); break;
        case 'vcpu': b.ioctl(c.fd, KVM_CREATE_VCPU, c.id); break;
        case 'prefault': b.ioctl(c.fd, KVM_PRE_FAULT_MEMORY, encodePreFaultMemory({ gpa: c.gpa, size: c.size, flags: c.flags })); break;
        case 'raw': b.ioctl(c.fd, c.req, c.arg); break;
        case 'falloc': b.fallocate(c.fd, c.mode, c.off, c.len); break;
        case 'mmap': b.mmap(0n, c.len, c.prot, c.flags, c.fd, c.off); break;
        case 'munmap': b.munmap(c.addr, c.len); break;
        case 'file': {
          const buf = new Uint8Array(64);
          [() => b.read(c.fd, buf), () => b.write(c.fd, buf), () => b.pread(c.fd, buf, c.off), () => b.pwrite(c.fd, buf, c.off),
            () => b.lseek(c.fd, c.off, c.which), () => b.ftruncate(c.fd, c.off), () => b.fstat(c.fd), () => b.memfdCreate('x', c.which)][c.which]!();
          break;
        }
        case 'host':
          try {
            if (c.write) b.hostFill(c.addr, c.len, 0xab);
            else b.hostRead(c.addr, c.len);
          } catch (e) {
            if (!(e instanceof HostFault)) throw e;
          }
          break;
        case 'close': b.close(c.fd); break;
        case 'dup': b.dup(c.fd); break;
        case 'run': {
          b.setGuestProgram(c.fd, { ops: [op.write(c.gpa, 100, 1, c.view), op.check(c.gpa, 50, 1, c.view), op.hypercall(12n, [c.gpa, 1n, 0n]), op.done()] });
          const r = await b.kvmRun(c.fd);
          if (!Number.isInteger(r.ret)) throw new Error('bad ret');
          break;
        }
      }
    }
    if (b.internalErrors.length) throw new Error(b.internalErrors.join('\n'));
  }), params);
  t.pass('no exceptions');
});

const NPAGES = 32;
const attrCmd = fc.record({
  start: fc.integer({ min: -2, max: NPAGES + 2 }),
  len: fc.integer({ min: -1, max: NPAGES + 2 }),
  unaligned: fc.constantFrom(0, 0, 0, 1),
  attrs: fc.constantFrom(0n, 8n, 8n, 16n),
  flags: fc.constantFrom(0n, 0n, 0n, 1n),
});

t.test('attribute state equals a naive per-page oracle', async (t) => {
  await fc.assert(fc.property(fc.array(attrCmd, { maxLength: 60 }), (cmds) => {
    const { b, ctx } = tapped();
    const sys = b.open('/dev/kvm').ret;
    const vm = b.ioctl(sys, KVM_CREATE_VM, 1).ret;
    const base = 0x40000n;
    const oracle = new Array<bigint>(NPAGES + 8).fill(0n);
    for (const c of cmds) {
      const address = base + BigInt(c.start) * P + BigInt(c.unaligned);
      const size = BigInt.asUintN(64, BigInt(c.len) * P);
      const r = b.ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address, size, attributes: c.attrs, flags: c.flags }));
      const valid = c.flags === 0n && (c.attrs & ~8n) === 0n && size !== 0n && address + size <= (1n << 64n) - 1n && c.unaligned === 0 && c.len > 0;
      if (valid !== (r.ret === 0)) throw new Error(`ret ${r.ret}/${r.errno} for ${JSON.stringify({ ...c, attrs: String(c.attrs), flags: String(c.flags) })}`);
      if (!valid && r.errno !== EINVAL) throw new Error(`errno ${r.errno}`);
      if (valid) for (let p = c.start; p < c.start + c.len; p++) oracle[p + 4] = c.attrs;
    }
    for (let p = -4; p < NPAGES + 4; p++) {
      const got = ctx().attributes(base + BigInt(p) * P);
      if (got !== oracle[p + 4]) throw new Error(`page ${p}: ${got} != ${oracle[p + 4]}`);
    }
  }), params);
  t.pass('matches');
});

interface OSlot { gfn: number; npages: number; gmem: boolean; off: number }
const slotCmd = fc.record({
  slot: fc.integer({ min: 0, max: 5 }),
  gfn: fc.integer({ min: 0, max: 40 }),
  npages: fc.integer({ min: 0, max: 10 }),
  gmem: fc.boolean(),
  off: fc.integer({ min: 0, max: 20 }),
});

t.test('memslot state equals an oracle (create, delete, move, EEXIST, gmem double-bind)', async (t) => {
  await fc.assert(fc.property(fc.array(slotCmd, { maxLength: 50 }), (cmds) => {
    const { b, ctx } = tapped();
    const sys = b.open('/dev/kvm').ret;
    const vm = b.ioctl(sys, KVM_CREATE_VM, 1).ret;
    const GM_PAGES = 16;
    const gfd = b.ioctl(vm, KVM_CREATE_GUEST_MEMFD, encodeCreateGuestMemfd({ size: GM_PAGES * PAGE_SIZE })).ret;
    const slots = new Map<number, OSlot>();
    for (const c of cmds) {
      const r = b.ioctl(vm, KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({
        slot: c.slot, flags: c.gmem ? 4 : 0, guestPhysAddr: BigInt(c.gfn) * P, memorySize: BigInt(c.npages) * P,
        userspaceAddr: 0, guestMemfd: c.gmem ? gfd : 0, guestMemfdOffset: BigInt(c.off) * P,
      }));
      // Oracle, in kernel order.
      let want = 0;
      const old = slots.get(c.slot);
      if (c.npages === 0) {
        want = old ? 0 : EINVAL;
        if (!want) slots.delete(c.slot);
      } else if (old && (c.gmem || old.gmem || old.npages !== c.npages)) {
        want = EINVAL;
      } else if (old && old.gfn === c.gfn) {
        want = 0;
      } else if ([...slots].some(([id, s]) => id !== c.slot && s.gfn < c.gfn + c.npages && c.gfn < s.gfn + s.npages)) {
        want = EEXIST;
      } else if (c.gmem && (c.off + c.npages > GM_PAGES || [...slots.values()].some((s) => s.gmem && s.off < c.off + c.npages && c.off < s.off + s.npages))) {
        want = EINVAL;
      } else if (old) {
        old.gfn = c.gfn;
      } else {
        slots.set(c.slot, { gfn: c.gfn, npages: c.npages, gmem: c.gmem, off: c.off });
      }
      if ((want === 0) !== (r.ret === 0) || (want && r.errno !== want)) throw new Error(`${JSON.stringify(c)}: got ${r.ret}/${r.errno}, want ${want}`);
    }
    for (let gfn = 0; gfn < 52; gfn++) {
      const s = ctx().slotAt(BigInt(gfn) * P);
      const o = [...slots].find(([, x]) => x.gfn <= gfn && gfn < x.gfn + x.npages);
      if (!!s !== !!o || (s && o && (s.slot !== o[0] || s.hasGmem !== o[1].gmem))) throw new Error(`gfn ${gfn}: ${JSON.stringify(s)} vs ${JSON.stringify(o)}`);
    }
    if (b.fstat(gfd).ret !== 0) throw new Error('gmem fd lost');
  }), params);
  t.pass('matches');
});

const MARK = 0xc3;
const visCmd = fc.oneof(
  fc.record({ k: fc.constant('private' as const), page: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('shared' as const), page: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('gwrite' as const), page: fc.integer({ min: 0, max: 7 }), view: fc.constantFrom('auto' as const, 'private' as const, 'shared' as const) }),
  fc.record({ k: fc.constant('punch' as const), page: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('hwrite' as const), page: fc.integer({ min: 0, max: 7 }) }),
);

// 7.4 per-gmem: the conversions go through the guest_memfd ioctl and one page backs both
// views, so the invariant is that no host access to a page that is private *now* succeeds.
for (const [kernel, gflags, perGmem] of [['6.18', 0n, false], ['6.18', 1n, false], ['7.4', 1n, false], ['7.4', 3n, true], ['7.4', 1n, true]] as const) {
  t.test(`no host view shows a private byte (SW_PROTECTED, ${kernel}${perGmem ? ' per-gmem' : ''}, gmem flags ${gflags})`, async (t) => {
    await fc.assert(fc.asyncProperty(fc.array(visCmd, { maxLength: 30 }), async (cmds) => {
      const { b, ctx } = tapped(kernel, kernel === '7.4' ? !perGmem : undefined);
      const sys = b.open('/dev/kvm').ret;
      const vm = b.ioctl(sys, KVM_CREATE_VM, 1).ret;
      const GPA = 0x100000000n;
      const gfd = b.ioctl(vm, KVM_CREATE_GUEST_MEMFD, encodeCreateGuestMemfd({ size: 8 * PAGE_SIZE, flags: gflags })).ret;
      if (gfd < 0) throw new Error('gmem');
      const hva = b.mmap(0n, 8n * P, 3, 0x22, -1, 0n).addr;
      if (b.ioctl(vm, KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({ slot: 1, flags: 4, guestPhysAddr: GPA, memorySize: 8n * P, userspaceAddr: hva, guestMemfd: gfd })).ret) throw new Error('slot');
      const gmap = b.mmap(0n, 8n * P, 3, 0x01, gfd, 0n).addr;
      const vcpu = b.ioctl(vm, KVM_CREATE_VCPU, 0).ret;
      const views: bigint[] = [hva];
      if (gflags & 1n) views.push(gmap);
      for (const c of cmds) {
        const gpa = GPA + BigInt(c.page) * P;
        if ((c.k === 'private' || c.k === 'shared') && perGmem) {
          b.ioctl(gfd, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: BigInt(c.page) * P, size: P, attributes: c.k === 'private' ? 8n : 0n }));
        } else if (c.k === 'private' || c.k === 'shared') {
          b.ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address: gpa, size: P, attributes: c.k === 'private' ? 8n : 0n }));
        } else if (c.k === 'punch') {
          b.fallocate(gfd, 3, BigInt(c.page) * P, P);
        } else if (c.k === 'hwrite') {
          for (const v of views) {
            try { b.hostFill(v + BigInt(c.page) * P, PAGE_SIZE, 0x11); } catch (e) { if (!(e instanceof HostFault)) throw e; }
          }
        } else {
          // The guest writes the marker only to pages that are private now; elsewhere another byte.
          const priv = (ctx().attributes(gpa) & 8n) !== 0n;
          b.setGuestProgram(vcpu, { ops: [op.write(gpa, PAGE_SIZE, priv ? MARK : 0x22, c.view), op.done()] });
          await b.kvmRun(vcpu);
        }
        for (const v of views) {
          for (let p = 0n; p < 8n; p++) {
            let bytes: Uint8Array;
            try { bytes = b.hostRead(v + p * P, PAGE_SIZE); } catch (e) { if (e instanceof HostFault) continue; throw e; }
            if (perGmem) {
              // One page: what the guest wrote privately shows once the guest's side
              // converted it to shared, never while it is private.
              if (v === gmap && (ctx().attributes(GPA + p * P) & 8n)) throw new Error(`private page ${p} readable through the gmem mapping after ${JSON.stringify(c)}`);
              if (v === hva && bytes.includes(MARK)) throw new Error(`guest data in the unused userspace_addr page ${p}`);
              continue;
            }
            if (bytes.includes(MARK)) throw new Error(`private byte visible at view ${v.toString(16)} page ${p} after ${JSON.stringify(c)}`);
          }
        }
      }
      if (b.internalErrors.length) throw new Error(b.internalErrors.join('\n'));
    }), params);
    t.pass('never visible');
  });
}
