/**
 * vmcall: __kvm_emulate_hypercall() (arch/x86/kvm/x86.c) for a 64-bit guest
 * at CPL 0. KVM_HC_MAP_GPA_RANGE exits to userspace (KVM_EXIT_HYPERCALL)
 * when KVM_CAP_EXIT_HYPERCALL enabled it and the range is sane, else
 * -KVM_ENOSYS / -KVM_EINVAL in RAX; KVM_HC_VAPIC_POLL_IRQ returns 0; any
 * other number -KVM_ENOSYS. The exit completes on the next KVM_RUN with
 * run->hypercall.ret in RAX (complete_hypercall_exit(), run.ts).
 */

import type { GuestOp } from '../../guest_program.js';
import { KVM_EINVAL, KVM_ENOSYS, KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, PAGE_SIZE } from '../../uapi.js';
import type { Step, Vcpu } from '../vcpu.js';
import { expectFailed } from './ucall.js';

const PAGE = BigInt(PAGE_SIZE);
/** KVM_HC_VAPIC_POLL_IRQ: the one other hypercall that simply returns 0 here. */
const KVM_HC_VAPIC_POLL_IRQ = 1n;

/** __kvm_emulate_hypercall() for a 64-bit guest at CPL 0. */
export function hypercall(v: Vcpu, op: Extract<GuestOp, { op: 'hypercall' }>): Step {
  const nr = BigInt.asUintN(64, op.nr);
  const a = [0, 1, 2, 3].map((i) => BigInt.asUintN(64, op.args[i] ?? 0n));
  v.setReg('rax', nr);
  v.setReg('rbx', a[0]!);
  v.setReg('rcx', a[1]!);
  v.setReg('rdx', a[2]!);
  v.setReg('rsi', a[3]!);
  let ret: bigint;
  if (nr === BigInt(KVM_HC_MAP_GPA_RANGE)) {
    const [gpa, npages, attrs] = [a[0]!, a[1]!, a[2]!];
    if (!(v.vm.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE)))) {
      ret = -BigInt(KVM_ENOSYS);
    } else if (gpa % PAGE !== 0n || npages === 0n || BigInt.asUintN(64, gpa / PAGE + npages) <= gpa / PAGE) {
      ret = -BigInt(KVM_EINVAL);
    } else {
      // KVM_EXIT_HYPERCALL with the arguments as the guest passed them; attrs are not validated.
      v.pending = { kind: 'hypercall', expect: op.expect, dst: op.dst, expr: op.expr, loc: op.loc };
      return { exit: v.finish({ reason: 'hypercall', nr, args: [gpa, npages, attrs], flags: KVM_EXIT_HYPERCALL_LONG_MODE }) };
    }
  } else if (nr === KVM_HC_VAPIC_POLL_IRQ) {
    ret = 0n;
  } else {
    ret = -BigInt(KVM_ENOSYS);
  }
  const rax = BigInt.asUintN(64, ret);
  v.setReg('rax', rax);
  if (op.dst) v.gregs[op.dst.reg] = rax;
  v.advance();
  if (op.expect !== undefined && rax !== BigInt.asUintN(64, op.expect)) return expectFailed(v, op.loc, op.expr, rax, op.expect);
  return undefined;
}
