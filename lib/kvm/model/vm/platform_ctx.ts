/**
 * The VM as a platform plugin sees it (PlatformVmContext, platform.ts):
 * attribute lookups and stores, slot lookups, reads and writes of a GFN's
 * private or shared backing, and host memory access for launch flows that
 * copy from userspace.
 */

import { PAGE_SIZE } from '../../uapi.js';
import type { PlatformVmContext } from '../platform.js';
import type { Vm } from '../vm.js';
import { vmAttributesAt, vmSetMemAttributes } from './mem_attributes.js';

const PAGE = BigInt(PAGE_SIZE);

export function vmPlatformContext(vm: Vm): PlatformVmContext {
  const sys = vm.sys;
  return {
    vmType: vm.type,
    profile: sys.profile,
    attributes: (gpa) => vmAttributesAt(vm, Number(BigInt.asUintN(64, gpa) / PAGE)),
    setAttributes: (gpa, size, attributes) => vmSetMemAttributes(vm, Number(gpa / PAGE), Number((gpa + size) / PAGE), attributes),
    slotAt: (gpa) => {
      const s = vm.slots.find(0, Number(BigInt.asUintN(64, gpa) / PAGE));
      return s ? vm.slotInfo(s) : undefined;
    },
    readBacking: (gpa, len, backing) => {
      const r = vm.backingPage(Number(gpa / PAGE), backing, false);
      if (!r || 'signal' in r) return undefined;
      const inPage = Number(gpa % PAGE);
      return r.store.peek(r.index).slice(inPage, inPage + len);
    },
    writeBacking: (gpa, data, backing) => {
      const r = vm.backingPage(Number(gpa / PAGE), backing, true);
      if (!r || 'signal' in r) return false;
      r.store.touch(r.index).set(data, Number(gpa % PAGE));
      return true;
    },
    hostRead: (hva, len) => {
      const out = new Uint8Array(len);
      const f = sys.host.forEach(hva, len, false, (st, idx, inPage, chunk, done) => out.set(st.peek(idx).subarray(inPage, inPage + chunk), done));
      return f ?? out;
    },
    hostWrite: (hva, data) => {
      const f = sys.host.forEach(hva, data.length, true, (st, idx, inPage, chunk, done) => st.touch(idx).set(data.subarray(done, done + chunk), inPage));
      return f;
    },
    get exitHypercallMask() { return vm.exitHypercallMask; },
    get nrVcpus() { return vm.vcpus.length; },
  };
}
