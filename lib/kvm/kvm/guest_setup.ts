/**
 * Loading a guest program into a real vCPU: what kvm_util.c does with the
 * test ELF and vcpu_arch_set_entry_point(), done by the `kvm` backend with
 * the guest agent (lib/kvm/x86): the program is compiled to x86-64 code,
 * copied with its page tables, GDT and stack into the area kvm_util set
 * aside in slot 0, and the vCPU gets CPUID, long-mode segments and RIP.
 *
 * What the agent cannot serve is an unmet requirement, not an error: a
 * confidential VM type (the agent knows no C-bit or shared bit), a
 * platform's own guest operation, or hypercalls on a host whose KVM does
 * not deliver them to userspace.
 */
import type { GuestProgramResult } from '../backend.js';
import { EFAULT, EINVAL, EOPNOTSUPP } from '../errno.js';
import { someGuestOp, type GuestProgram } from '../guest_program.js';
import {
  KVM_CAP_DISABLE_QUIRKS2, KVM_CHECK_EXTENSION, KVM_ENABLE_CAP, KVM_X86_QUIRK_FIX_HYPERCALL_INSN, KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM,
} from '../uapi.js';
import { encodeEnableCap } from '../structs.js';
import { AgentError, compileGuestProgram, type AgentImage } from '../x86/agent.js';
import { enterImage } from './enter_image.js';
import { getSupportedCpuid, type SupportedCpuid } from './cpuid.js';
import { probeHypercalls } from './hypercall_probe.js';
import type { KvmBackend, VcpuFile } from './kvm_backend.js';

let cpuid: SupportedCpuid | number | undefined;

export function supportedCpuid(b: KvmBackend): SupportedCpuid | number {
  cpuid ??= getSupportedCpuid(b.libc, b.systemFd());
  return cpuid;
}

const unsupported = (why: string): GuestProgramResult => ({ ret: -1, errno: EOPNOTSUPP, unsupported: why });
const failed = (errno: number): GuestProgramResult => ({ ret: -1, errno });

/**
 * Without the quirk a hypercall instruction of the other vendor is a #UD
 * in the guest instead of KVM patching the guest's code
 * (kvm_fix_hypercall()), which on a host that cannot complete it anyway
 * turns a livelock into a clean shutdown. Done once per VM, where offered.
 */
function disableFixHypercallQuirk(b: KvmBackend, v: VcpuFile): void {
  const vm = v.vm;
  if (vm.agentCaps.has(KVM_CAP_DISABLE_QUIRKS2)) return;
  vm.agentCaps.add(KVM_CAP_DISABLE_QUIRKS2);
  const quirks = b.libc.ioctlInt(vm.fd, KVM_CHECK_EXTENSION, BigInt(KVM_CAP_DISABLE_QUIRKS2));
  if (quirks > 0 && quirks & KVM_X86_QUIRK_FIX_HYPERCALL_INSN) {
    b.libc.ioctlPtr(vm.fd, KVM_ENABLE_CAP, encodeEnableCap({ cap: KVM_CAP_DISABLE_QUIRKS2, args: [BigInt(KVM_X86_QUIRK_FIX_HYPERCALL_INSN)] }));
  }
}

export function loadGuestProgram(b: KvmBackend, v: VcpuFile, program: GuestProgram): GuestProgramResult {
  const type = v.vm.type;
  if (type !== KVM_X86_DEFAULT_VM && type !== KVM_X86_SW_PROTECTED_VM) {
    return unsupported(`the kvm backend's guest agent runs default and SW_PROTECTED VMs (VM type ${type} needs its platform's guest support)`);
  }
  let platformCall = '';
  if (someGuestOp(program.ops, (op) => { if (op.op === 'platform') platformCall = op.call; return op.op === 'platform'; })) {
    return unsupported(`the kvm backend's guest agent has no platform operation '${platformCall}'`);
  }
  const { area, ucallGpa } = program;
  if (!area || ucallGpa === undefined) return failed(EINVAL);
  const areaSlot = v.vm.slotAt(area.gpa);
  const ucallSlot = v.vm.slotAt(ucallGpa);
  if (!areaSlot || !ucallSlot || areaSlot.hva === 0n || area.gpa + area.size > areaSlot.gpa + areaSlot.size) return failed(EFAULT);
  const cpu = supportedCpuid(b);
  if (typeof cpu === 'number') return failed(cpu);
  const hypercall = cpu.vendor === 'intel' ? 'vmcall' : 'vmmcall';
  if (someGuestOp(program.ops, (op) => op.op === 'hypercall')) {
    const why = probeHypercalls(b, cpu);
    if (why) return unsupported(why);
    disableFixHypercallQuirk(b, v);
  }
  let image: AgentImage;
  try {
    image = compileGuestProgram(program, {
      area, ucallGpa, ucallHva: ucallSlot.hva + (ucallGpa - ucallSlot.gpa), hypercall, gbPages: cpu.gbPages,
    });
  } catch (e) {
    if (e instanceof AgentError) return unsupported(`the kvm backend's guest agent cannot compile this program: ${e.message}`);
    throw e;
  }
  b.hostWrite(areaSlot.hva + (area.gpa - areaSlot.gpa), image.bytes);
  const e = enterImage(b.libc, v.fd, image, v.cpuidSet ? undefined : cpu.cpuid2);
  if (e) return failed(e);
  v.cpuidSet = true;
  return { ret: 0, errno: 0 };
}
