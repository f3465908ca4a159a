#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, with apt-get, what building and testing rtsp-conntrack needs on
# Debian 12: the toolchain, headers of Debian's current 6.1 kernel, QEMU
# and the tools the tests run inside the VM; the arm64 and s390x cross
# compilers, qemu-s390x (user mode) and qemu-system-aarch64 for the other
# architectures (tests/arch, tests/e2e/run --arch arm64).  Idempotent and quiet when
# everything is already there.
#
#   scripts/deps.sh            build + unit/fuzz + E2E dependencies
set -eu

PKGS="build-essential bc bison flex libelf-dev libssl-dev kmod cpio zstd
xz-utils sparse clang libclang-rt-14-dev qemu-system-x86 busybox-static
iproute2 nftables iptables conntrack python3 procps psmisc rsync gzip
shellcheck ffmpeg conntrackd keepalived socat quilt python3-ply python3-git
gcc-aarch64-linux-gnu gcc-s390x-linux-gnu libc6-dev-s390x-cross
libubsan1-s390x-cross qemu-user qemu-system-arm debootstrap"

# Headers of the newest Debian 6.1 kernel: the CI machine's own kernel is
# not a Debian one and has no headers.
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done

if [ "$(id -u)" != 0 ]; then
	[ -z "$missing" ] && exit 0
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/rtsp-conntrack-update
if [ -n "$missing" ] || [ ! -e "$stamp" ]; then
	apt-get update -q >/dev/null
	mkdir -p "${stamp%/*}" && touch "$stamp"
fi
if [ -n "$missing" ]; then
	echo "deps: installing$missing" >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

hdr=$(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
	cut -d' ' -f1 | sort -V | tail -n1)
if [ -n "$hdr" ] && ! dpkg-query -W -f='${Status}' "$hdr" 2>/dev/null |
	grep -q 'ok installed'; then
	echo "deps: installing $hdr" >&2
	apt-get install -y -q --no-install-recommends "$hdr" >/dev/null
fi

# checkpatch.pl for "make style" (part of "make check"): headers packages
# lack it, so take it, with the lists it reads beside it, from Debian's
# linux-source-6.1.
ckdir=/var/cache/rtsp-conntrack-checkpatch
if [ ! -x "$ckdir/checkpatch.pl" ] &&
   [ ! -e /usr/src/linux-source-6.1/scripts/checkpatch.pl ]; then
	dpkg-query -W -f='${Status}' linux-source-6.1 2>/dev/null |
		grep -q 'ok installed' || {
		echo "deps: installing linux-source-6.1 (for checkpatch.pl)" >&2
		apt-get install -y -q --no-install-recommends linux-source-6.1 >/dev/null
	}
	mkdir -p "$ckdir"
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$ckdir" --strip-components=2 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi
