/**
 * What a host access to a guest's private page does on each platform, as a
 * typed result a test can compare (reference/platforms.md §0 and §4, "Host
 * access to private"):
 *
 *   SEV/SEV-ES  read → ciphertext, write → silently corrupts (`ok`)
 *   SNP         read → ciphertext [H], write → RMP #PF (`rmp-fault`)
 *   TDX         read → zeros [H], write → poison, #MC on the TD's next read
 *   pKVM        read/write → SIGSEGV (SEGV_ACCERR)
 *   CCA, SW_PROTECTED, guest_memfd: read/write through an mmap → SIGBUS
 *
 * Where the only real path is the host kernel touching the page (SNP, TDX),
 * the platform's own hostReadPrivate/hostWritePrivate (platforms/<name>/index.ts)
 * stand in for it with model-only commands; those writes are destructive on
 * real hardware and exist only in the model.
 */
import { HostFault } from '../kvm/backend.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../kvm/uapi.js';
import type { HostAccessResult, PlatformPlugin } from '../platform/index.js';
import { requireModel } from './kvm_dev.js';
import { addrGpa2Hva, memRegionFind } from './memslots.js';
import type { KvmVm } from './vm.js';

const PAGE = 4096;

function signalOf(action: () => unknown): HostAccessResult | undefined {
  try {
    action();
    return undefined;
  } catch (e) {
    if (e instanceof HostFault) return { kind: 'signal', signal: e.signal, code: e.code };
    throw e;
  }
}

/**
 * The platform's stand-in for the host kernel touching a private page
 * (PlatformDefinition.hostKernelAccess), on the model only; a platform
 * that offers none cannot produce the outcome its manifest claims.
 */
function hostKernel<K extends 'read' | 'write'>(plugin: PlatformPlugin, k: K, outcome: string): NonNullable<NonNullable<PlatformPlugin['definition']['hostKernelAccess']>[K]> {
  const h = plugin.definition.hostKernelAccess;
  const f = h?.[k];
  if (!h || !f) throw new Error(`platform ${plugin.name}: hostAccess.${k} '${outcome}' needs a host-kernel stand-in, and ${plugin.definition.name} has none`);
  requireModel(`host kernel ${k === 'read' ? 'read of' : 'write to'} ${h.page}`);
  return f;
}

/** The VMM's view of `gpa` through an mmap of the guest_memfd behind it. */
function gmemMapping(vm: KvmVm, gpa: bigint): bigint | HostAccessResult {
  const r = memRegionFind(vm, gpa, gpa);
  if (!r || r.guestMemfd < 0) return { kind: 'ok' };
  const m = vm.backend.mmap(0n, BigInt(PAGE), PROT_READ | PROT_WRITE, MAP_SHARED, r.guestMemfd, r.guestMemfdOffset + (gpa - r.gpa));
  // No MMAP flag: the private fd cannot even be mapped (ENODEV), which is
  // the strongest form of "unreachable"; report it as the signal a touch
  // through any mapping would raise.
  return m.errno ? { kind: 'signal', signal: 'SIGBUS', code: 'BUS_ADRERR' } : m.addr;
}

/** A host read of one private page at `gpa`, as the platform answers it. */
export function hostReadPrivate(plugin: PlatformPlugin, vm: KvmVm, gpa: bigint): HostAccessResult {
  const b = vm.backend;
  switch (plugin.manifest.hostAccess.read) {
    case 'ciphertext':
      // SEV's ciphertext is in the VMM's own mapping; SNP's only the host kernel reads.
      if (plugin.definition.hostKernelAccess?.read) return hostKernel(plugin, 'read', 'ciphertext')(vm, gpa);
      return { kind: 'ciphertext', data: b.hostRead(addrGpa2Hva(vm, gpa), PAGE) };
    case 'zeros':
      return hostKernel(plugin, 'read', 'zeros')(vm, gpa);
    case 'sigsegv':
      return signalOf(() => b.hostRead(addrGpa2Hva(vm, gpa), 8)) ?? { kind: 'ok', data: b.hostRead(addrGpa2Hva(vm, gpa), PAGE) };
    case 'sigbus': {
      const at = gmemMapping(vm, gpa);
      if (typeof at !== 'bigint') return at;
      return signalOf(() => b.hostRead(at, 8)) ?? { kind: 'ok', data: b.hostRead(at, PAGE) };
    }
    case 'plaintext':
      return { kind: 'ok', data: b.hostRead(addrGpa2Hva(vm, gpa), PAGE) };
  }
}

/** A host write of `data` to the private page at `gpa`, as the platform answers it. */
export function hostWritePrivate(plugin: PlatformPlugin, vm: KvmVm, gpa: bigint, data: Uint8Array): HostAccessResult {
  const b = vm.backend;
  switch (plugin.manifest.hostAccess.write) {
    case 'silent-corruption':
    case 'plaintext':
      b.hostWrite(addrGpa2Hva(vm, gpa), data);
      return { kind: 'ok' };
    case 'rmp-fault':
    case 'poison':
      return hostKernel(plugin, 'write', plugin.manifest.hostAccess.write)(vm, gpa, data);
    case 'sigsegv':
      return signalOf(() => b.hostWrite(addrGpa2Hva(vm, gpa), data)) ?? { kind: 'ok' };
    case 'sigbus': {
      const at = gmemMapping(vm, gpa);
      if (typeof at !== 'bigint') return at;
      return signalOf(() => b.hostWrite(at, data)) ?? { kind: 'ok' };
    }
  }
}
