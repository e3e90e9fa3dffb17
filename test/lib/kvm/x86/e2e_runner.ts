/**
 * Run one guest program on a backend (the model, or the real /dev/kvm with
 * the guest agent) and record what the host sees, exit by exit: the exit
 * reason and its payload, and at every ucall the whole struct ucall as the
 * host reads it through slot 0's HVA. Two backends given the same program
 * must record the same list.
 */
import type { Backend } from '../../../../lib/kvm/backend.js';
import type { GuestProgram } from '../../../../lib/kvm/guest_program.js';
import { KvmSystem, type KvmVcpuFd } from '../../../../lib/kvm/handles.js';
import {
  KVM_EXIT_HLT, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN,
  KVM_X86_DEFAULT_VM, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SIZEOF_UCALL, UCALL_BUFFER_LEN,
} from '../../../../lib/kvm/uapi.js';
import { EINTR } from '../../../../lib/kvm/errno.js';

export const SLOT0_SIZE = 0x800000n;
/** _IO(KVMIO, 0x60): the in-kernel PIC, IOAPIC and local APICs. */
const KVM_CREATE_IRQCHIP = 0xae60;
export const AREA = { gpa: 0x200000n, size: 0x200000n } as const;
export const UCALL_GPA = 0x10000n;

export type Exit =
  | { readonly reason: 'io'; readonly direction: number; readonly size: number; readonly port: number; readonly count: number; readonly rdi: bigint;
    readonly cmd: bigint; readonly args: readonly bigint[]; readonly text: string; readonly nulPadded: boolean; readonly hvaIsSlot0: boolean }
  | { readonly reason: 'mmio'; readonly gpa: bigint; readonly len: number; readonly isWrite: boolean; readonly data?: readonly number[] }
  | { readonly reason: 'memory_fault'; readonly flags: bigint; readonly gpa: bigint; readonly size: bigint }
  | { readonly reason: 'shutdown' | 'hlt' | 'internal_error' | 'kicked' }
  | { readonly reason: 'other'; readonly ret: number; readonly errno: number; readonly exitReason: number };

export interface RunSetup {
  /** More anonymous memslots (slot 10, 11, ...). */
  readonly slots?: readonly { readonly gpa: bigint; readonly size: bigint }[];
  /** The value an MMIO read gets, by GPA and how many reads came before. */
  readonly mmio?: (gpa: bigint, len: number, nth: number) => bigint;
  /** KVM_RUN calls before giving up. */
  readonly maxExits?: number;
  /** How long one KVM_RUN after the first may block before the vCPU is kicked (a halted guest). */
  readonly kickAfterMs?: number;
}

export type RunResult = { readonly exits: readonly Exit[] } | { readonly unsupported: string };

