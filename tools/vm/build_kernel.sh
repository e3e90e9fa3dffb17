#!/bin/sh
# build_kernel.sh [--print-key | --print-dir]: prints the path of a bzImage for
# the VM runner on stdout (its only stdout line), building it first unless the
# cache already has it. Progress and errors go to stderr, make's output to
# build.log in the cache.
#
# KERNEL=path/to/bzImage    use that kernel: no build, only checked to exist
# KSFT_VM_CACHE=DIR         cache root (default $XDG_CACHE_HOME/ksft-coco,
#                           else ~/.cache/ksft-coco); the kernel goes to
#                           DIR/kernel/<version>-<fragment hash>/bzImage
# KSFT_LINUX_SOURCE=TARBALL kernel source (default Debian's linux-source-6.12)
# KSFT_VM_FRAGMENT=FILE     config fragment (default tools/vm/kernel.config)
# KSFT_VM_JOBS=N            make -j (default: nproc)
# KSFT_VM_KEEP_SOURCE=1     keep the unpacked, built tree (about 1.5 GB) for
#                           debugging; by default only bzImage, config and
#                           build.log stay
# --print-key / --print-dir print the cache key / directory and exit
#
# Steps: unpack, make tinyconfig, merge the fragment (merge_config.sh -m),
# make olddefconfig, check every fragment option landed (check_config.sh),
# nice make bzImage, check again. One flock per cache entry, so two
# concurrent builds of one kernel wait for each other instead of unpacking
# over each other; the second one then reuses the first one's bzImage.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if [ -n "${KERNEL:-}" ]; then
	if [ ! -f "$KERNEL" ]; then
		echo "vm: KERNEL=$KERNEL: no such file" >&2
		exit 1
	fi
	printf '%s\n' "$KERNEL"
	exit 0
fi

mode=build
case ${1:-} in
--print-key) mode=key ;;
--print-dir) mode=dir ;;
'') ;;
*) echo "vm: build_kernel.sh: unknown argument '$1' (use --print-key or --print-dir)" >&2; exit 2 ;;
esac

fragment=${KSFT_VM_FRAGMENT:-$here/kernel.config}
tarball=${KSFT_LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
cache=${KSFT_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksft-coco}
jobs=${KSFT_VM_JOBS:-$(nproc)}
# Bumped when this script changes what it builds from the same inputs.
recipe=1

if [ ! -r "$fragment" ]; then
	echo "vm: config fragment $fragment: cannot read it" >&2
	exit 1
fi
if [ "$mode" = build ] && [ ! -e "$tarball" ] && [ -z "${KSFT_LINUX_SOURCE:-}" ]; then
	sh "$here/install_packages.sh" linux-source-6.12
fi
if [ ! -r "$tarball" ]; then
	echo "vm: kernel source $tarball is missing (apt-get install linux-source-6.12, or set KSFT_LINUX_SOURCE)" >&2
	exit 1
fi

# Cache key: the kernel version, then a hash of the fragment's options
# (comments and blank lines do not count) and the recipe. The version is the
# Debian package's when the tarball belongs to one (6.12.118-1~deb12u1);
# otherwise the tarball's name plus a hash of its size and mtime.
pkg=$(dpkg-query -S "$tarball" 2>/dev/null | sed -n '1s/:.*//p') || pkg=
version=
if [ -n "$pkg" ]; then
	version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || version=
fi
if [ -z "$version" ]; then
	stamp=$(stat -L -c '%s %Y' "$tarball" | sha256sum | cut -c1-8)
	version="$(basename "$tarball" | sed 's/\.tar\..*$//; s/\.tar$//')-$stamp"
fi
version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9._+-' '_')
hash=$({ echo "recipe $recipe"; sed -e 's/\r$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' -e '/^#/{/^# CONFIG_.* is not set$/!d;}' "$fragment"; } | sha256sum | cut -c1-12)
key="$version-$hash"
dir="$cache/kernel/$key"
case $mode in
key) printf '%s\n' "$key"; exit 0 ;;
dir) printf '%s\n' "$dir"; exit 0 ;;
esac

if [ -f "$dir/bzImage" ]; then
	printf '%s\n' "$dir/bzImage"
	exit 0
fi
# The build tools only now: a cached kernel needs none of them.
sh "$here/install_packages.sh" flex bison libelf-dev libssl-dev bc cpio
mkdir -p "$dir"
exec 9>"$dir.lock"
if ! flock -n 9; then
	echo "vm: another build of $key is running; waiting for it" >&2
	flock 9
fi
if [ -f "$dir/bzImage" ]; then
	printf '%s\n' "$dir/bzImage"
	exit 0
fi

src="$dir/linux"
log="$dir/build.log"
: >"$log"
t0=$(date +%s)
step() {
	echo "vm: [$(($(date +%s) - t0))s] $*" >&2
}
# On failure: one line saying which step, the tail of the log for context.
fail() {
	echo "vm: kernel build failed: $1 (log: $log)" >&2
	tail -n 25 "$log" | sed 's/^/vm:   /' >&2
	exit 1
}
kmake() {
	make -C "$src" ARCH=x86_64 "$@" >>"$log" 2>&1
}

step "building the guest kernel $key in $dir (12-16 min with 2 cores)"
rm -rf "$src"
mkdir -p "$src"
step "unpacking $tarball"
nice tar -xJf "$tarball" -C "$src" --strip-components=1 >>"$log" 2>&1 || fail "unpacking $tarball"
step "configuring: tinyconfig + $fragment"
kmake tinyconfig || fail "make tinyconfig"
(cd "$src" && ARCH=x86_64 ./scripts/kconfig/merge_config.sh -m .config "$fragment") >>"$log" 2>&1 ||
	fail "merge_config.sh"
kmake olddefconfig || fail "make olddefconfig"
# Before the long part: a fragment option that did not land is a fragment
# bug, and finding it after 16 minutes would be a waste.
sh "$here/check_config.sh" "$fragment" "$src/.config" || exit 1
step "make -j$jobs bzImage (log: $log)"
nice make -C "$src" ARCH=x86_64 -j"$jobs" bzImage >>"$log" 2>&1 || fail "make bzImage"
sh "$here/check_config.sh" "$fragment" "$src/.config" || exit 1
cp "$src/.config" "$dir/config"
# Last, and atomically: a bzImage in the cache means a complete build.
cp "$src/arch/x86/boot/bzImage" "$dir/bzImage.tmp"
mv "$dir/bzImage.tmp" "$dir/bzImage"
if [ "${KSFT_VM_KEEP_SOURCE:-}" != 1 ]; then
	rm -rf "$src"
fi
step "built $dir/bzImage ($(du -k "$dir/bzImage" | cut -f1) KiB)"
printf '%s\n' "$dir/bzImage"
