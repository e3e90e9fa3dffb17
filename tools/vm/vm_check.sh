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

# The kvm collection on the real KVM of the guest kernel.
step kvm make --no-print-directory run_tests KSFT_BUILT=1 TARGETS=kvm
# Further checks go here, one step each, e.g. the differential tests of the
# model against this kernel:
#   step differential npx tap test/differential/*.test.ts

exit $rc
