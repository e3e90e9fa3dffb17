// What the host offers the VM: hardware acceleration, the TSC frequency, the
// QEMU binary. The decisions are pure functions of facts read separately, so
// the tests can feed them any host.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { VmInputError, type Accel } from './options.js';

export interface HostFacts {
  /** /proc/cpuinfo. */
  cpuinfo: string;
  /** /dev/kvm opens read-write for this user. */
  kvmUsable: boolean;
  /**
   * The host's /dev/kvm is PVM (/sys/module/kvm_pvm): it creates default VMs
   * without hardware virtualization, which QEMU cannot use as an accelerator
   * for a guest that itself runs KVM.
   */
  pvm: boolean;
  /** /sys/devices/system/cpu/cpu0/tsc_freq_khz, where the kernel has it. */
  tscFreqKhz?: string;
}

export function readHostFacts(): HostFacts {
  const read = (p: string): string | undefined => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  let kvmUsable = false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    kvmUsable = true;
  } catch {
    // absent or not ours: TCG
  }
  return {
    cpuinfo: read('/proc/cpuinfo') ?? '',
    kvmUsable,
    pvm: existsSync('/sys/module/kvm_pvm'),
    tscFreqKhz: read('/sys/devices/system/cpu/cpu0/tsc_freq_khz'),
  };
}

/** The CPU flags of the first processor in /proc/cpuinfo. */
export function cpuFlags(cpuinfo: string): Set<string> {
  const m = /^flags\s*:(.*)$/m.exec(cpuinfo);
  return new Set(m ? m[1]!.trim().split(/\s+/) : []);
}

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  /** Why, for the verbose line and for the error when kvm was asked for. */
  why: string;
}

/**
 * -accel kvm needs hardware virtualization the guest can nest under: a
 * usable /dev/kvm on a CPU with VMX or SVM, and not PVM. Anything else runs
 * under TCG, which is slow but emulates SVM with nested paging.
 */
export function chooseAccel(want: Accel, f: HostFacts): AccelChoice {
  const flags = cpuFlags(f.cpuinfo);
  const hw = flags.has('vmx') ? 'vmx' : flags.has('svm') ? 'svm' : undefined;
  let missing: string | undefined;
  if (!f.kvmUsable) missing = '/dev/kvm is missing or not read-write for this user';
  else if (f.pvm) missing = "the host's KVM is PVM (kvm_pvm), which QEMU cannot nest a KVM guest under";
  else if (!hw) missing = '/proc/cpuinfo has neither vmx nor svm';
  if (want === 'tcg') return { accel: 'tcg', why: 'asked for' };
  if (missing === undefined) return { accel: 'kvm', why: `/dev/kvm with ${hw}` };
  if (want === 'kvm') throw new VmInputError(`--accel kvm: not usable here: ${missing}`);
  return { accel: 'tcg', why: missing };
}

/**
 * The host's TSC frequency in kHz, handed to the guest as tsc_early_khz:
 * under TCG the guest's calibration against the emulated PIT is at the mercy
 * of the host's load, and a wrong or failed calibration leaves KVM without a
 * TSC frequency (KVM_GET_TSC_KHZ fails, vCPU creation with it). The kernel's
 * own figure when it exports one, else "cpu MHz", which x86 reports from
 * the TSC calibration.
 */
export function hostTscKhz(f: HostFacts): number | undefined {
  const sys = f.tscFreqKhz?.trim();
  if (sys && /^[0-9]+$/.test(sys) && Number(sys) > 0) return Number(sys);
  const m = /^cpu MHz\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*$/m.exec(f.cpuinfo);
  if (!m) return undefined;
  const khz = Math.round(Number(m[1]) * 1000);
  return khz > 0 ? khz : undefined;
}

/** Resolves a QEMU binary name through PATH; a name with a slash is a path. */
export function findExecutable(cmd: string, path: string | undefined): string | undefined {
  const isExec = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return isExec(cmd) ? cmd : undefined;
  for (const d of (path ?? '').split(delimiter)) {
    if (d === '') continue;
    const p = join(d, cmd);
    if (isExec(p)) return p;
  }
  return undefined;
}
