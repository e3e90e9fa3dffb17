#!/bin/sh
# install_packages.sh PACKAGE...: installs the Debian packages the VM tools
# use when what they provide is missing, as root with apt-get (one
# `apt-get update`, one install, quiet). Everything goes to stderr: the
# callers' stdout is a TAP stream or a kernel path. Without root or apt-get
# it only says what is missing and exits 0; the step that needs the package
# then fails with its own one-line error.
# Presence is checked by what the package provides, not by dpkg, so a host
# with the tools from elsewhere installs nothing. KSFT_VM_INSTALL=0: never
# install, only say what is missing.
provides() {
	case $1 in
	qemu-system-x86) command -v qemu-system-x86_64 >/dev/null 2>&1 ;;
	flex | bison | bc | cpio) command -v "$1" >/dev/null 2>&1 ;;
	libelf-dev) [ -e /usr/include/libelf.h ] ;;
	libssl-dev) [ -e /usr/include/openssl/ssl.h ] ;;
	linux-source-6.12) [ -e "${KSFT_LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}" ] ;;
	*) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' ;;
	esac
}
missing=
for p in "$@"; do
	provides "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "${KSFT_VM_INSTALL:-1}" = 0 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "vm: missing packages:$missing (install them as root: apt-get install$missing)" >&2
	exit 0
fi
echo "vm: installing$missing" >&2
# shellcheck disable=SC2086 # one word per package
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >&2 2>&1 </dev/null; then
	echo "vm: apt-get install$missing failed" >&2
fi
exit 0
