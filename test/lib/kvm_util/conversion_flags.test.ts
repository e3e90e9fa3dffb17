/**
 * The portable conversion call carries the test's flags on every platform
 * that converts (lib/platform/conversions.ts, portableConversion()): in a2
 * on SW_PROTECTED, in a note ucall before TDX's MapGPA, SNP's PSC and
 * CCA's RSI_IPA_STATE_SET; vcpuRunConversion() hands each request back
 * decoded with them, and a later call without flags never inherits them.
 */
import t from 'tap';
import { KVM_EXIT_HYPERCALL, KVM_HC_MAP_GPA_RANGE, UCALL_DONE, UCALL_SYNC } from '../../../lib/kvm/uapi.js';
import { recordGuestProgram } from '../../../lib/guest/index.js';
import {
  cocoLaunch, cocoVmCreate, getUcall, requireConversion, runToUcall, vcpuRunConversion, vmMemSetPrivate, vmMemSetShared,
  type ConversionRequest, type GuestBuilder,
} from '../../../lib/kvm_util/index.js';
import { UCALL_CONVERSION_NOTE, loadPlatform } from '../../../lib/platform/index.js';

const PAGE = 4096;
const FLAGS = 0x5n;
const PUNCH = 0x6n;

for (const name of ['sw_protected', 'tdx', 'snp', 'cca']) {
  t.test(`${name}: convert(), request() and a flagless convert() reach the host with their flags`, async (t) => {
    const c = cocoVmCreate(name, (g, base) => {
      const conv = requireConversion(loadPlatform(name));
      conv.convert(g, base, 2 * PAGE, true, FLAGS);
      conv.request(g, base, PAGE, PUNCH);
      conv.reacquire(g, base, PAGE);
      conv.convert(g, base, 2 * PAGE, false);
      g.sync(1);
      g.done();
    });
    cocoLaunch(c);
    const conv = requireConversion(c.plugin);
    const seen: ConversionRequest[] = [];
    for (;;) {
      const req = await vcpuRunConversion(c.vcpu, conv);
      if (!req) break;
      seen.push(req);
      if (req.converts) (req.toPrivate ? vmMemSetPrivate : vmMemSetShared)(c.vm, req.gpa, req.size);
      conv.complete(c.vcpu.run, 0n);
    }
    t.equal(getUcall(c.vcpu).cmd, UCALL_SYNC, 'the guest got past every call');
    const to = seen.filter((r) => r.converts && r.toPrivate);
    const back = seen.filter((r) => r.converts && !r.toPrivate);
    const asks = seen.filter((r) => !r.converts);
    t.ok(to.length > 0 && to.every((r) => r.flags === FLAGS), 'every exit of the flagged conversion carries its flags');
    t.equal(to.reduce((n, r) => n + r.size, 0n), BigInt(2 * PAGE), 'and they cover the range');
    t.same(asks.map((r) => [r.gpa, r.size, r.flags]), [[c.gpa, BigInt(PAGE), PUNCH]], 'request() is one request with its flags');
    t.ok(back.length > 0 && back.every((r) => r.flags === 0n), 'a conversion without flags has none');
    await runToUcall(c.vcpu, UCALL_DONE, { serve: c.plugin });
  });
}

t.test('SW_PROTECTED: the flags ride in a2 as the upstream test puts them, no note', async (t) => {
  const conv = requireConversion(loadPlatform('sw_protected'));
  const p = recordGuestProgram((g) => conv.convert(g, 1n << 32n, PAGE, false, FLAGS));
  t.same(p.ops.map((o) => o.op), ['hypercall']);
  const c = cocoVmCreate('sw_protected', (g, base) => {
    conv.convert(g, base, PAGE, false, FLAGS);
    g.done();
  });
  await vcpuRunConversion(c.vcpu, conv);
  t.equal(c.vcpu.run.exitReason, KVM_EXIT_HYPERCALL);
  t.equal(c.vcpu.run.hypercallNr, BigInt(KVM_HC_MAP_GPA_RANGE));
  t.equal(c.vcpu.run.hypercallArg(2), FLAGS, 'a2 is the flags (to shared: no ENCRYPTED bit)');
});

t.test('TDX: the note is a ucall of its own command, before MapGPA', async (t) => {
  const conv = requireConversion(loadPlatform('tdx'));
  const p = recordGuestProgram((g) => conv.convert(g, 1n << 32n, PAGE, true, FLAGS));
  const first = p.ops[0]!;
  t.equal(first.op, 'ucall');
  t.equal(first.op === 'ucall' ? first.cmd : -1, UCALL_CONVERSION_NOTE);
  t.same(p.ops.slice(1).map((o) => (o.op === 'platform' ? o.call : o.op)), ['tdx.map_gpa', 'tdx.accept', 'assert']);
  const plain = recordGuestProgram((g) => conv.convert(g, 1n << 32n, PAGE, true));
  t.equal(plain.ops.length, p.ops.length - 1, 'without flags, no note');
});

t.test('the note compiles for the kvm backend\'s guest agent (x86-64), as any ucall', async (t) => {
  const { compileGuestProgram } = await import('../../../lib/kvm/x86/agent.js');
  const conv = requireConversion(loadPlatform('sw_protected'));
  const area = { gpa: 0x200000n, size: 0x200000n };
  const compile = (record: (g: GuestBuilder) => void): Buffer => {
    const p = recordGuestProgram((g) => { record(g); g.done(); });
    return Buffer.from(compileGuestProgram({ ...p, area, ucallGpa: 0x10000n }, { area, ucallGpa: 0x10000n, ucallHva: 0x7f0000010000n, hypercall: 'vmcall', gbPages: true }).bytes);
  };
  // The note's command, as the agent stores it into struct ucall (a little-endian immediate).
  const cmd = Buffer.alloc(4);
  cmd.writeUInt32LE(UCALL_CONVERSION_NOTE);
  t.ok(compile((g) => conv.request(g, 0x200000n, PAGE, PUNCH)).includes(cmd), 'the image stores the note\'s command');
  t.notOk(compile(() => {}).includes(cmd), 'a program without a note does not');
});
