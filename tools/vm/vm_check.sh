#!/bin/sh
# The commands `make vm_check` runs inside the VM, from the project directory,
# with KSFT_BACKEND=kvm and the tree already built on the host. One `step`
# per check: its stdout is the target's stdout (TAP), and a line on stderr
# gives its exit status and time. The exit status is 1 if any step failed.
# `make vm_check VM_CHECK_CMD='...'` runs that command line instead.
rc=0
now() {
	cut -d' ' -f1 /proc/uptime
}
step() {
	name=$1
	shift
	t0=$(now)
	"$@"
	s=$?
	[ "$s" -eq 0 ] || rc=1
	echo "vm_check: $name: exit status $s, $(echo "$t0 $(now)" | awk '{ printf "%.1f", $2 - $1 }') s" >&2
}

if [ -n "${VM_CHECK_CMD:-}" ]; then
	step VM_CHECK_CMD sh -c "$VM_CHECK_CMD"
	exit $rc
fi

# Under QEMU's TCG a test file takes several times its host time (the kvm
# programs with their no-/dev/kvm and EACCES passes: 190 to 350 s), so the
# steps give tap a per-file limit of 20 minutes instead of the project's 5;
# the VM's own timeout still bounds the whole job.
TAP_VM="npx tap -R tap --timeout=1200"

# The kvm collection on the real KVM of the guest kernel, each program's
# outcome asserted against what this kernel is known to do (the conversion
# test with two vCPUs over two memslots; pre_fault_memory_test meets a bug
# 6.12 has): test/tests/kvm/kvm_backend.test.ts. `make vm_run_tests` shows
# the same programs as the plain kselftest stream.
step kvm $TAP_VM test/tests/kvm/kvm_backend.test.ts
# The guest agent: the same programs on the model and on this kernel, with
# hypercalls, which this kernel delivers.
step guest-agent $TAP_VM test/lib/kvm/x86/e2e.test.ts test/lib/kvm/kvm/kvm_backend.test.ts
# The uAPI differential: the model, with the profile of this kernel (6.12),
# against it through the kvm backend; and the backend against the C probe.
step differential $TAP_VM test/differential/*.test.ts

exit $rc
