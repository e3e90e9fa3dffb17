// The struct layer: C's natural alignment, C's truncation on assignment,
// and the sizes and offsets of every struct the project declares, against
// the kernel's (measured with sizeof/offsetof on the 6.12 uAPI headers,
// x86-64; the series' structs as pinned).
import t from 'tap';
import { array, getU32, getU64, putU32, putU64, struct, u16, u32, u64, u8, type Struct } from '../../../lib/kvm/layout.js';
import * as kvm from '../../../lib/kvm/structs.js';
import * as cca from '../../../platforms/cca/uapi.js';
import * as sev from '../../../platforms/sev/uapi.js';
import * as snp from '../../../platforms/snp/uapi.js';
import * as tdx from '../../../platforms/tdx/uapi.js';

const SIZES: [Struct, number][] = [
  [kvm.kvm_userspace_memory_region, 32], [kvm.kvm_userspace_memory_region2, 160], [kvm.kvm_memory_attributes, 32],
  [kvm.kvm_memory_attributes2, 128], [kvm.kvm_create_guest_memfd, 64], [kvm.kvm_pre_fault_memory, 64],
  [kvm.kvm_enable_cap, 104], [kvm.kvm_device_attr, 24], [kvm.kvm_mp_state, 4], [kvm.kvm_interrupt, 4], [kvm.kvm_regs, 144],
  [kvm.kvm_segment, 24], [kvm.kvm_dtable, 16], [kvm.kvm_sregs, 312], [kvm.kvm_cpuid_entry2, 40], [kvm.kvm_cpuid2, 8],
  [kvm.ucall, 1096],
  [sev.kvm_sev_cmd, 24], [sev.kvm_sev_init, 48], [sev.kvm_sev_launch_start, 40], [sev.kvm_sev_launch_update_data, 16],
  [sev.kvm_sev_launch_secret, 48],
  [snp.kvm_sev_snp_launch_start, 64], [snp.kvm_sev_snp_launch_update, 64], [snp.kvm_sev_snp_launch_finish, 88],
  [snp.snp_cpuid_fn, 48], [snp.snp_cpuid_table, 16 + 64 * 48],
  [tdx.kvm_tdx_cmd, 24], [tdx.kvm_tdx_init_mem_region, 24], [tdx.kvm_tdx_init_vm, 264],
  [cca.kvm_arm_rmi_populate, 32],
];

t.test('sizeof of every declared struct', async (t) => {
  for (const [s, size] of SIZES) t.equal(s.size, size, `sizeof(struct ${s.name})`);
});

t.test('offsetof where alignment or nesting decides it', async (t) => {
  const o = <F extends Record<string, unknown>>(s: { offsets: F }): F => s.offsets;
  t.equal(o(kvm.kvm_userspace_memory_region2).guestMemfdOffset, 32);
  t.equal(o(kvm.kvm_userspace_memory_region2).guestMemfd, 40);
  t.equal(o(kvm.kvm_userspace_memory_region2).pad2, 48);
  t.equal(o(kvm.kvm_memory_attributes2).errorOffset, 32);
  t.equal(o(kvm.kvm_memory_attributes2).reserved, 40);
  t.equal(o(kvm.kvm_enable_cap).args, 8);
  t.equal(o(kvm.kvm_enable_cap).pad, 40);
  t.equal(o(kvm.kvm_segment).selector, 12);
  t.equal(o(kvm.kvm_segment).unusable, 22);
  t.equal(o(kvm.kvm_sregs).tr, 144);
  t.equal(o(kvm.kvm_sregs).gdt, 192);
  t.equal(o(kvm.kvm_sregs).idt, 208);
  t.equal(o(kvm.kvm_sregs).cr0, 224);
  t.equal(o(kvm.kvm_sregs).apic_base, 272);
  t.equal(o(kvm.kvm_sregs).interrupt_bitmap, 280);
  t.equal(o(kvm.kvm_regs).rip, 128);
  t.equal(o(kvm.kvm_regs).rflags, 136);
  t.equal(o(kvm.ucall).hva, 1088);
  t.equal(o(sev.kvm_sev_cmd).error, 16);
  t.equal(o(sev.kvm_sev_cmd).sevFd, 20);
  t.equal(o(sev.kvm_sev_init).ghcbVersion, 12);
  t.equal(o(sev.kvm_sev_launch_start).sessionUaddr, 24);
  t.equal(o(sev.kvm_sev_launch_secret).transLen, 40);
  t.equal(o(snp.kvm_sev_snp_launch_start).flags, 24);
  t.equal(o(snp.kvm_sev_snp_launch_update).type, 24);
  t.equal(o(snp.kvm_sev_snp_launch_update).flags, 26);
  t.equal(o(snp.kvm_sev_snp_launch_finish).flags, 54);
  t.equal(o(snp.kvm_sev_snp_launch_finish).pad1, 56);
  t.equal(o(snp.snp_cpuid_fn).eax, 24);
  t.equal(o(snp.snp_cpuid_table).fn, 16);
  t.equal(o(tdx.kvm_tdx_init_vm).cpuid, 256);
  t.equal(o(cca.kvm_arm_rmi_populate).flags, 24);
});

t.test('natural alignment: holes before wider fields, tail padding to the widest', async (t) => {
  const s = struct('s', { a: u8, b: u64, c: u16, d: u8, e: u32 });
  t.same(s.offsets, { a: 0, b: 8, c: 16, d: 18, e: 20 });
  t.equal(s.size, 24);
  t.equal(s.align, 8);
  t.equal(struct('t', { a: u64, b: u8 }).size, 16, 'tail padding');
  t.equal(struct('t', { a: u8, b: u8, c: u8 }).size, 3, 'no padding among bytes');
  t.equal(struct('t', { a: u8, b: array(u16, 3) }).offsets.b, 2, 'an array aligns as its element');
  const inner = struct('inner', { x: u32, y: u8 });
  t.equal(inner.size, 8);
  const outer = struct('outer', { a: u8, in: inner, b: u8 });
  t.same(outer.offsets, { a: 0, in: 4, b: 12 }, 'a nested struct aligns as its widest field');
  t.equal(outer.size, 16);
  t.equal(struct('empty', {}).size, 0);
  t.throws(() => struct('bad', { 'a-b': u8 }), /not an identifier/);
  t.equal(struct('kw', { function: u32 }).decode(new Uint8Array([1, 0, 0, 0])).function, 1, 'a C field named like a JavaScript keyword');
  t.throws(() => array(u8, 1.5), /not a count/);
});

t.test('encode: designated-initializer zeroes, C truncation, little-endian', async (t) => {
  const s = struct('s', { a: u8, b: u16, c: u32, d: u64, e: array(u32, 3) });
  const b = s.encode({ a: 0x1ff, b: -1, c: (1n << 32n) + 7n, d: -1n, e: [1, 2] });
  t.equal(b.length, s.size);
  t.equal(b[0], 0xff, 'u8 keeps the low byte of a number');
  t.equal(b[1], 0, 'padding is zero');
  t.equal(getU32(b, 0) >>> 16, 0xffff, 'u16 of -1');
  t.equal(getU32(b, 4), 7, 'u32 of a bigint past 2^32');
  t.equal(getU64(b, 8), (1n << 64n) - 1n, 'u64 of -1n');
  t.same([getU32(b, 16), getU32(b, 20), getU32(b, 24)], [1, 2, 0], 'an array\'s missing tail is zero');
  t.same(Array.from(s.encode({})), new Array(s.size).fill(0));
  t.equal(getU64(s.encode({ d: (1n << 64n) + 5n }), 8), 5n);
  const long = s.encode({ e: [1, 2, 3, 4] });
  t.same([getU32(long, 24), getU32(long, 28)], [3, 0], 'an array longer than the field is cut: the tail padding stays zero');
  t.throws(() => s.encode({ c: 1.5 }), /not an integer/);
  t.throws(() => s.encode({ c: Number.NaN }), /not an integer/);
});

t.test('encode returns a buffer of its own; decode reads a copy', async (t) => {
  const s = struct('s', { a: u64, b: u64 });
  const x = s.encode({ a: 1n });
  const y = s.encode({ a: 2n });
  t.equal(getU64(x, 0), 1n, 'a later encode does not change an earlier result');
  t.equal(getU64(y, 0), 2n);
  const d = s.decode(x);
  putU64(x, 0, 9n);
  t.equal(d.a, 1n);
  const big = struct('big', { pad: array(u8, 600), z: u64 });
  t.equal(getU64(big.encode({ z: 3n }), 600), 3n, 'structs past the scratch size work');
  t.equal(big.decode(big.encode({ z: 4n })).z, 4n);
  t.equal(getU64(s.encode({ b: 5n }), 8), 5n, 'and small ones after them');
});

