/**
 * pKVM numbers this plugin uses beyond the generic KVM uAPI.
 */

/**
 * Model-only VM ioctl (no kernel has it; callers go through requireModel()):
 * a host *kernel* access (a syscall copying from the VMM's buffer, GUP) to
 * the page the VMM maps at guest IPA `arg`. On 7.1 that access takes a
 * stage-2 abort which the host's fault handler resolves by force-reclaiming
 * the page from the guest (is_spurious_el1_translation_fault() in
 * arch/arm64/mm/fault.c → pkvm_force_reclaim_guest_page() →
 * __pkvm_host_force_reclaim_page_guest() at EL2): the page is cleared
 * (hyp_poison_page()), the guest's stage-2 entry marked poisoned, and the
 * page handed back to the host, so the access then succeeds. Returns 0.
 */
export const KVM_PKVM_MODEL_HOST_KERNEL_ACCESS = 0x7f00;
