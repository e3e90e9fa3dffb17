// The kvm backend's cost per guest exit against a C loop on the same host:
// one guest program (N 4-byte MMIO stores, each a KVM_EXIT_MMIO) compiled by
// the guest agent, run through the backend (KVM_RUN on the vCPU's thread,
// awaited by the main thread) and by bench/anchors/kvm_exit.c (KVM_RUN in a loop on
// one thread) with the identical image and vCPU state. Runs interleave.
//   node --import tsx bench/figures/kvm_exit.ts [N=20000] [runs=5]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordGuestProgram } from '../../lib/guest/index.js';
import type { Backend } from '../../lib/kvm/backend.js';
import { KvmSystem } from '../../lib/kvm/handles.js';
import { createKvmBackend } from '../../lib/kvm/kvm/index.js';
import { supportedCpuid } from '../../lib/kvm/kvm/guest_setup.js';
import type { KvmBackend } from '../../lib/kvm/kvm/kvm_backend.js';
import { KVM_GET_SREGS, SIZEOF_KVM_SREGS } from '../../lib/kvm/kvm/enter_image.js';
import { agentRegs, compileGuestProgram } from '../../lib/kvm/x86/agent.js';
import { fmt } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const n = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 5);
const AREA = { gpa: 0x200000n, size: 0x200000n };
const UCALL = 0x10000n;
const MMIO = 0x900000n;

const made = createKvmBackend();
const figure = 'kvm backend exit cost (KVM_EXIT_MMIO)';
if (typeof made === 'string') {
  emitRow({ id: 'kvm_exit.mmio', figure, ours: '-', anchor: 'C loop: not run', ratio: null, target: '≤ 1.15×', met: null, note: made });
  process.exit(0);
}
const b = made as Backend;
const cpu = supportedCpuid(made as KvmBackend);
if (typeof cpu === 'number') throw new Error(`KVM_GET_SUPPORTED_CPUID: errno ${cpu}`);
const program = { ...recordGuestProgram((g) => { g.loop('forever', (l) => l.store(MMIO, 1, 4)); }), ucallGpa: UCALL, area: AREA };

const dir = mkdtempSync(join(tmpdir(), 'ksft-bench-exit-'));
const exe = join(dir, 'kvm_exit');
const cc = spawnSync('gcc', ['-O2', '-o', exe, join(root, 'bench/anchors/kvm_exit.c')], { encoding: 'utf8' });
if (cc.status !== 0) throw new Error(`gcc: ${cc.stderr}`);

/** A fresh default VM with slot 0 and one vCPU loaded with the program. */
function vcpuWithProgram(): { fd: number; done: () => void } {
  const { sys } = KvmSystem.__open(b);
  const { vm } = sys!.__createVm(0);
  const mem = b.mmap(0n, 0x800000n, 3, 0x22, -1, 0n).addr;
  vm!.__setUserMemoryRegion2({ slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: 0x800000n, userspaceAddr: mem });
  const { vcpu } = vm!.__createVcpu(0);
  const r = b.setGuestProgram(vcpu!.fd, program);
  if (r.ret) throw new Error(`setGuestProgram: ${r.unsupported ?? r.errno}`);
  return { fd: vcpu!.fd, done: () => { vcpu!.__close(); vm!.__close(); sys!.__close(); b.munmap(mem, 0x800000n); } };
}

// The C side gets the same image and vCPU state.
{
  const image = compileGuestProgram(program, { area: AREA, ucallGpa: UCALL, ucallHva: 0n, hypercall: cpu.vendor === 'intel' ? 'vmcall' : 'vmmcall', gbPages: cpu.gbPages });
  const { fd, done } = vcpuWithProgram();
  const sregs = new Uint8Array(SIZEOF_KVM_SREGS);
  b.ioctl(fd, KVM_GET_SREGS, sregs);
  writeFileSync(join(dir, 'image.bin'), image.bytes);
  writeFileSync(join(dir, 'sregs.bin'), sregs);
  writeFileSync(join(dir, 'regs.bin'), agentRegs(image));
  writeFileSync(join(dir, 'cpuid.bin'), cpu.cpuid2);
  done();
}

async function backendRun(): Promise<number> {
  const { fd, done } = vcpuWithProgram();
  await b.kvmRun(fd); // the first exit pays for faulting the image in
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await b.kvmRun(fd);
  const us = ((performance.now() - t0) * 1000) / n;
  done();
  return us;
}

function cRun(): number {
  const r = spawnSync(exe, [dir, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kvm_exit: ${r.stderr}`);
  return Number(r.stdout.split(' ')[0]);
}

mkdirSync(dir, { recursive: true });
const ts: number[] = [];
const c: number[] = [];
for (let i = 0; i < runs; i++) {
  c.push(cRun());
  ts.push(await backendRun());
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
process.stderr.write(`kvm exit (KVM_EXIT_MMIO), ${n} exits x ${runs} runs, interleaved\n`);
process.stderr.write(`  C loop       ${median(c).toFixed(2)} us/exit  (${c.map((x) => x.toFixed(1)).join(' ')})\n`);
process.stderr.write(`  kvm backend  ${median(ts).toFixed(2)} us/exit  (${ts.map((x) => x.toFixed(1)).join(' ')})\n`);
rmSync(dir, { recursive: true, force: true });
const ratio = median(ts) / median(c);
emitRow({ id: 'kvm_exit.mmio', figure, ours: `${fmt.us(median(ts))}/exit`, anchor: `C loop ${fmt.us(median(c))}/exit`, ratio, target: '≤ 1.15×', met: ratio <= 1.15 });
process.exit(0);
