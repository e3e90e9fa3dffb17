/**
 * Whether a guest hypercall reaches userspace on this host, asked once per
 * process before a program with hypercalls is loaded: a throwaway VM with
 * KVM_CAP_EXIT_HYPERCALL for KVM_HC_MAP_GPA_RANGE runs one vmcall/vmmcall
 * under a watchdog and must come back with KVM_EXIT_HYPERCALL (nr 12).
 *
 * Why a probe: KVM_CHECK_EXTENSION(KVM_CAP_EXIT_HYPERCALL) can promise the
 * exit on hosts where the instruction never completes. On a PVM host (the
 * guest in ring 3 under shadow paging) the hypercall instruction is
 * emulated, and with KVM_X86_QUIRK_FIX_HYPERCALL_INSN the emulator keeps
 * rewriting and re-executing it: the vCPU spins inside KVM_RUN and only a
 * signal ends it. The probe disables that quirk, so the same host answers
 * with #UD and a triple fault (KVM_EXIT_SHUTDOWN) instead, and still has
 * its watchdog for a host that spins anyway.
 */
import { existsSync } from 'node:fs';
import { EXIT_REASON_NAMES, KVM_CAP_EXIT_HYPERCALL, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_ENABLE_CAP, KVM_EXIT_HYPERCALL,
  KVM_GET_VCPU_MMAP_SIZE, KVM_HC_MAP_GPA_RANGE, KVM_SET_USER_MEMORY_REGION, KVM_X86_DEFAULT_VM } from '../uapi.js';
import { encodeEnableCap, encodeUserspaceMemoryRegion } from '../structs.js';
import { KvmRun } from '../kvm_run.js';
import type { SupportedCpuid } from './cpuid.js';
import type { KvmBackend } from './kvm_backend.js';
import { enterImage } from './enter_image.js';
import { KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_FIX_HYPERCALL_INSN } from '../uapi.js';
import { compileGuestProgram } from '../x86/agent.js';
import { VcpuThread } from './vcpu_thread.js';

/** How long one hypercall may take before the probe calls it a livelock. */
export const HYPERCALL_PROBE_MS = 1000;

const MEM = 4n << 20n;
const AREA = { gpa: 2n << 20n, size: 2n << 20n };
const UCALL_GPA = 0x10000n;

let verdict: string | null | undefined;

/** null when hypercalls exit to userspace; otherwise the requirement this host does not meet. */
export function probeHypercalls(b: KvmBackend, cpu: SupportedCpuid): string | null {
  if (verdict === undefined) verdict = probe(b, cpu);
  return verdict;
}

function probe(b: KvmBackend, cpu: SupportedCpuid): string | null {
  const insn = cpu.vendor === 'intel' ? 'vmcall' : 'vmmcall';
  const host = existsSync('/sys/module/kvm_pvm') ? ' (kvm_pvm)' : '';
  const need = `guest ${insn} reaches userspace as KVM_EXIT_HYPERCALL`;
  const { libc } = b;
  const fds: number[] = [];
  let mem = 0n;
  let runMap: [bigint, number] | undefined;
  let thread: VcpuThread | undefined;
  try {
    const vm = libc.ioctlInt(b.systemFd(), KVM_CREATE_VM, BigInt(KVM_X86_DEFAULT_VM));
    if (vm < 0) return `${need}: the probe VM could not be created (errno ${libc.errno()})`;
    fds.push(vm);
    libc.ioctlPtr(vm, KVM_ENABLE_CAP, encodeEnableCap({ cap: KVM_CAP_EXIT_HYPERCALL, args: [1n << BigInt(KVM_HC_MAP_GPA_RANGE)] }));
    libc.ioctlPtr(vm, KVM_ENABLE_CAP, encodeEnableCap({ cap: KVM_CAP_DISABLE_QUIRKS2, args: [BigInt(KVM_X86_QUIRK_FIX_HYPERCALL_INSN)] }));
    mem = libc.mmap(0n, MEM, 3, 0x22, -1, 0n);
    if (libc.ioctlPtr(vm, KVM_SET_USER_MEMORY_REGION, encodeUserspaceMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: MEM, userspaceAddr: mem })) < 0) {
      return `${need}: the probe memslot was refused (errno ${libc.errno()})`;
    }
    const vcpu = libc.ioctlInt(vm, KVM_CREATE_VCPU, 0n);
    if (vcpu < 0) return `${need}: the probe vCPU could not be created (errno ${libc.errno()})`;
    fds.push(vcpu);
    const runSize = libc.ioctlInt(b.systemFd(), KVM_GET_VCPU_MMAP_SIZE, 0n);
    const runAddr = libc.mmap(0n, BigInt(runSize), 3, 0x01, vcpu, 0n);
    runMap = [runAddr, runSize];
    const run = new KvmRun(libc.view(runAddr, runSize));
    const loc = { file: 'lib/kvm/kvm/hypercall_probe.ts', line: 0 };
    const image = compileGuestProgram(
      { ops: [{ op: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE), args: [0n, 1n, 0n, 0n], expr: '', loc }], ucallGpa: UCALL_GPA, area: AREA },
      { area: AREA, ucallGpa: UCALL_GPA, ucallHva: mem + UCALL_GPA, hypercall: insn, gbPages: cpu.gbPages },
    );
    libc.view(mem + AREA.gpa, image.bytes.length).set(image.bytes);
    const e = enterImage(libc, vcpu, image, cpu.cpuid2);
    if (e) return `${need}: the probe vCPU could not be set up (errno ${e})`;
    const d = libc.dup(vcpu);
    thread = new VcpuThread(libc, d, (x) => { run.immediateExit = x; });
    const r = thread.runSync(HYPERCALL_PROBE_MS);
    if (r.timedOut) return `${need}: on this host's KVM${host} it was still inside KVM_RUN after ${HYPERCALL_PROBE_MS} ms (a livelock only a signal ends)`;
    if (r.ret === 0 && run.exitReason === KVM_EXIT_HYPERCALL && run.hypercallNr === BigInt(KVM_HC_MAP_GPA_RANGE)) return null;
    const reason = run.exitReason;
    return `${need}: on this host's KVM${host} it ended in ${r.ret < 0 ? `KVM_RUN errno ${r.errno}` : `KVM_EXIT_${EXIT_REASON_NAMES[reason] ?? reason}`}`;
  } finally {
    thread?.end();
    if (runMap) libc.munmap(runMap[0], BigInt(runMap[1]));
    for (const fd of fds.reverse()) libc.close(fd);
    if (mem) libc.munmap(mem, MEM);
  }
}
