/**
 * What only the model backend can do: a real KVM has no switch for these,
 * so a test that needs one on another backend skips
 * (`Requirement not met: model backend (...)`, kvm_util's requireModel()).
 *
 * The model's own pseudo-ioctls (host writes to a private page, launch
 * digests, poison injection) stay ioctls on the VM fd, as the platform
 * models answer them, but callers reach them only after requireModel().
 */
import type { ModelPlatform } from './platform.js';
import type { KernelName, KernelProfile } from './profiles.js';

export interface ModelControl {
  /** The kernel release profile the model follows (KSFT_KERNEL). */
  readonly profile: KernelProfile;
  /** Exceptions the model caught inside itself (model bugs); tests assert it stays empty. */
  readonly internalErrors: readonly string[];
  /** Give VM type `type` a platform's behaviour in this backend (plugins, hardware overrides). */
  registerPlatform(type: number, platform: ModelPlatform): void;
  /** A fresh model of another kernel release with the same platforms registered. */
  withKernel(kernel: KernelName, vmMemoryAttributes?: boolean): ModelControl & { readonly backend: import('../backend.js').Backend };
  /** Pages resident across anonymous memory, guest_memfds and memfds (benches, tests). */
  residentPages(): number;
  /**
   * The memory KVM serves a guest access of `view` at `gpa` from, in
   * /proc/self/maps terms (a guest_memfd's inode and offset, or what the
   * slot's userspace_addr maps); undefined where no slot covers `gpa`.
   */
  guestBackingOf(vmFd: number, gpa: bigint, view: 'private' | 'shared'): import('../backend.js').HostMapping | undefined;
}
