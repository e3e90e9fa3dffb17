/** The page-state map of failures (lib/kvm_util/page_states.ts): what the test asked for, coloured on a terminal only. */
import t from 'tap';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { KVM_MEM_GUEST_MEMFD, KVM_X86_SW_PROTECTED_VM } from '../../../lib/kvm/uapi.js';
import {
  kvmVmFree, pageState, pageStateMap, setKvmBackend, useColour, vmCreateBarebonesType, vmGuestMemPunchHole, vmMemSetPrivate,
  vmUserspaceMemRegionAdd, VM_MEM_SRC_ANONYMOUS,
} from '../../../lib/kvm_util/index.js';

const GPA = 1n << 32n;

t.test('states as last requested, the page of interest marked', async (t) => {
  setKvmBackend(createModelBackend({ kernel: '6.18' }));
  const vm = vmCreateBarebonesType(KVM_X86_SW_PROTECTED_VM);
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, GPA, 10, 4, KVM_MEM_GUEST_MEMFD);
  vmMemSetPrivate(vm, GPA + 0x1000n, 0x2000);
  vmGuestMemPunchHole(vm, GPA + 0x2000n, 0x1000);
  t.equal(pageState(vm, GPA), 'shared');
  t.equal(pageState(vm, GPA + 0x2000n), 'private/hole');
  t.equal(pageState(vm, GPA + 0x10000n), 'no-slot');
  t.equal(pageStateMap(vm, GPA + 0x1010n, 1, false),
    'page states (as last requested by the test): 0x100000000 shared, >0x100001000 private, 0x100002000 private/hole');
  t.equal(pageStateMap(vm, GPA + 0x1010n, 1, true),
    'page states (as last requested by the test): 0x100000000 \x1b[32mshared\x1b[0m, \x1b[1m>\x1b[0m0x100001000 \x1b[35mprivate\x1b[0m, ' +
    '0x100002000 \x1b[33mprivate/hole\x1b[0m');
  kvmVmFree(vm);
  setKvmBackend(undefined);
});

t.test('colour only on a terminal, never with NO_COLOR', async (t) => {
  t.equal(useColour({ isTTY: true }, {}), true);
  t.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
  t.equal(useColour({ isTTY: false }, {}), false);
  t.equal(useColour({}, {}), false, 'a pipe (the runner, TAP) stays plain');
});