t.test('decode: types by field, short buffers read as zero, at an offset', async (t) => {
  const s = struct('s', { a: u8, b: u16, c: u32, d: u64, e: array(u64, 2), n: struct('n', { x: u32 }) });
  const v = s.decode(s.encode({ a: 1, b: 2, c: 3, d: 4n, e: [5n, 6n], n: { x: 7 } }));
  t.same(v, { a: 1, b: 2, c: 3, d: 4n, e: [5n, 6n], n: { x: 7 } });
  t.same(s.decode(new Uint8Array([9])), { a: 9, b: 0, c: 0, d: 0n, e: [0n, 0n], n: { x: 0 } }, 'an older, shorter struct');
  const buf = new Uint8Array(64);
  s.encodeInto(buf, 8, { d: 42n });
  t.equal(s.decode(buf, 8).d, 42n);
  t.equal(getU64(buf, 16), 42n);
  t.equal(s.decode(buf.subarray(8)).d, 42n, 'a window on a larger buffer');
  t.throws(() => s.encodeInto(buf, 40, {}), /does not fit/);
});

t.test('encodeInto writes only the fields given', async (t) => {
  const b = kvm.encodeMemoryAttributes2({ offset: 1, size: 2, attributes: 3 });
  kvm.setMemoryAttributes2ErrorOffset(b, 0x1000n);
  t.same(kvm.decodeMemoryAttributes2(b), { offset: 1n, size: 2n, attributes: 3n, flags: 0n, errorOffset: 0x1000n, reserved: new Array(11).fill(0n) });
  const c = sev.encodeSevCmd({ id: 3, data: 0x1234n, sevFd: 5 });
  sev.setSevCmdError(c, 22);
  t.same(sev.decodeSevCmd(c), { id: 3, data: 0x1234n, error: 22, sevFd: 5 });
});

t.test('u32/u64 byte helpers', async (t) => {
  const b = new Uint8Array(16);
  putU64(b.subarray(4), 0, -1n);
  t.equal(getU64(b, 4), (1n << 64n) - 1n);
  putU32(b, 0, -1);
  t.equal(getU32(b, 0), 0xffffffff);
  putU32(b, 0, (1n << 32n) + 1n);
  t.equal(getU32(b, 0), 1);
  putU64(b, 8, 7);
  t.equal(getU64(b, 8), 7n);
});

t.test('the platform encoders round-trip through their layouts', async (t) => {
  const u = { gfnStart: 0x100n, uaddr: 0x7f0000000000n, len: 0x2000n, type: 1, flags: 0 };
  t.same(snp.decodeSnpLaunchUpdate(snp.encodeSnpLaunchUpdate(u)), u);
  t.equal(snp.encodeSnpLaunchUpdate(u)[24], 1, 'type @24');
  const fns = [{ eaxIn: 1, ecxIn: 0, eax: 2, ebx: 3, ecx: 4, edx: 5 }, { eaxIn: 7, ecxIn: 1, eax: 6, ebx: 7, ecx: 8, edx: 9 }];
  const page = snp.encodeCpuidPage(fns);
  t.equal(page.length, 4096);
  t.equal(getU32(page, 16 + 48 + 24), 6, 'second entry\'s eax @ 16 + 48 + 24');
  t.same(snp.decodeCpuidPage(page), fns);
  const vm = tdx.encodeTdxInitVm({ attributes: 1n, cpuid: [{ fn: 0x80000001, index: 0, eax: 1, ebx: 2, ecx: 3, edx: 4 }] });
  t.equal(vm.length, 264 + 40);
  t.equal(getU32(vm, 256), 1, 'cpuid.nent @256');
  t.same(tdx.decodeCpuidEntries(vm.subarray(264), 1), [{ fn: 0x80000001, index: 0, eax: 1, ebx: 2, ecx: 3, edx: 4 }]);
  const p = { base: 0x1000n, size: 0x2000n, sourceUaddr: 0x3000n, flags: 1 };
  t.same(cca.decodeRmiPopulate(cca.encodeRmiPopulate(p)), p);
  t.same(sev.decodeSevInit(sev.encodeSevInit({ vmsaFeatures: 1n, flags: 2, ghcbVersion: 2 })), { vmsaFeatures: 1n, flags: 2, ghcbVersion: 2 });
  t.same(sev.decodeUaddrLen(sev.encodeUaddrLen(0x10n, 4096)), { uaddr: 0x10n, len: 4096 });
});
