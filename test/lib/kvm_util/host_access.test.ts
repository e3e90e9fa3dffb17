/**
 * Host access to a private page on every platform, as typed results
 * (lib/kvm_util/host_access.ts), on the model: each matches its manifest's
 * `hostAccess` outcome.
 */
import t from 'tap';
import { GUEST_MEMFD_FLAG_MMAP, KVM_EXIT_IO, UCALL_SYNC } from '../../../lib/kvm/uapi.js';
import { _vcpuRun, getUcall, hostFill, vmMemSetPrivate } from '../../../lib/kvm_util/index.js';
import { hostReadPrivate, hostWritePrivate } from '../../../lib/kvm_util/host_access.js';
import { cocoVmCreate, sourcePage, type CocoVm } from '../../../lib/kvm_util/coco.js';
import { rmiPopulate } from '../../../platforms/cca/host.js';
import { vmSevLaunch } from '../../../platforms/sev/host.js';
import { snpLaunchFinish, snpLaunchStart, snpLaunchUpdate } from '../../../platforms/snp/host.js';
import { KVM_SEV_SNP_PAGE_TYPE_NORMAL } from '../../../platforms/snp/uapi.js';
import { tdxFinalizeVm, tdxInitMemRegion, tdxInitVcpu } from '../../../platforms/tdx/host.js';

const PATTERN = 0x5a;
const data = new Uint8Array(16).fill(0x77);

/** A VM of `name` whose page at c.gpa is private and holds PATTERN. */
async function privatePage(name: string): Promise<CocoVm> {
  switch (name) {
    case 'sev':
    case 'sev_es': {
      const c = cocoVmCreate(name, undefined, { npages: 1, gmem: false });
      hostFill(c.region!.hva, 4096, PATTERN);
      vmSevLaunch(c.vm, name === 'sev_es' ? 5 : 1, [{ hva: c.region!.hva, len: 4096 }], name === 'sev_es');
      return c;
    }
    case 'snp': {
      const c = cocoVmCreate(name, undefined);
      snpLaunchStart(c.vm);
      vmMemSetPrivate(c.vm, c.gpa, 4096);
      snpLaunchUpdate(c.vm, { gfnStart: c.gpa >> 12n, uaddr: sourcePage(PATTERN), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
      snpLaunchFinish(c.vm);
      return c;
    }
    case 'tdx': {
      const c = cocoVmCreate(name, undefined);
      // KVM_TDX_INIT_VM already ran in __vmCreate(), before the vCPU.
      tdxInitVcpu(c.vcpu);
      vmMemSetPrivate(c.vm, c.gpa, 4096);
      tdxInitMemRegion(c.vcpu, { sourceAddr: sourcePage(PATTERN), gpa: c.gpa, nrPages: 1n, measure: true });
      tdxFinalizeVm(c.vm);
      return c;
    }
    case 'pkvm': {
      const c = cocoVmCreate(name, (g, base) => {
        g.memset(base, 4096, PATTERN);
        g.sync(1);
      }, { gmem: false });
      c.vcpu.args = [c.gpa];
      await _vcpuRun(c.vcpu);
      if (c.vcpu.run.exitReason !== KVM_EXIT_IO || getUcall(c.vcpu).cmd !== UCALL_SYNC) throw new Error('pkvm guest did not sync');
      return c;
    }
    case 'cca': {
      const c = cocoVmCreate(name, undefined, { gmemFlags: GUEST_MEMFD_FLAG_MMAP });
      vmMemSetPrivate(c.vm, c.gpa, 4096);
      rmiPopulate(c.vm, { base: c.gpa, size: 4096n, sourceUaddr: sourcePage(PATTERN), measure: true });
      return c;
    }
    default: {
      const c = cocoVmCreate(name, undefined, { gmemFlags: name === 'sw_protected' ? GUEST_MEMFD_FLAG_MMAP : undefined });
      if (name === 'sw_protected') vmMemSetPrivate(c.vm, c.gpa, 4096);
      return c;
    }
  }
}

const EXPECTED: Readonly<Record<string, readonly [string, string]>> = {
  sev: ['ciphertext', 'ok'],
  sev_es: ['ciphertext', 'ok'],
  snp: ['ciphertext', 'rmp-fault'],
  tdx: ['zeros', 'poisoned'],
  pkvm: ['signal', 'signal'],
  cca: ['signal', 'signal'],
  sw_protected: ['signal', 'signal'],
  default: ['ok', 'ok'],
};

for (const [name, [read, write]] of Object.entries(EXPECTED)) {
  t.test(name, async (t) => {
    const c = await privatePage(name);
    const r = hostReadPrivate(c.plugin, c.vm, c.gpa);
    t.equal(r.kind, read, 'read');
    if (r.kind === 'ciphertext') t.ok(r.data.some((b) => b !== PATTERN), 'not the plaintext');
    if (r.kind === 'zeros') t.ok(r.data.every((b) => b === 0), 'all zeros');
    if (r.kind === 'signal') t.equal(r.signal, name === 'pkvm' ? 'SIGSEGV' : 'SIGBUS');
    if (r.kind === 'signal' && name === 'pkvm') t.equal(r.code, 'SEGV_ACCERR');
    const w = hostWritePrivate(c.plugin, c.vm, c.gpa, data);
    t.equal(w.kind, write, 'write');
  });
}
