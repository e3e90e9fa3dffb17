/**
 * The real side: build kvm_probe.c with gcc (once per source change) and run
 * a script through it against the host's /dev/kvm.
 *
 * `prepareProbe()` answers either the probe's path or why it cannot run
 * (no gcc, no usable /dev/kvm); callers report that as a skip, never a pass.
 * KVM_PROBE_CC names another C compiler (default gcc).
 */

import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { ProbeResultSchema, type ProbeResult } from './result.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROBE_SOURCE = join(HERE, 'kvm_probe.c');
const REPO = resolve(HERE, '..', '..');
export const DEFAULT_PROBE_DIR = join(REPO, 'build', 'kvm_probe');

export type ProbeAvailability = { path: string } | { skip: string };

function errnoCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : String(e);
}

/** Whether /dev/kvm can be opened read-write by this process (the probe needs exactly that). */
export function devKvmUsable(path = '/dev/kvm'): string | undefined {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return undefined;
  } catch (e) {
    return `cannot open ${path}: ${errnoCode(e)}`;
  }
}

/**
 * Build the probe into `dir` (default build/kvm_probe) unless an up-to-date
 * binary is there. The compile goes to a temporary name and is renamed into
 * place, so concurrent test processes never run a half-written binary.
 */
export function prepareProbe(dir = DEFAULT_PROBE_DIR, cc = process.env.KVM_PROBE_CC || 'gcc'): ProbeAvailability {
  const kvm = devKvmUsable();
  if (kvm) return { skip: kvm };
  const gcc = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (gcc.error) return { skip: `${cc} not available: ${errnoCode(gcc.error)}` };
  const out = join(dir, 'kvm_probe');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(PROBE_SOURCE).mtimeMs) return { path: out };
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const build = spawnSync(cc, ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', tmp, PROBE_SOURCE], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`kvm_probe.c does not compile:\n${build.stderr}`);
  renameSync(tmp, out);
  return { path: out };
}

export class ProbeError extends Error {}

/** Run `script` through the probe; one validated result per call line. */
export function runProbe(probe: string, script: string): ProbeResult[] {
  const r = spawnSync(probe, [], { input: script, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  if (r.error) throw new ProbeError(`kvm_probe: ${r.error.message}`);
  if (r.status !== 0) throw new ProbeError(`kvm_probe exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => {
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new ProbeError(`kvm_probe printed a line that is not JSON: ${l}`);
    }
    if (!Value.Check(ProbeResultSchema, v)) {
      const first = Value.Errors(ProbeResultSchema, v).First();
      throw new ProbeError(`kvm_probe result does not match the schema (${first?.path ?? ''}: ${first?.message ?? ''}): ${l}`);
    }
    return v;
  });
}

/** A short name for the host's KVM flavour, for host-specific expectations. */
export function hostKvmKind(): string {
  for (const m of ['kvm_pvm', 'kvm_amd', 'kvm_intel', 'kvm_arm']) if (existsSync(`/sys/module/${m}`)) return m.slice(4);
  return 'unknown';
}
