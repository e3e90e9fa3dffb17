#!/bin/sh
# PID 1 of the VM (tools/vm/run.ts boots the kernel with init=<this file>).
# The root is the host's / over 9p, read-only. This script mounts what a
# job needs, lays a throw-away overlay over the project directory, runs the
# job script from the scratch share with its stdout and stderr on the two
# virtio-serial ports, writes the exit status to the share, and reboots,
# which ends QEMU (-no-reboot). Its own messages go to the kernel console.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
scratch=/run/ksft-vm
results=/run/ksft-vm-results

say() {
	echo "ksft-vm init: $*" >/dev/console
}
# Never returns. sync first: the status must be on the host before the
# emergency reboot. If sysrq is missing, the kernel panics when PID 1
# exits, and panic=-1 reboots too.
finish() {
	sync
	echo b >/proc/sysrq-trigger
	sleep 30
	exit 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# CONFIG_DEVTMPFS_MOUNT mounts /dev when the kernel mounts the root itself;
# a kernel without it still gets one. (Checked in /proc/mounts, not by
# looking for /dev/null: the host's device nodes show through the 9p root.)
grep -q '^[^ ]* /dev devtmpfs ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p "$scratch" "$results"
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 ksftvm "$scratch"; then
	say "cannot mount the scratch share (9p tag ksftvm); no job to run"
	finish
fi
# A project directory under /tmp or /dev/shm (a CI checkout, say) would
# vanish under the tmpfs mounts below: hold it on a bind mount first and put
# it back at its own path afterwards.
keep=/run/ksft-vm-keep
n=0
while IFS= read -r d; do
	case "$d" in
	/tmp/* | /dev/shm/*)
		n=$((n + 1))
		mkdir -p "$keep/$n"
		mount --bind "$d" "$keep/$n" || say "cannot hold $d across the tmpfs mounts"
		;;
	esac
done <"$scratch/overlay"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
n=0
while IFS= read -r d; do
	case "$d" in
	/tmp/* | /dev/shm/*)
		n=$((n + 1))
		mkdir -p "$d"
		mount --bind "$keep/$n" "$d" || say "cannot put $d back after the tmpfs mounts"
		;;
	esac
done <"$scratch/overlay"
# The results share is there only when the runner was given --results.
if cat /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag 2>/dev/null | tr '\0' '\n' | grep -qx ksftout; then
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 ksftout "$results" ||
		say "cannot mount the results share (9p tag ksftout)"
fi

# The root is read-only; the job's writes to the project tree (build output,
# logs, caches) land in tmpfs and vanish with the VM.
n=0
while IFS= read -r d; do
	[ -n "$d" ] || continue
	n=$((n + 1))
	w=/tmp/.ksft-vm-overlay/$n
	mkdir -p "$w/upper" "$w/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$w/upper,workdir=$w/work" "$d" ||
		say "cannot mount an overlay over $d; it stays read-only"
done <"$scratch/overlay"

# The ports by name (there is no udev to make /dev/virtio-ports links).
port() {
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${p##*/}"; return 0; }
	done
	return 1
}
out=$(port ksft.out) || { say "no virtio port ksft.out; job stdout goes to the console"; out=/dev/console; }
err=$(port ksft.err) || { say "no virtio port ksft.err; job stderr goes to the console"; err=/dev/console; }

cat /proc/uptime >"$scratch/uptime.start"
sh "$scratch/job.sh" <"/dev/null" >"$out" 2>"$err"
status=$?
cat /proc/uptime >"$scratch/uptime.end"
# Written whole, then renamed: a status file is never half there.
echo "$status" >"$scratch/status.tmp" && mv "$scratch/status.tmp" "$scratch/status"

# The job's last bytes may still sit in QEMU's queue when the host reads
# slowly. Send the run's end marker on each port and wait for the host's
# answer line (tools/vm/port.ts), so the reboot loses nothing; a host that
# never answers costs 30 s, not the run.
marker=$(cat "$scratch/marker")
drain() {
	[ "$1" != /dev/console ] || return 0
	exec 3<>"$1" || return 0
	printf '%s' "$marker" >&3
	read -r _ <&3
	exec 3>&-
}
(
	sleep 30
	say "no answer from the host to the end marker in 30 s; rebooting"
	finish
) &
drain "$out"
drain "$err"
finish