function anon(b: Backend, size: bigint): bigint {
  const m = b.mmap(0n, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  if (m.errno) throw new Error(`mmap(${size}) failed: errno ${m.errno}`);
  return m.addr;
}

async function runWithKick(vcpu: KvmVcpuFd, ms: number): Promise<{ ret: number; errno: number; kicked: boolean }> {
  let kicked = false;
  const timer = setTimeout(() => {
    kicked = true;
    vcpu.kick();
  }, ms);
  try {
    const r = await vcpu.__run();
    return { ret: r.ret, errno: r.errno, kicked };
  } finally {
    clearTimeout(timer);
  }
}

/** A default VM with slot 0 (ucall struct and code area) and `setup`'s slots; one vCPU running `program`. */
export async function runProgram(b: Backend, program: GuestProgram, setup: RunSetup = {}): Promise<RunResult> {
  const { sys } = KvmSystem.__open(b);
  if (!sys) throw new Error(`${b.name}: cannot open /dev/kvm`);
  const { vm, res } = sys.__createVm(KVM_X86_DEFAULT_VM);
  if (!vm) throw new Error(`${b.name}: KVM_CREATE_VM failed: errno ${res.errno}`);
  const maps: { addr: bigint; size: bigint }[] = [];
  let vcpu: KvmVcpuFd | undefined;
  try {
    // x86 kvm_util's kvm_arch_vm_post_create() creates the in-kernel irqchip,
    // so a halted vCPU blocks in kvm_vcpu_block() instead of exiting with
    // KVM_EXIT_HLT. The model has no interrupt controller and always blocks.
    const irq = vm.__ioctl(KVM_CREATE_IRQCHIP);
    if (irq.ret < 0 && !b.model) throw new Error(`${b.name}: KVM_CREATE_IRQCHIP failed: errno ${irq.errno}`);
    const slot0 = anon(b, SLOT0_SIZE);
    maps.push({ addr: slot0, size: SLOT0_SIZE });
    const add = (slot: number, gpa: bigint, size: bigint, hva: bigint): void => {
      const r = vm.__setUserMemoryRegion2({ slot, flags: 0, guestPhysAddr: gpa, memorySize: size, userspaceAddr: hva });
      if (r.ret) throw new Error(`${b.name}: KVM_SET_USER_MEMORY_REGION2 slot ${slot} failed: errno ${r.errno}`);
    };
    add(0, 0n, SLOT0_SIZE, slot0);
    (setup.slots ?? []).forEach((s, i) => {
      const hva = anon(b, s.size);
      maps.push({ addr: hva, size: s.size });
      add(10 + i, s.gpa, s.size, hva);
    });
    const made = vm.__createVcpu(0);
    if (!made.vcpu) throw new Error(`${b.name}: KVM_CREATE_VCPU failed: errno ${made.res.errno}`);
    vcpu = made.vcpu;
    const loaded = b.setGuestProgram(vcpu.fd, { ...program, ucallGpa: UCALL_GPA, area: AREA });
    if (loaded.ret) {
      if (loaded.unsupported) return { unsupported: loaded.unsupported };
      throw new Error(`${b.name}: setGuestProgram failed: errno ${loaded.errno}`);
    }
    const exits: Exit[] = [];
    let mmioReads = 0;
    for (let n = 0; n < (setup.maxExits ?? 64); n++) {
      // A guest that never exits is ended by the kick; generous by default and
      // always for the first run, as a guest under emulation (QEMU TCG in the
      // VM) takes seconds to get going.
      const r = await runWithKick(vcpu, n === 0 ? 20_000 : setup.kickAfterMs ?? 20_000);
      const run = vcpu.run;
      const reason = run.exitReason;
      if (r.ret < 0 && r.errno === EINTR) {
        exits.push({ reason: r.kicked ? 'kicked' : 'other', ...(r.kicked ? {} : { ret: r.ret, errno: r.errno, exitReason: reason }) } as Exit);
        break;
      }
      if (r.ret < 0 && reason === KVM_EXIT_MEMORY_FAULT) {
        exits.push({ reason: 'memory_fault', flags: run.memoryFaultFlags, gpa: run.memoryFaultGpa, size: run.memoryFaultSize });
        break;
      }
      if (r.ret < 0) {
        exits.push({ reason: 'other', ret: r.ret, errno: r.errno, exitReason: reason });
        break;
      }
      if (reason === KVM_EXIT_IO) {
        const rdi = vcpu.__getRegs().regs!.rdi;
        const uc = b.hostRead(slot0 + rdi, SIZEOF_UCALL);
        const dv = new DataView(uc.buffer, uc.byteOffset, uc.byteLength);
        const buf = uc.subarray(64, 64 + UCALL_BUFFER_LEN);
        const nul = buf.indexOf(0);
        exits.push({
          reason: 'io', direction: run.ioDirection, size: run.ioSize, port: run.ioPort, count: run.ioCount, rdi,
          cmd: dv.getBigUint64(0, true), args: [0, 1, 2, 3, 4, 5, 6].map((i) => dv.getBigUint64(8 + 8 * i, true)),
          text: Buffer.from(buf.subarray(0, nul < 0 ? buf.length : nul)).toString('utf8'),
          nulPadded: nul >= 0 && buf.subarray(nul).every((x) => x === 0),
          hvaIsSlot0: dv.getBigUint64(64 + UCALL_BUFFER_LEN, true) === slot0 + rdi,
        });
        continue;
      }
      if (reason === KVM_EXIT_MMIO) {
        const bytes = run.bytes;
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const gpa = dv.getBigUint64(32, true);
        const len = dv.getUint32(48, true);
        const isWrite = bytes[52] !== 0;
        // A read's data is the host's answer; what KVM leaves there before it is not part of the exit.
        exits.push({ reason: 'mmio', gpa, len, isWrite, ...(isWrite ? { data: Array.from(bytes.subarray(40, 40 + len)) } : {}) });
        if (!isWrite) {
          let v = setup.mmio?.(gpa, len, mmioReads++) ?? 0n;
          for (let i = 0; i < 8; i++, v >>= 8n) bytes[40 + i] = Number(v & 0xffn);
        }
        continue;
      }
      const simple: Record<number, Exit['reason']> = { [KVM_EXIT_SHUTDOWN]: 'shutdown', [KVM_EXIT_HLT]: 'hlt', [KVM_EXIT_INTERNAL_ERROR]: 'internal_error' };
      exits.push(simple[reason] ? ({ reason: simple[reason] } as Exit) : { reason: 'other', ret: r.ret, errno: r.errno, exitReason: reason });
      if (reason !== KVM_EXIT_HLT) break;
    }
    return { exits };
  } finally {
    vcpu?.__close();
    vm.__close();
    sys.__close();
    for (const m of maps) b.munmap(m.addr, m.size);
  }
}
