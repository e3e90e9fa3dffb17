/**
 * Dispatch of KVM_MEMORY_ENCRYPT_OP for the AMD types: the argument is a
 * `struct kvm_sev_cmd` whose `data` points at the command's own struct in
 * the VMM's memory, and whose `error` KVM fills with the firmware status
 * (arch/x86/kvm/svm/sev.c, sev_mem_enc_ioctl()).
 */
import type { IoctlArg, SysResult } from '../../lib/kvm/backend.js';
import { EFAULT, EINVAL } from '../../lib/kvm/errno.js';
import type { PlatformVmContext } from '../../lib/kvm/model/platform.js';
import { isHostFault } from '../../lib/platform/common.js';
import { decodeSevCmd, setSevCmdError, SIZEOF_KVM_SEV_CMD } from './uapi.js';

export interface SevOpContext {
  readonly ctx: PlatformVmContext;
  /** kvm_sev_cmd.data: the HVA of the command's struct. */
  readonly dataHva: bigint;
  /** Read the command's struct (`len` bytes at `data`); undefined on a fault (→ EFAULT). */
  readData(len: number): Uint8Array | undefined;
  /** Copy the struct back (copy_to_user); false on a fault. */
  writeData(bytes: Uint8Array): boolean;
  readHost(hva: bigint, len: number): Uint8Array | undefined;
  writeHost(hva: bigint, bytes: Uint8Array): boolean;
}

export interface SevOpResult {
  readonly errno: number;
  readonly fwError?: number;
}

export type SevOpHandler = (op: SevOpContext) => SevOpResult;

export function sysResult(errno: number): SysResult {
  return errno ? { ret: -1, errno } : { ret: 0, errno: 0 };
}

export function hostReader(ctx: PlatformVmContext) {
  return (hva: bigint, len: number): Uint8Array | undefined => {
    const r = ctx.hostRead(hva, len);
    return isHostFault(r) ? undefined : r;
  };
}

export function hostWriter(ctx: PlatformVmContext) {
  return (hva: bigint, bytes: Uint8Array): boolean => (ctx.hostWrite ? ctx.hostWrite(hva, bytes) === undefined : false);
}

/** Run one KVM_MEMORY_ENCRYPT_OP: decode the command, call its handler, report `error`. */
export function dispatchSevOp(ctx: PlatformVmContext, arg: IoctlArg | undefined, handlers: Readonly<Record<number, SevOpHandler>>): SysResult {
  if (!(arg instanceof Uint8Array) || arg.length < SIZEOF_KVM_SEV_CMD) return sysResult(EFAULT);
  const cmd = decodeSevCmd(arg);
  const handler = handlers[cmd.id];
  // sev_mem_enc_ioctl(): an id no handler knows falls to `default: r = -EINVAL`.
  if (!handler) return sysResult(EINVAL);
  const read = hostReader(ctx);
  const write = hostWriter(ctx);
  const r = handler({
    ctx,
    dataHva: cmd.data,
    readData: (len) => read(cmd.data, len),
    writeData: (bytes) => write(cmd.data, bytes),
    readHost: read,
    writeHost: write,
  });
  setSevCmdError(arg, r.fwError ?? 0);
  return sysResult(r.errno);
}
