/**
 * Run the same scripts on the real /dev/kvm (through an Oracle: the `kvm`
 * backend or the C probe) and on a fresh model backend per script, and pair
 * the results row by row.
 */

import { createModelBackend, type KernelName, type ModelBackend } from '../../lib/kvm/model/index.js';
import '../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { KVM_X86_VM_TYPES } from '../../lib/kvm/uapi.js';
import { builtinPlatforms } from '../../lib/platform/loader.js';
import { pairResults, type Row } from './compare.js';
import { runOnBackend } from './model_runner.js';
import type { Oracle } from './oracle.js';
import { ScriptError, parseScript } from './script.js';

export interface DiffCase {
  /** Unique within a run; host-specific entries refer to it. */
  readonly name: string;
  readonly script: string;
}

export interface DiffOptions {
  /** The real side (prepareOracle()). */
  readonly oracle: Oracle;
  /** Model kernel profile: the one that describes the oracle's kernel (hostKernelProfile()). */
  readonly kernel?: KernelName;
  /** Guest physical address bits of the oracle's host (the model's maxPhysBits). */
  readonly maxPhysBits?: number;
}

/**
 * The model simulates every registered platform at once; the host it is
 * compared with is an x86 kernel (the kvm backend and the C probe are),
 * whose KVM_CREATE_VM knows only the uAPI's x86 types: an arm64 type
 * (pKVM's 1 << 31, a realm's 256) and the type of a series or of a
 * vendor's own platform leave the model too.
 */
function x86Only(model: ModelBackend): ModelBackend {
  for (const p of builtinPlatforms()) if (p.manifest.arch !== 'x86_64' || !KVM_X86_VM_TYPES.includes(p.vmType)) model.platforms.unregister(p.vmType);
  return model;
}

export function runCase(c: DiffCase, opts: DiffOptions): Row[] {
  let calls;
  try {
    calls = parseScript(c.script);
  } catch (e) {
    if (e instanceof ScriptError) throw new Error(`case ${c.name}: ${e.message}`);
    throw e;
  }
  const model = x86Only(createModelBackend({ kernel: opts.kernel ?? '6.18', ...(opts.maxPhysBits ? { maxPhysBits: opts.maxPhysBits } : {}) }));
  const modelResults = runOnBackend(model, calls);
  if (model.internalErrors.length > 0) throw new Error(`${c.name}: model internal errors:\n${model.internalErrors.join('\n')}`);
  const realResults = opts.oracle.run(c.script);
  return pairResults(c.name, calls, realResults, modelResults);
}

export function runCases(cases: readonly DiffCase[], opts: DiffOptions): Row[] {
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.name)) throw new Error(`duplicate case name '${c.name}'`);
    seen.add(c.name);
  }
  return cases.flatMap((c) => runCase(c, opts));
}
