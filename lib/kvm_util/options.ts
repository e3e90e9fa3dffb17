/**
 * Options every KVM selftest takes from the environment, so that the runner
 * (or a user) can pass them without touching a test's command line:
 *
 *   KSFT_BACKEND   model | kvm          where VMs live (default: model)
 *   KSFT_PLATFORM  default | sw_protected | sev | sev_es | snp | tdx | pkvm | cca
 *                                       the VM type the private-memory tests
 *                                       create (default: sw_protected)
 *   KSFT_KERNEL    6.12 | 6.18 | 6.19 | 7.4  the release profile the model
 *                                       follows (default: 6.18)
 *   KSFT_VM_MEMORY_ATTRIBUTES  Y | N    the model's kvm.vm_memory_attributes
 *                                       on 7.4: Y = per-VM PRIVATE tracking,
 *                                       N = per-guest_memfd (the default)
 *   KSFT_NUMA_NODES   1..64              NUMA nodes of the model's host
 *                                       (default 1, a host without NUMA)
 *   KSFT_RANDOM_SEED  integer (decimal or 0x hex) for the guest RNG seed
 *   KSFT_VCPU_TIMEOUT seconds one KVM_RUN may last before the watchdog
 *                     ends it and fails the test (default 60, 0 = never)
 *   KSFT_TRACE     0 | 1                 1: each vCPU's exits, conversions,
 *                                       attribute changes and fallocates on
 *                                       stderr, in order (trace.ts)
 *
 * Validated with typebox; a bad value is one line naming the variable, the
 * value and what is accepted, then exit 1 (a test program's usage error).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { KERNEL_NAMES } from '../kvm/model/profiles.js';
import { PLATFORM_NAMES } from './platform_types.js';

/** The typebox schema of the KSFT_* environment every KVM test reads. */
export const KsftEnvSchema = Type.Object({
  KSFT_BACKEND: Type.Union([Type.Literal('model'), Type.Literal('kvm')]),
  // A built-in name, or the path of a user plugin folder (./my-plugin, ../x, /abs).
  KSFT_PLATFORM: Type.Union([...PLATFORM_NAMES.map((n) => Type.Literal(n)), Type.String({ pattern: '^(\\.{1,2}/|/)' })]),
  KSFT_KERNEL: Type.Union(KERNEL_NAMES.map((k) => Type.Literal(k))),
  KSFT_VM_MEMORY_ATTRIBUTES: Type.Optional(Type.String({ pattern: '^[YyNn01]$' })),
  KSFT_NUMA_NODES: Type.Optional(Type.String({ pattern: '^([1-9]|[1-5][0-9]|6[0-4])$' })),
  KSFT_RANDOM_SEED: Type.Optional(Type.String({ pattern: '^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$' })),
  KSFT_VCPU_TIMEOUT: Type.String({ pattern: '^[0-9]{1,6}$' }),
  KSFT_TRACE: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')])),
});
/** The validated KSFT_* environment (ksftEnv()). */
export type KsftEnv = Static<typeof KsftEnvSchema>;

export const ENV_DEFAULTS = { KSFT_BACKEND: 'model', KSFT_PLATFORM: 'sw_protected', KSFT_KERNEL: '6.18', KSFT_VCPU_TIMEOUT: '60' } as const;

const ACCEPTED: Readonly<Record<keyof KsftEnv, string>> = {
  KSFT_BACKEND: 'model|kvm',
  KSFT_PLATFORM: `${PLATFORM_NAMES.join('|')} or a plugin path (./dir)`,
  KSFT_KERNEL: KERNEL_NAMES.join('|'),
  KSFT_VM_MEMORY_ATTRIBUTES: 'Y|N (1|0), the kvm.vm_memory_attributes module parameter',
  KSFT_NUMA_NODES: '1..64, the NUMA nodes of the model\'s host',
  KSFT_RANDOM_SEED: 'a 32-bit integer, decimal or 0x-hex',
  KSFT_VCPU_TIMEOUT: 'whole seconds, 0 for no watchdog',
  KSFT_TRACE: '0|1',
};

export type EnvResult = { ok: true; env: KsftEnv } | { ok: false; error: string };

/** Parse the KSFT_* variables of `env`; the error names the first bad variable. */
export function parseKsftEnv(env: NodeJS.ProcessEnv): EnvResult {
  const raw = {
    KSFT_BACKEND: env.KSFT_BACKEND || ENV_DEFAULTS.KSFT_BACKEND,
    KSFT_PLATFORM: env.KSFT_PLATFORM || ENV_DEFAULTS.KSFT_PLATFORM,
    KSFT_KERNEL: env.KSFT_KERNEL || ENV_DEFAULTS.KSFT_KERNEL,
    KSFT_VCPU_TIMEOUT: env.KSFT_VCPU_TIMEOUT || ENV_DEFAULTS.KSFT_VCPU_TIMEOUT,
    ...(env.KSFT_RANDOM_SEED ? { KSFT_RANDOM_SEED: env.KSFT_RANDOM_SEED } : {}),
    ...(env.KSFT_VM_MEMORY_ATTRIBUTES ? { KSFT_VM_MEMORY_ATTRIBUTES: env.KSFT_VM_MEMORY_ATTRIBUTES } : {}),
    ...(env.KSFT_NUMA_NODES ? { KSFT_NUMA_NODES: env.KSFT_NUMA_NODES } : {}),
    ...(env.KSFT_TRACE ? { KSFT_TRACE: env.KSFT_TRACE } : {}),
  };
  if (Value.Check(KsftEnvSchema, raw)) return { ok: true, env: raw };
  const first = Value.Errors(KsftEnvSchema, raw).First();
  const key = (first?.path.replace(/^\//, '') ?? 'KSFT_BACKEND') as keyof KsftEnv;
  const value = (raw as Record<string, string | undefined>)[key];
  return { ok: false, error: `${key}: invalid value '${value ?? ''}' (expected ${ACCEPTED[key] ?? 'a valid value'})` };
}

let cached: KsftEnv | undefined;

/** The validated environment; on a bad value prints the error to stderr and exits 1. */
export function ksftEnv(): KsftEnv {
  if (cached) return cached;
  const r = parseKsftEnv(process.env);
  if (!r.ok) {
    process.stderr.write(`${r.error}\n`);
    process.exit(1);
  }
  cached = r.env;
  return cached;
}

/** Forget the cached environment (tests of this module change process.env). */
export function resetKsftEnv(): void {
  cached = undefined;
}
