/**
 * Putting a recorded guest program into a vCPU. With the model backend the
 * program is handed over through the model's side channel; the vCPU's
 * "instruction pointer" is the program's first op, as vcpu_arch_set_entry_point()
 * points RIP at guest_code in C.
 */
import { modelSetGuestProgram } from '../kvm/model/index.js';
import { recordGuestProgram } from '../guest/builder.js';
import type { GuestProgram } from '../guest/program.js';
import { SIZEOF_UCALL } from '../kvm/uapi.js';
import { TEST_ASSERT } from './assert.js';
import type { KvmVcpu } from './vm.js';

/** Each vCPU's struct ucall sits at ucallPoolGpa + id * sizeof(struct ucall), 8-byte aligned. */
export const UCALL_STRIDE = BigInt((SIZEOF_UCALL + 7) & ~7);

export function vcpuUcallGpa(vcpu: KvmVcpu): bigint | undefined {
  const pool = vcpu.vm.ucallPoolGpa;
  return pool ? BigInt(pool) + BigInt(vcpu.id) * UCALL_STRIDE : undefined;
}

/** Record the vCPU's guest code with its current args and attach the program. */
export function loadGuestProgram(vcpu: KvmVcpu): void {
  if (!vcpu.guestCode) return;
  const recorded = recordGuestProgram(vcpu.guestCode, vcpu.args);
  const ucallGpa = vcpuUcallGpa(vcpu);
  const program: GuestProgram = ucallGpa !== undefined ? { ...recorded, ucallGpa } : recorded;
  const r = modelSetGuestProgram(vcpu.vm.backend, vcpu.fd, program);
  TEST_ASSERT(r.ret === 0, `Cannot load the guest program into vCPU ${vcpu.id}: errno ${r.errno}`);
  vcpu.program = program;
  vcpu.attached = true;
}
