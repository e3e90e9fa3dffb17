/**
 * Address kinds that must not mix: every line marked `@error` must fail to
 * typecheck with the quoted diagnostic (types.test.ts runs tsc over this
 * folder, which the project's tsconfig leaves out). The other lines are
 * there to show what still compiles.
 */
import { UCALL_DONE } from '../../../../lib/kvm/uapi.js';
import {
  addrGpa2Hva, addrHva2Gpa, expectHostSees, gpa, gva, hostFill, hostRead, hva, kvmMunmap, vmGuestMemPunchHole, vmMemSetPrivate,
  type Gpa, type Hva,
} from '../../../../lib/kvm_util/index.js';
import { cocoVmCreate, runToUcall } from '../../../../lib/kvm_util/coco.js';

export async function mixed(): Promise<void> {
  const { vm, vcpu, gpa: base } = cocoVmCreate('sw_protected', (g, arg) => {
    g.memset(arg, 4096, 0xaa);
    g.memset(gva(arg), 4096, 0xaa);
    g.memset(hva(arg), 4096, 0xaa); // @error Argument of type 'Hva' is not assignable to parameter of type 'GuestAddrArg'.
    g.done();
  });
  const shared: Hva = addrGpa2Hva(vm, base);

  hostFill(base, 4096, 0); // @error Argument of type 'Gpa' is not assignable to parameter of type 'HvaArg'.
  hostFill(shared, 4096, 0);
  hostRead(gva(0x1000n), 8); // @error Argument of type 'Gva' is not assignable to parameter of type 'HvaArg'.

  vmMemSetPrivate(vm, shared, 4096); // @error Argument of type 'Hva' is not assignable to parameter of type 'GpaArg'.
  vmMemSetPrivate(vm, base, 4096);
  vmMemSetPrivate(vm, base + 4096n, 4096);
  vmMemSetPrivate(vm, gva(base + 4096n), 4096); // @error Argument of type 'Gva' is not assignable to parameter of type 'GpaArg'.

  addrGpa2Hva(vm, shared); // @error Argument of type 'Hva' is not assignable to parameter of type 'GpaArg'.
  addrHva2Gpa(vm, base); // @error Argument of type 'Gpa' is not assignable to parameter of type 'HvaArg'.
  const back: Gpa = addrHva2Gpa(vm, shared);
  const wrong: Gpa = shared; // @error Type 'Hva' is not assignable to type 'Gpa'.

  expectHostSees(vm, shared, 4096, 0); // @error Argument of type 'Hva' is not assignable to parameter of type 'GpaArg'.
  vmGuestMemPunchHole(vm, back, 4096);
  kvmMunmap(base, 4096); // @error Argument of type 'Gpa' is not assignable to parameter of type 'HvaArg'.

  gpa(shared); // @error Argument of type 'Hva' is not assignable to parameter of type 'GpaArg'.
  hva(base); // @error Argument of type 'Gpa' is not assignable to parameter of type 'HvaArg'.
  void wrong;
  await runToUcall(vcpu, UCALL_DONE);
}
