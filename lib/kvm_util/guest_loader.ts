/**
 * Putting a recorded guest program into a vCPU, as kvm_util.c loads the
 * test ELF into slot 0 and vcpu_arch_set_entry_point() points RIP at
 * guest_code: the backend takes the program (the model interprets it, the
 * `kvm` backend compiles it into the area of slot 0 set aside here) and the
 * next KVM_RUN starts at its first op.
 */
import { recordGuestProgram } from '../guest/builder.js';
import type { GuestArea, GuestProgram } from '../kvm/guest_program.js';
import { SIZEOF_UCALL } from '../kvm/uapi.js';
import { TEST_ASSERT, __TEST_REQUIRE } from './assert.js';
import { strerror } from '../kvm/errno.js';
import type { KvmVcpu } from './vm.js';

/** Each vCPU's struct ucall sits at ucallPoolGpa + id * sizeof(struct ucall), 8-byte aligned. */
export const UCALL_STRIDE = BigInt((SIZEOF_UCALL + 7) & ~7);

/**
 * Slot 0 bytes per vCPU for its guest code: the agent's page tables, GDT,
 * stack, code and message templates on a real KVM (a recorded op compiles
 * to tens of bytes, loops stay loops). Untouched pages cost nothing.
 */
export const GUEST_AREA_SIZE = 2n << 20n;

/** The GPA of the vCPU's `struct ucall` in slot 0, or undefined for a VM without slot 0 (vmCreateBarebones()). */
export function vcpuUcallGpa(vcpu: KvmVcpu): bigint | undefined {
  const pool = vcpu.vm.ucallPoolGpa;
  return pool ? BigInt(pool) + BigInt(vcpu.id) * UCALL_STRIDE : undefined;
}

/** The vCPU's part of slot 0 for its code, when __vmCreate() set the areas aside. */
export function vcpuGuestArea(vcpu: KvmVcpu): GuestArea | undefined {
  const base = vcpu.vm.guestAreaGpa;
  if (base === undefined || vcpu.id >= vcpu.vm.guestAreaVcpus) return undefined;
  return { gpa: base + BigInt(vcpu.id) * GUEST_AREA_SIZE, size: GUEST_AREA_SIZE };
}

/**
 * Record the vCPU's guest code with its current args and load the program.
 * A backend that cannot run it on this host says why, and the test skips
 * with that reason (a requirement the host does not meet).
 */
export function loadGuestProgram(vcpu: KvmVcpu): void {
  if (!vcpu.guestCode) return;
  const recorded = recordGuestProgram(vcpu.guestCode, vcpu.args);
  const ucallGpa = vcpuUcallGpa(vcpu);
  const area = vcpuGuestArea(vcpu);
  const program: GuestProgram = {
    ...recorded,
    ...(ucallGpa !== undefined ? { ucallGpa } : {}),
    ...(area !== undefined ? { area } : {}),
  };
  const r = vcpu.vm.backend.setGuestProgram(vcpu.fd, program);
  __TEST_REQUIRE(r.ret === 0 || r.unsupported === undefined, `Requirement not met: ${r.unsupported ?? ''}`);
  TEST_ASSERT(r.ret === 0, `Cannot load the guest program into vCPU ${vcpu.id}: errno ${r.errno} (${strerror(r.errno)})`);
  vcpu.program = program;
  vcpu.attached = true;
}
