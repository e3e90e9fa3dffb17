/**
 * The real side of the differential: the host's /dev/kvm, reached either
 * through the TypeScript `kvm` backend (the same code the selftests run on,
 * the default) or through the C probe (kvm_probe.c, independent of it).
 * Running both on the same cases checks the backend itself: any difference
 * between them is the FFI layer's, not the kernel's.
 */

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { Backend } from '../../lib/kvm/backend.js';
import { createKvmBackend } from '../../lib/kvm/kvm/index.js';
import type { KernelName } from '../../lib/kvm/model/profiles.js';
import { runOnBackend } from './model_runner.js';
import { devKvmUsable, prepareProbe, runProbe } from './real_runner.js';
import type { ProbeResult } from './result.js';
import { parseScript } from './script.js';

export type OracleKind = 'kvm' | 'probe';

export interface Oracle {
  readonly kind: OracleKind;
  /** One result per call of `script`, from the real kernel. */
  run(script: string): ProbeResult[];
}

let backend: Backend | undefined;

/** The oracle of `kind`, or why this machine cannot have it (a skip, never a pass). */
export function prepareOracle(kind: OracleKind): Oracle | { skip: string } {
  if (kind === 'probe') {
    const p = prepareProbe();
    return 'skip' in p ? p : { kind, run: (script) => runProbe(p.path, script) };
  }
  const kvm = devKvmUsable();
  if (kvm) return { skip: kvm };
  if (!backend) {
    const b = createKvmBackend();
    if (typeof b === 'string') return { skip: b };
    backend = b;
  }
  const b = backend;
  return { kind, run: (script) => runOnBackend(b, parseScript(script)) };
}

/**
 * The model profile that describes the running kernel: its release's
 * profile where the model has one (6.12), else the newest (6.18).
 */
export function hostKernelProfile(rel = release()): KernelName {
  return /^6\.12\./.test(rel) ? '6.12' : '6.18';
}

/**
 * kvm_mmu_max_gfn()'s width on this host (arch/x86/kvm/mmu.h): with TDP
 * (NPT/EPT) the host's MAXPHYADDR (shadow_phys_bits, as /proc/cpuinfo's
 * "address sizes" reports it), with shadow paging 52.
 */
export function hostMaxPhysBits(): number {
  const yes = (p: string): boolean => {
    try {
      return /^[Y1]/.test(readFileSync(p, 'utf8'));
    } catch {
      return false;
    }
  };
  if (!yes('/sys/module/kvm_amd/parameters/npt') && !yes('/sys/module/kvm_intel/parameters/ept')) return 52;
  const m = /address sizes\s*:\s*(\d+) bits physical/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? Number(m[1]) : 52;
}
