/**
 * The VMSA page a launch measures per vCPU (SEV firmware ABI
 * LAUNCH_UPDATE_VMSA; SEV-SNP firmware ABI SNP_LAUNCH_UPDATE with
 * PAGE_TYPE_VMSA, which arch/x86/kvm/svm/sev.c snp_launch_update_vmsa()
 * issues at LAUNCH_FINISH). The model has no register state worth
 * encrypting, so the page only has to tell the vCPUs apart.
 */

/** The synthetic VMSA page LAUNCH_UPDATE_VMSA measures for a vCPU: its id, then zeros. */
export function sevVmsaImage(vcpu: number): Uint8Array {
  const v = new Uint8Array(4096);
  new DataView(v.buffer).setUint32(0, vcpu, true);
  return v;
}
