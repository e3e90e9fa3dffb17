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
 * the model-only KVM_MEMORY_ENCRYPT_OP commands stand in for it; those
 * writes are destructive on real hardware and exist only in the model.
 */
import { HostFault } from '../kvm/backend.js';
import { KVM_MEMORY_ENCRYPT_OP, MAP_SHARED, PROT_READ, PROT_WRITE } from '../kvm/uapi.js';
import { addrGpa2Hva, memRegionFind, requireModel, type KvmVm } from '../kvm_util/index.js';
import { memoryEncryptOp } from './encrypt_op.js';
import type { HostAccessResult, PlatformPlugin } from './types.js';
import { KVM_SEV_MODEL_HOST_READ, KVM_SEV_MODEL_HOST_WRITE } from '../../platforms/snp/uapi.js';
import { encodeSevCmd } from '../../platforms/sev/uapi.js';
import { KVM_TDX_MODEL_HOST_READ, KVM_TDX_MODEL_HOST_WRITE, encodeTdxCmd } from '../../platforms/tdx/uapi.js';

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

function gpaArg(gpa: bigint, extra = 0): Uint8Array {
  const b = new Uint8Array(8 + extra);
  new DataView(b.buffer).setBigUint64(0, gpa, true);
  return b;
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
    case 'ciphertext': {
      if (plugin.behaviour === 'snp') {
        requireModel('host kernel read of an SNP private page');
        const r = memoryEncryptOp(b, vm.fd, (d) => encodeSevCmd({ id: KVM_SEV_MODEL_HOST_READ, data: d }), gpaArg(gpa, PAGE));
        return { kind: 'ciphertext', data: r.data.subarray(8) };
      }
      return { kind: 'ciphertext', data: b.hostRead(addrGpa2Hva(vm, gpa), PAGE) };
    }
    case 'zeros': {
      requireModel('host kernel read of a TD private page');
      const r = memoryEncryptOp(b, vm.fd, (d) => encodeTdxCmd({ id: KVM_TDX_MODEL_HOST_READ, data: d }), gpaArg(gpa, PAGE));
      return { kind: 'zeros', data: r.data.subarray(8) };
    }
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
    case 'rmp-fault': {
      requireModel('host kernel write to an SNP private page');
      const r = memoryEncryptOp(b, vm.fd, (d) => encodeSevCmd({ id: KVM_SEV_MODEL_HOST_WRITE, data: d }), gpaArg(gpa));
      return r.ret === 0 ? { kind: 'ok' } : { kind: 'rmp-fault', gpa };
    }
    case 'poison': {
      requireModel('host kernel write to a TD private page');
      const r = b.ioctl(vm.fd, KVM_MEMORY_ENCRYPT_OP, encodeTdxCmd({ id: KVM_TDX_MODEL_HOST_WRITE, data: gpa }));
      return r.ret === 0 ? { kind: 'poisoned', gpa } : { kind: 'ok' };
    }
    case 'sigsegv':
      return signalOf(() => b.hostWrite(addrGpa2Hva(vm, gpa), data)) ?? { kind: 'ok' };
    case 'sigbus': {
      const at = gmemMapping(vm, gpa);
      if (typeof at !== 'bigint') return at;
      return signalOf(() => b.hostWrite(at, data)) ?? { kind: 'ok' };
    }
  }
}
