#!/bin/sh
# Installs the Debian package linux-source-6.12 for the peer tests
# (test/peers) when its tarball is missing: as root, with apt-get, one
# `apt-get update` and one install. Never fails: without the package the peer
# tests report SKIP with the reason. KSFT_LINUX_SOURCE names another tarball
# to look for (as the peer tests accept); the install is always the package.
tarball=${KSFT_LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
[ -e "$tarball" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "peers: $tarball is missing and cannot be installed here (needs root and apt-get); the kernel peer tests will skip" >&2
	exit 0
fi
# stdout of `make check` is tap's TAP stream: the install talks on stderr.
echo "peers: installing linux-source-6.12 for the kernel peer tests" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.12; } >&2; then
	echo "peers: apt-get install linux-source-6.12 failed; the kernel peer tests will skip" >&2
fi
exit 0
