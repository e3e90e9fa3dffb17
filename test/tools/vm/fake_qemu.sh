#!/bin/sh
# A stand-in for qemu-system-x86_64 in the tests of tools/vm: it reads the
# same command line and plays the guest on the host. FAKE_QEMU selects what
# happens:
#   run (default)  run the scratch share's job.sh as init.sh would (stdout and
#                  stderr are the ports), write the uptimes and the status
#   sleep          hang (the timeout path)
#   panic          print a panic on the console, exit 0 without a status
# FAKE_QEMU_ARGS=FILE records the arguments, one per line.
scratch=
console=
for a in "$@"; do
	[ -n "${FAKE_QEMU_ARGS:-}" ] && printf '%s\n' "$a" >>"$FAKE_QEMU_ARGS"
	case $a in
	local,path=*,mount_tag=ksftvm,*) scratch=${a#local,path=}; scratch=${scratch%%,mount_tag=*} ;;
	file,id=console,path=*) console=${a#file,id=console,path=}; console=${console%%,append=on} ;;
	esac
done
echo "qemu-system-x86_64: warning: a QEMU warning on stderr" >&2
case ${FAKE_QEMU:-run} in
sleep)
	exec sleep 60
	;;
panic)
	echo "[    1.000000] Kernel panic - not syncing: Attempted to kill init!" >>"$console"
	exit 0
	;;
esac
echo "[    0.500000] booting" >>"$console"
echo "0.50 0.40" >"$scratch/uptime.start"
sh "$scratch/job.sh" </dev/null
status=$?
echo "2.00 1.80" >"$scratch/uptime.end"
echo "$status" >"$scratch/status"
