#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ci-packaging.sh: the packaging checks, for a fresh Debian 12 machine
# (root; its running kernel need not be a Debian one).  Installs with
# apt-get what it needs, then checks, one PASS/FAIL line each:
#
#   - shellcheck of the scripts; dkms.conf, Kbuild and debian/changelog agree
#   - make install / make uninstall: dkms add, build, install against
#     Debian 12's 6.1 headers, dkms build against bookworm-backports' 6.12
#     headers, dkms status, the DKMS signature
#   - make deb, apt-get install ./the.deb (DKMS builds), apt-get purge
#   - make sign with a throwaway key: modinfo signer, sig_hashalgo, sig_key
#   - rtsp-conntrack-setup --root (systemd and OpenRC), rtsp-attach
#     (dry run, and for real in a network namespace when the running kernel
#     allows), rtsp-conntrack-status
#   - patches/ (7.3) and patches/6.1: up to date, 6.1 applies to
#     linux-source-6.1, both objects
#     build in-tree without warnings (timed)
#
# and ends with "N passed, N failed" (exit 1 if any failed).  The router
# scripts on a real kernel are tested by tests/e2e/40-attach-scripts.sh
# (make check runs it; --e2e here runs it too).
#
#   scripts/ci-packaging.sh [--no-apt] [--no-intree] [--e2e] [--keep]
#
# It refuses to run where rtsp-conntrack is installed for real (it would
# remove it), unless CI_PACKAGING_FORCE=1.

# Single-quoted $... below are make, nft or sh -c text, not for this shell.
# shellcheck disable=SC2016
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"

APT=1
INTREE=1
E2E=0
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--no-apt)	APT=0 ;;
	--no-intree)	INTREE=0 ;;
	--e2e)		E2E=1 ;;
	--keep)		KEEP=1 ;;
	-h|--help)	sed -n '3,27s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*)		echo "ci-packaging: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "ci-packaging: run as root" >&2; exit 2; }

NAME=rtsp-conntrack
DEB_PKG=rtsp-conntrack-dkms
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
WORK=$(mktemp -d /tmp/ci-packaging.XXXXXX)
LOGS=$WORK/logs
mkdir -p "$LOGS"
T0=$(date +%s)

# One run at a time: DKMS state is machine-wide.
exec 8>/var/lock/rtsp-conntrack-ci-packaging.lock
flock 8

passed=0
failed=0
n=0

# check NAME CMD...: run CMD with its output in a log; PASS or FAIL with the
# log's tail and the time taken.
check() {
	local name=$1 log rc=0 t0
	shift
	n=$((n + 1))
	log=$LOGS/$(printf '%02d' "$n").log
	t0=$(date +%s)
	("$@") >"$log" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		echo "PASS: $name ($(($(date +%s) - t0))s)"
		passed=$((passed + 1))
	else
		echo "FAIL: $name ($(($(date +%s) - t0))s, exit $rc)"
		tail -n 25 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	return 0
}

note() { echo "    $*"; }

finish() {
	local t=$(($(date +%s) - T0))
	echo "ci-packaging: $((t / 60))m$((t % 60))s"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

cleanup() {
	# Whatever a failed check left: nothing of ours stays installed.
	if dpkg-query -W -f='${Status}' "$DEB_PKG" 2>/dev/null | grep -q 'ok installed'; then
		apt-get purge -y -q "$DEB_PKG" >/dev/null 2>&1 || true
	fi
	if command -v dkms >/dev/null && [ -n "$(dkms status -m "$NAME" 2>/dev/null)" ]; then
		dkms remove -m "$NAME" -v "$VERSION" --all >/dev/null 2>&1 || true
		rm -rf "/usr/src/$NAME-$VERSION"
	fi
	[ -z "${INTREE_PID:-}" ] || kill "$INTREE_PID" 2>/dev/null || true
	if [ "$KEEP" = 1 ]; then
		echo "ci-packaging: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

if [ "${CI_PACKAGING_FORCE:-0}" != 1 ]; then
	if dpkg-query -W -f='${Status}' "$DEB_PKG" 2>/dev/null | grep -q 'ok installed' ||
	   { command -v dkms >/dev/null && [ -n "$(dkms status -m "$NAME" 2>/dev/null)" ]; }; then
		echo "ci-packaging: $NAME is installed on this machine (dkms status, $DEB_PKG)," \
			"and these checks would remove it: uninstall it or set CI_PACKAGING_FORCE=1" >&2
		exit 2
	fi
fi
trap cleanup EXIT

# --- packages --------------------------------------------------------------------

export DEBIAN_FRONTEND=noninteractive
# INITRD=No: the 6.12 headers pull in the 6.12 image, whose initramfs
# nobody here boots (building it takes minutes).
APT_GET=(env INITRD=No apt-get -q -y -o DPkg::Lock::Timeout=600
	-o Dpkg::Options::=--force-unsafe-io --no-install-recommends)

PKGS="dkms dh-dkms debhelper shellcheck openssl kmod nftables iptables
conntrack iproute2 build-essential bc bison flex libelf-dev libssl-dev
xz-utils git util-linux"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# The newest of Debian 12's 6.1 headers, and the 6.12 headers that
# bookworm-backports' linux-headers-amd64 depends on.
newest_61() {
	apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
		cut -d' ' -f1 | sort -V | tail -n1
}
backports_612() {
	apt-cache show linux-headers-amd64/bookworm-backports 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-headers-6\.12\.[^ ,]*-amd64\).*/\1/p' | head -n1
}

deps() {
	local missing='' p h61 h612 src=/etc/apt/sources.list.d/bookworm-backports.sources

	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat >"$src" <<-EOF
		Types: deb
		URIs: http://deb.debian.org/debian
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		echo "added $src"
		apt-get -q -o DPkg::Lock::Timeout=600 update
	fi
	h61=$(newest_61)
	h612=$(backports_612)
	if [ -z "$h61" ] || [ -z "$h612" ]; then
		apt-get -q -o DPkg::Lock::Timeout=600 update
		h61=$(newest_61)
		h612=$(backports_612)
	fi
	[ -n "$h61" ] || { echo "no linux-headers-6.1.0-*-amd64 in apt"; return 1; }
	[ -n "$h612" ] || { echo "no 6.12 headers in bookworm-backports"; return 1; }
	for p in $PKGS "$h61" "$h612"; do
		installed "$p" || missing="$missing $p"
	done
	if [ ! -d /usr/src/linux-source-6.1 ] && ! installed linux-source-6.1; then
		missing="$missing linux-source-6.1"
	fi
	if [ -n "$missing" ]; then
		echo "installing:$missing"
		# shellcheck disable=SC2086 # a list of package names
		"${APT_GET[@]}" install $missing
	fi
	echo "$h61" >"$WORK/h61"
	echo "$h612" >"$WORK/h612"
}

if [ "$APT" = 1 ]; then
	check "apt-get install: dkms, dh-dkms, headers 6.1 and 6.12 (bookworm-backports), linux-source-6.1, tools" deps
else
	newest_61 >"$WORK/h61"
	backports_612 >"$WORK/h612"
fi
K61=$(sed 's/^linux-headers-//' "$WORK/h61")
K612=$(sed 's/^linux-headers-//' "$WORK/h612")
note "kernels: $K61 and $K612; running $(uname -r); $NAME $VERSION"

# --- in-tree build, in the background: it takes longest ------------------------

KSRC=/usr/src/linux-source-6.1
KTAR=/usr/src/linux-source-6.1.tar.xz

# intree_build: apply patches/ to a copy of linux-source-6.1 and build both
# objects in it, with the objects in a separate O= directory.  Only the
# objects: modpost of a lone .ko without vmlinux just warns about every
# symbol.  Writes the build output to $WORK/intree.out, per-step times to
# $WORK/intree.times.
intree_build() {
	local tree=$WORK/linux obj=$WORK/linux-obj p t0

	t0=$(date +%s)
	if [ -f "$KSRC/Makefile" ] && [ "${CI_PACKAGING_EXTRACT:-0}" != 1 ]; then
		# Hard links are enough: the patched files are replaced, not
		# written in place, and every build product goes to $obj.
		cp -al "$KSRC" "$tree"
		rm -rf "$tree/net/netfilter"
		cp -a "$KSRC/net/netfilter" "$tree/net/"
		echo "copy of $KSRC: $(($(date +%s) - t0))s" >>"$WORK/intree.times"
	else
		mkdir -p "$tree"
		# Documentation's own files stay: lib/Kconfig.debug sources
		# Documentation/Kconfig.
		tar -xJf "$KTAR" -C "$tree" --strip-components=1 \
			--exclude='linux-source-6.1/Documentation/*/*' \
			--exclude='linux-source-6.1/drivers/*.[ch]' \
			--exclude='linux-source-6.1/sound/*.[ch]'
		echo "tar -x $KTAR: $(($(date +%s) - t0))s" >>"$WORK/intree.times"
	fi
	for p in "$TOP"/patches/6.1/0*.patch; do
		patch -d "$tree" -p1 -s --no-backup-if-mismatch <"$p" || return 1
	done
	t0=$(date +%s)
	make -s -C "$tree" O="$obj" defconfig >/dev/null || return 1
	"$tree/scripts/config" --file "$obj/.config" --enable NETFILTER \
		--module NF_CONNTRACK --module NF_NAT \
		--module NF_CONNTRACK_RTSP --module NF_NAT_RTSP
	make -s -C "$tree" O="$obj" olddefconfig || return 1
	if ! grep -qx 'CONFIG_NF_CONNTRACK_RTSP=m' "$obj/.config" ||
	   ! grep -qx 'CONFIG_NF_NAT_RTSP=m' "$obj/.config"; then
		echo "Kconfig: NF_CONNTRACK_RTSP or NF_NAT_RTSP not =m"
		grep RTSP "$obj/.config"
		return 1
	fi
	echo "defconfig + olddefconfig: $(($(date +%s) - t0))s" >>"$WORK/intree.times"
	t0=$(date +%s)
	make -s -C "$tree" O="$obj" -j"$(nproc)" prepare >/dev/null || return 1
	echo "make prepare: $(($(date +%s) - t0))s" >>"$WORK/intree.times"
	t0=$(date +%s)
	make -C "$tree" O="$obj" -j"$(nproc)" \
		net/netfilter/nf_conntrack_rtsp.o net/netfilter/nf_nat_rtsp.o \
		>"$WORK/intree.out" 2>&1 || return 1
	echo "make net/netfilter/nf_conntrack_rtsp.o nf_nat_rtsp.o: $(($(date +%s) - t0))s" \
		>>"$WORK/intree.times"
	[ -s "$obj/net/netfilter/nf_conntrack_rtsp.o" ] &&
		[ -s "$obj/net/netfilter/nf_nat_rtsp.o" ]
}

if [ "$INTREE" = 1 ]; then
	INTREE_T0=$(date +%s)
	(intree_build >"$WORK/intree.log" 2>&1; echo $? >"$WORK/intree.rc") &
	INTREE_PID=$!
fi

# --- static checks ------------------------------------------------------------

shellcheck_all() {
	shellcheck scripts/rtsp-attach scripts/rtsp-conntrack-setup \
		scripts/rtsp-conntrack-status scripts/dkms-install scripts/mkpatch \
		scripts/ci-packaging.sh &&
	(cd tests/e2e && shellcheck -x 40-attach-scripts.sh 41-status-session.sh 42-attach-legacy.sh)
}
check "shellcheck: router scripts, dkms-install, mkpatch, ci-packaging.sh, e2e test" shellcheck_all

metadata() {
	local chlog built kbuild
	chlog=$(dpkg-parsechangelog -l debian/changelog -S Version)
	echo "dkms.conf $VERSION, debian/changelog $chlog"
	[ -n "$VERSION" ] && [ "$chlog" = "$VERSION" ] || return 1
	# modinfo's version: of both modules.
	built=$(sed -n 's/^#define RTSP_CONNTRACK_VERSION[[:space:]]*"\(.*\)"/\1/p' nf_conntrack_rtsp.h)
	echo "nf_conntrack_rtsp.h RTSP_CONNTRACK_VERSION $built"
	[ "$built" = "$VERSION" ] || return 1
	grep -q 'MODULE_VERSION(RTSP_CONNTRACK_VERSION)' nf_conntrack_rtsp_main.c &&
	grep -q 'MODULE_VERSION(RTSP_CONNTRACK_VERSION)' nf_nat_rtsp_main.c || return 1
	grep -qx 'AUTOINSTALL="yes"' dkms.conf || { echo "AUTOINSTALL is not yes"; return 1; }
	built=$(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"/\1/p' dkms.conf | sort | tr '\n' ' ')
	kbuild=$(sed -n 's/^obj-\$(CONFIG_[A-Z_]*) += \(.*\)\.o$/\1/p' Kbuild | sort | tr '\n' ' ')
	echo "dkms.conf builds: $built; Kbuild: $kbuild"
	[ "$built" = "$kbuild" ]
}
check "dkms.conf: version = debian/changelog = the modules' MODULE_VERSION, AUTOINSTALL, modules = Kbuild's" metadata

# --- make install / uninstall ---------------------------------------------------

PREFIX=$WORK/prefix
MODDIR61=/lib/modules/$K61/updates/dkms

# dkms_installed KVER... : "dkms status" (one call: it is slow) says
# installed for each KVER.
dkms_installed() {
	local st k
	st=$(dkms status -m "$NAME" -v "$VERSION" 2>/dev/null)
	echo "$st"
	for k in "$@"; do
		grep -qF "$NAME/$VERSION, $k, $(uname -m): installed" <<<"$st" || return 1
	done
}

make_install() {
	make install KVER="$K61" PREFIX="$PREFIX" &&
	dkms_installed "$K61" &&
	[ -f "$MODDIR61/nf_conntrack_rtsp.ko" ] && [ -f "$MODDIR61/nf_nat_rtsp.ko" ] &&
	[ "$(modinfo -F vermagic "$MODDIR61/nf_conntrack_rtsp.ko" | cut -d' ' -f1)" = "$K61" ] &&
	[ -f "/usr/src/$NAME-$VERSION/dkms.conf" ] &&
	[ -x "$PREFIX/sbin/rtsp-attach" ] && [ -f "$PREFIX/share/$NAME/rtsp-helper.nft" ]
}
check "make install KVER=$K61: dkms add/build/install, modules in $MODDIR61" make_install

# A kernel without headers: make install fails before it touches the
# working installation (it used to dkms remove it first).
install_no_headers() {
	local rc=0
	make install KVER=0.0.0-no-headers PREFIX="$PREFIX" >"$WORK/nohdr.out" 2>&1 || rc=$?
	cat "$WORK/nohdr.out"
	[ "$rc" != 0 ] && grep -q 'no kernel headers for 0.0.0-no-headers' "$WORK/nohdr.out" &&
	dkms_installed "$K61" &&
	[ -f "$MODDIR61/nf_conntrack_rtsp.ko" ] && [ -f "/usr/src/$NAME-$VERSION/dkms.conf" ]
}
check "make install KVER=<no headers>: fails, the $K61 install stays" install_no_headers

install_docs() {
	ls -l "$PREFIX/share/doc/$NAME/"
	[ -f "$PREFIX/share/doc/$NAME/install.md" ] &&
	[ -f "$PREFIX/share/doc/$NAME/secure-boot.md" ] &&
	"$PREFIX/sbin/rtsp-conntrack-status" 2>&1 | tee "$WORK/status-installed.out" >/dev/null
	grep "$PREFIX/share/doc/$NAME/install.md" "$WORK/status-installed.out"
}
check "make install ships install.md and secure-boot.md; rtsp-conntrack-status points to them" install_docs

dkms_612() {
	dkms build -m "$NAME" -v "$VERSION" -k "$K612" &&
	dkms install -m "$NAME" -v "$VERSION" -k "$K612"
}
check "dkms build + install -k $K612 (bookworm-backports headers)" dkms_612
if [ -f "/var/lib/dkms/$NAME/$VERSION/build/make.log" ]; then
	grep -E 'error|warning:' "/var/lib/dkms/$NAME/$VERSION/build/make.log" | head -n 10 |
		sed 's/^/    make.log: /'
fi

check "dkms status shows $NAME/$VERSION installed for $K61 and $K612" \
	dkms_installed "$K61" "$K612"
sed 's/^/    /' "$LOGS/$(printf '%02d' "$n").log"

dkms_signed() {
	local ko=$MODDIR61/nf_conntrack_rtsp.ko
	echo "signer: $(modinfo -F signer "$ko"), $(modinfo -F sig_hashalgo "$ko")"
	[ "$(modinfo -F signer "$ko")" = "DKMS module signing key" ] &&
	[ "$(modinfo -F sig_hashalgo "$ko")" = sha256 ]
}
check "DKMS signed the 6.1 modules (signer 'DKMS module signing key', sha256)" dkms_signed

make_uninstall() {
	make uninstall PREFIX="$PREFIX" &&
	[ -z "$(dkms status -m "$NAME" 2>/dev/null)" ] &&
	[ ! -e "/usr/src/$NAME-$VERSION" ] &&
	[ ! -e "$MODDIR61/nf_conntrack_rtsp.ko" ] &&
	[ ! -e "/lib/modules/$K612/updates/dkms/nf_nat_rtsp.ko" ] &&
	[ ! -e "$PREFIX/sbin/rtsp-attach" ] && [ ! -e "$PREFIX/share/doc/$NAME" ]
}
check "make uninstall: dkms status empty, sources, modules and scripts gone" make_uninstall

# --- the Debian package -------------------------------------------------------------

DEB=$NAME-dkms_${VERSION}_all.deb

make_deb() {
	rm -f "$DEB"
	make deb && [ -f "$DEB" ] || return 1
	dpkg-deb -I "$DEB"
	dpkg-deb -c "$DEB" >"$WORK/deb.contents"
	cat "$WORK/deb.contents"
	local f
	for f in dkms.conf Makefile Kbuild nf_conntrack_rtsp_main.c nf_nat_rtsp_main.c \
		rtsp_parse.c rtsp_parse.h rtsp_nat_plan.c rtsp_nat_plan.h \
		nf_conntrack_rtsp.h netfilter_helpers.h; do
		grep -q " \./usr/src/$NAME-$VERSION/$f\$" "$WORK/deb.contents" ||
			{ echo "missing /usr/src/$NAME-$VERSION/$f"; return 1; }
	done
	for f in usr/sbin/rtsp-attach usr/sbin/rtsp-conntrack-setup \
		usr/sbin/rtsp-conntrack-status usr/share/$NAME/rtsp-helper.nft \
		usr/share/doc/$DEB_PKG/install.md usr/share/doc/$DEB_PKG/secure-boot.md; do
		# dh_compress gzips the larger documents.
		grep -q " \./$f\(\.gz\)\{0,1\}\$" "$WORK/deb.contents" ||
			{ echo "missing /$f"; return 1; }
	done
	! grep -q '\.mod\.c$\|\.ko$\|\.o$' "$WORK/deb.contents" &&
	dpkg-deb -f "$DEB" Depends | grep -q 'dkms'
}
check "make deb: $DEB (sources, scripts, docs; Depends: dkms)" make_deb

deb_install() {
	"${APT_GET[@]}" install "./$DEB" || return 1
	# The running kernel has no headers here: the postinst built for the
	# kernels that have them; if it did not for 6.1, build now.
	if ! dkms_installed "$K61"; then
		dkms build -m "$NAME" -v "$VERSION" -k "$K61" &&
		dkms install -m "$NAME" -v "$VERSION" -k "$K61" || return 1
	fi
	dkms_installed "$K61" &&
	[ -f "$MODDIR61/nf_nat_rtsp.ko" ] &&
	[ -x /usr/sbin/rtsp-attach ] && [ -f /usr/share/$NAME/rtsp-helper.nft ] &&
	[ "$(modinfo -F version "$MODDIR61/nf_conntrack_rtsp.ko")" = "$VERSION" ] &&
	/usr/sbin/rtsp-conntrack-status --help |
		grep -E "^The guide: /usr/share/doc/$DEB_PKG/install\.md(\.gz)?\$"
}
check "apt-get install ./$DEB: DKMS builds and installs for $K61 (version $VERSION); the status points to the package's guide" deb_install
grep -F "$NAME/$VERSION, " "$LOGS/$(printf '%02d' "$n").log" | sort -u | sed 's/^/    /'

deb_purge() {
	"${APT_GET[@]}" purge "$DEB_PKG" || return 1
	[ -z "$(dkms status -m "$NAME" 2>/dev/null)" ] &&
	[ ! -e "/usr/src/$NAME-$VERSION" ] &&
	[ ! -e "$MODDIR61/nf_nat_rtsp.ko" ] &&
	[ ! -e /usr/sbin/rtsp-attach ]
}
check "apt-get purge $DEB_PKG: dkms status empty, modules and files gone" deb_purge

# --- make sign -------------------------------------------------------------------------

SIGN_DIR=$WORK/sign

make_sign() {
	local kdir=/usr/src/linux-headers-$K61 ko serial key
	mkdir -p "$SIGN_DIR/scripts"
	cp Makefile Kbuild dkms.conf ./*.h "$SIGN_DIR/"
	for f in ./*.c; do
		case $f in *.mod.c) ;; *) cp "$f" "$SIGN_DIR/" ;; esac
	done
	cp scripts/package.mk scripts/dkms-install "$SIGN_DIR/scripts/"
	cd "$SIGN_DIR" || return 1
	openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 \
		-subj "/CN=rtsp-conntrack CI throwaway key/" \
		-keyout key.pem -out cert.pem 2>/dev/null || return 1
	make KDIR="$kdir" modules >/dev/null || return 1
	# Twice: the second run must not stack a second signature.
	make sign KDIR="$kdir" KEY=key.pem CERT=cert.pem &&
	make sign KDIR="$kdir" KEY=key.pem CERT=cert.pem || return 1
	serial=$(openssl x509 -in cert.pem -noout -serial | sed 's/^serial=0*//')
	for ko in nf_conntrack_rtsp.ko nf_nat_rtsp.ko; do
		key=$(modinfo -F sig_key "$ko" | tr -d ':' | sed 's/^0*//')
		echo "$ko: signer '$(modinfo -F signer "$ko")'," \
			"sig_hashalgo $(modinfo -F sig_hashalgo "$ko"), sig_key $key" \
			"(certificate serial $serial)"
		[ "$(modinfo -F signer "$ko")" = "rtsp-conntrack CI throwaway key" ] &&
		[ "$(modinfo -F sig_hashalgo "$ko")" = sha256 ] &&
		[ "$key" = "$serial" ] &&
		[ "$(grep -c '~Module signature appended~' "$ko")" = 1 ] || return 1
	done
}
check "make sign KEY= CERT= (openssl throwaway key): modinfo signer, sha256, sig_key, one signature" make_sign
if [ -f "$SIGN_DIR/nf_nat_rtsp.ko" ]; then
	note "modinfo -F signer nf_nat_rtsp.ko: $(modinfo -F signer "$SIGN_DIR/nf_nat_rtsp.ko")"
fi

# --- rtsp-conntrack-setup ------------------------------------------------------------------

SETUP=$TOP/scripts/rtsp-conntrack-setup

setup_systemd() {
	local r=$WORK/root-systemd sum1 sum2
	mkdir -p "$r"
	"$SETUP" --root "$r" --init systemd || return 1
	sum1=$(find "$r" -type f -exec md5sum {} + | sort)
	"$SETUP" --root "$r" --init systemd | tee "$WORK/setup2.out" || return 1
	sum2=$(find "$r" -type f -exec md5sum {} + | sort)
	[ "$sum1" = "$sum2" ] && [ "$(grep -c 'up to date' "$WORK/setup2.out")" = 2 ] &&
	[ "$(grep -v '^#' "$r/etc/modules-load.d/rtsp-conntrack.conf")" = \
		"$(printf 'nf_conntrack_rtsp\nnf_nat_rtsp')" ] &&
	! grep -qv '^#\|^$' "$r/etc/modprobe.d/rtsp-conntrack.conf" &&
	"$SETUP" --root "$r" --init systemd --remove &&
	[ -z "$(find "$r" -type f)" ]
}
check "rtsp-conntrack-setup --root --init systemd: modules-load.d + modprobe.d, idempotent, --remove" setup_systemd

setup_openrc() {
	local r=$WORK/root-openrc before
	mkdir -p "$r/etc/conf.d"
	printf '# the user'"'"'s own\nmodules="8021q"\n' >"$r/etc/conf.d/modules"
	before=$(cat "$r/etc/conf.d/modules")
	"$SETUP" --root "$r" --init openrc && "$SETUP" --root "$r" --init openrc || return 1
	cat "$r/etc/conf.d/modules"
	[ "$(grep -c 'modules="${modules} nf_conntrack_rtsp nf_nat_rtsp"' "$r/etc/conf.d/modules")" = 1 ] &&
	[ "$(sh -c '. "$1"; echo "$modules"' sh "$r/etc/conf.d/modules")" = \
		"8021q nf_conntrack_rtsp nf_nat_rtsp" ] &&
	[ -f "$r/etc/modprobe.d/rtsp-conntrack.conf" ] &&
	[ ! -e "$r/etc/modules-load.d" ] &&
	"$SETUP" --root "$r" --init openrc --remove &&
	[ "$(cat "$r/etc/conf.d/modules")" = "$before" ] &&
	[ ! -e "$r/etc/modprobe.d/rtsp-conntrack.conf" ]
}
check "rtsp-conntrack-setup --root --init openrc: conf.d/modules block once, sourced value, --remove restores" setup_openrc

# Every parameter of the built modules is documented, commented out, and
# the lines are valid modprobe.d options once uncommented.
setup_params() {
	local r=$WORK/root-params kv conf p m missing=
	kv=$(uname -r)
	[ -f "$SIGN_DIR/nf_conntrack_rtsp.ko" ] || { echo "no built modules (make sign failed?)"; return 1; }
	# The modules in the image's tree, so that the script's modinfo sees them.
	mkdir -p "$r/lib/modules/$kv/updates"
	cp "$SIGN_DIR"/nf_*_rtsp.ko "$r/lib/modules/$kv/updates/"
	depmod -b "$r" "$kv" 2>/dev/null
	"$SETUP" --root "$r" --init systemd >/dev/null || return 1
	conf=$r/etc/modprobe.d/rtsp-conntrack.conf
	for m in nf_conntrack_rtsp nf_nat_rtsp; do
		for p in $(modinfo -p "$SIGN_DIR/$m.ko" | cut -d: -f1); do
			grep -q "^#options $m $p=" "$conf" || missing="$missing $m.$p"
			echo "$m $p: $(grep -c "^#options $m $p=" "$conf")"
		done
	done
	[ -z "$missing" ] || { echo "not documented:$missing"; return 1; }
	! grep -q 'not described above' "$conf" || { echo "modinfo fallback used"; return 1; }
	mkdir -p "$WORK/uncommented"
	sed 's/^#options /options /' "$conf" >"$WORK/uncommented/rtsp.conf"
	modprobe -C "$WORK/uncommented" --showconfig >"$WORK/showconfig" || return 1
	grep '^options nf_' "$WORK/showconfig"
	[ "$(grep -c '^options nf_conntrack_rtsp ' "$WORK/showconfig")" -ge 1 ] &&
	[ "$(grep -c '^options nf_nat_rtsp ' "$WORK/showconfig")" -ge 1 ]
}
check "rtsp-conntrack-setup: modprobe.d documents every modinfo parameter; valid once uncommented" setup_params

# The fallback for a parameter the text lacks: a copy of the script without
# max_outstanding's entry must still list it, from modinfo.
setup_fallback() {
	local r=$WORK/root-params s=$WORK/setup-old
	sed '/^#options nf_conntrack_rtsp max_outstanding=/d' "$SETUP" >"$s"
	chmod +x "$s"
	"$s" --root "$r" --init systemd --print >"$WORK/fallback.out" || return 1
	sed -n '/not described above/,$p' "$WORK/fallback.out"
	grep -q '^#options nf_conntrack_rtsp max_outstanding=$' "$WORK/fallback.out"
}
check "rtsp-conntrack-setup lists a parameter it does not know from modinfo" setup_fallback

# --remove --print lists what --remove would do and changes nothing; a root
# with neither systemd nor OpenRC, or OpenWrt's, gets an answer, no files.
setup_answers() {
	local r=$WORK/root-answers sum out rc
	mkdir -p "$r"
	"$SETUP" --root "$r" --init systemd >/dev/null || return 1
	sum=$(find "$r" -type f -exec md5sum {} + | sort)
	out=$("$SETUP" --root "$r" --init systemd --remove --print) || return 1
	echo "$out"
	grep -qx 'remove /etc/modules-load.d/rtsp-conntrack.conf' <<<"$out" &&
	grep -qx 'remove /etc/modprobe.d/rtsp-conntrack.conf' <<<"$out" &&
	! grep -q '^#' <<<"$out" &&
	[ "$sum" = "$(find "$r" -type f -exec md5sum {} + | sort)" ] || return 1
	rm -rf "$r" && mkdir -p "$r"
	rc=0
	out=$("$SETUP" --root "$r" 2>&1) || rc=$?
	echo "bare root: exit $rc: $out"
	[ "$rc" = 1 ] && grep -q 'neither systemd .* nor OpenRC' <<<"$out" &&
	[ -z "$(find "$r" -type f)" ] || return 1
	mkdir -p "$r/etc/modules.d" && touch "$r/etc/openwrt_release"
	rc=0
	out=$("$SETUP" --root "$r" 2>&1) || rc=$?
	echo "OpenWrt root: exit $rc: $out"
	[ "$rc" = 1 ] && grep -q 'OpenWrt.*/etc/modules.d/.*kmod-nf-nathelper-rtsp' <<<"$out" &&
	[ "$(find "$r" -type f)" = "$r/etc/openwrt_release" ]
}
check "rtsp-conntrack-setup --remove --print changes nothing; no systemd/OpenRC, OpenWrt: an answer, no files" setup_answers

# --- rtsp-attach -------------------------------------------------------------------------

ATTACH=$TOP/scripts/rtsp-attach

attach_dry() {
	local out
	out=$("$ATTACH" -n --nft -i br-lan -i eth0.6 --local) || return 1
	echo "$out"
	grep -qF 'define RTSP_IFACES = { "br-lan", "eth0.6" }' <<<"$out" &&
	grep -qF 'define RTSP_PORTS = { 554 }' <<<"$out" &&
	grep -qF "include \"$TOP/scripts/rtsp-helper.nft\"" <<<"$out" &&
	grep -qF 'add rule inet rtsp_conntrack output tcp dport $RTSP_PORTS' <<<"$out" || return 1
	out=$("$ATTACH" -n --iptables -i br-lan -p 554 -p 8554) || return 1
	echo "$out"
	[ "$(grep -c -- '-t raw -A PREROUTING -i br-lan -p tcp --dport [0-9]* -m comment --comment rtsp-conntrack -j CT --helper rtsp' <<<"$out")" = 4 ] &&
	grep -q '^ip6tables ' <<<"$out" || return 1
	# Usage errors: exit 2.
	local bad rc
	for bad in "" "-i" "-i a'b" "-p 0 -i x" "-p 65536 -i x" "--bogus" "--all -i x"; do
		rc=0
		# shellcheck disable=SC2086 # the words of each case
		"$ATTACH" -n $bad >/dev/null 2>&1 || rc=$?
		echo "rtsp-attach -n $bad: exit $rc"
		[ "$rc" = 2 ] || return 1
	done
	# One interface name with a space is refused, not split in two.
	rc=0
	out=$("$ATTACH" -n -i 'br lan' 2>&1) || rc=$?
	echo "rtsp-attach -n -i 'br lan': exit $rc: $out"
	[ "$rc" = 2 ] || return 1
	# A missing ruleset file: an error, and no ruleset with include "".
	rc=0
	out=$("$ATTACH" -n --nft --nft-file "$WORK/missing.nft" -i br-lan 2>&1) || rc=$?
	echo "rtsp-attach -n --nft-file missing: exit $rc: $out"
	[ "$rc" = 1 ] && ! grep -q 'include' <<<"$out" || return 1
}
check "rtsp-attach --dry-run: nft ruleset, iptables/ip6tables rules, usage errors" attach_dry

status_help() {
	local out
	out=$("$TOP/scripts/rtsp-conntrack-status" --help) || return 1
	echo "$out"
	[ "$(head -n 1 <<<"$out")" = "Usage: rtsp-conntrack-status [-h|--help]" ] &&
	grep -q "^The guide: $TOP/docs/install.md\$" <<<"$out"
}
check "rtsp-conntrack-status --help: Usage first, the guide's path" status_help

# For real, in a network namespace of this machine's kernel, which has no
# rtsp helper: the in-tree ftp helper stands in (a copy of the ruleset with
# type "ftp").  The rtsp helper itself: tests/e2e/40-attach-scripts.sh.
attach_netns() {
	sed 's/type "rtsp"/type "ftp"/' scripts/rtsp-helper.nft >"$WORK/ftp.nft"
	unshare -n sh -e -c '
		A="$1 --nft-file $2"
		count() { nft list ruleset | grep -c "ct helper set" || true; }
		$A -i br-lan
		$A -i br-lan
		[ "$(count)" = 1 ]
		$A -i br-lan -i eth1 --local
		nft list ruleset
		[ "$(count)" = 2 ]
		$A --remove
		[ "$(count)" = 0 ]
		$A --remove
		# The WAN side (default route), a missing interface: warned.
		ip link add wan0 type veth peer name wan1
		ip link set lo up
		ip link set wan0 up
		ip addr add 10.214.10.20/16 dev wan0
		ip route add default via 10.214.0.1
		$A -i wan0 2>"$3"
		cat "$3"
		grep -q "wan0 carries the default route" "$3"
		# The IPTV VLAN of a Movistar router: no default route, but the
		# way to 172.26.0.0/16 (the README'"'"'s eth0.2).
		ip link add iptv0 type veth peer name iptv1
		ip link set iptv0 up
		ip addr add 10.215.10.20/16 dev iptv0
		ip route add 172.26.0.0/16 via 10.215.0.1
		$A -i iptv0 2>"$3"
		cat "$3"
		grep -q "iptv0 is the way to Movistar.s IPTV servers" "$3"
		$A -i nosuch0 2>"$3"
		cat "$3"
		grep -q "no interface nosuch0" "$3"
		$A -i lo 2>"$3"
		[ ! -s "$3" ]
		$A --remove
	' sh "$ATTACH" "$WORK/ftp.nft" "$WORK/attach.err"
}
if unshare -n sh -c 'nft add table inet t && nft add ct helper inet t h "{ type \"ftp\" protocol tcp; }"' \
	>/dev/null 2>&1; then
	check "rtsp-attach in a netns (ftp helper stands in): apply twice = 1 rule, --local, --remove, WAN, IPTV and missing interfaces warned" attach_netns
else
	echo "SKIP: rtsp-attach in a netns: this kernel has no ftp helper or no nf_tables in netns (tests/e2e/40-attach-scripts.sh covers it)"
fi

status_host() {
	local rc=0
	"$TOP/scripts/rtsp-conntrack-status" >"$WORK/status.out" 2>"$WORK/status.err" || rc=$?
	cat "$WORK/status.out" "$WORK/status.err"
	echo "exit $rc"
	{ [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && [ ! -s "$WORK/status.err" ] &&
	for s in Modules "Rules attaching" "Connections with helper" Expectations "Kernel log" Diagnosis; do
		grep -q "^== $s" "$WORK/status.out" || return 1
	done
}
check "rtsp-conntrack-status on this machine: every section, no errors" status_host

# --- patches -----------------------------------------------------------------------------

check "patches/ is what scripts/mkpatch generates (up to date)" scripts/mkpatch --check

checkpatch_series() {
	local cp=$KSRC/scripts/checkpatch.pl
	[ -x "$cp" ] || cp=$WORK/linux/scripts/checkpatch.pl
	[ -f "$cp" ] || { echo "no checkpatch.pl"; return 1; }
	# Not checked: Signed-off-by (the submitter adds theirs), MAINTAINERS
	# for new files, and the multi-line comment style 6.1's checkpatch
	# still asks of net/ (netdev has since dropped it; the sources follow
	# the general kernel style, checked by "make style").
	# On stdin: checkpatch takes a path git tracks for a source file, and
	# would check the patch's context lines as added ones.
	local p rc=0
	for p in patches/6.1/0*.patch; do
		echo "$p:"
		perl "$cp" --no-tree --strict --terse --show-types \
			--ignore MISSING_SIGN_OFF,FILE_PATH_CHANGES,NETWORKING_BLOCK_COMMENT_STYLE \
			- <"$p" || rc=1
	done
	return $rc
}

# The 7.3 series with 7.3's checkpatch.pl: only the Signed-off-by (the
# submitter's) and, for the patches without a MAINTAINERS hunk, the
# MAINTAINERS question (their files are under NETFILTER's F: net/netfilter/
# and F: tools/testing/selftests/net/netfilter/) are not checked here;
# scripts/verify-series checks them on the series as git am -s makes it.
checkpatch_series_73() {
	local ksrc p rc=0 ign
	ksrc=$(scripts/linux-source 7.3 scripts/checkpatch.pl scripts/spelling.txt \
		scripts/const_structs.checkpatch) || return 1
	for p in patches/0*.patch; do
		echo "$p:"
		ign=MISSING_SIGN_OFF
		grep -q '^ MAINTAINERS ' "$p" || ign=$ign,FILE_PATH_CHANGES
		perl "$ksrc/scripts/checkpatch.pl" --no-tree --strict --terse \
			--show-types --ignore "$ign" - <"$p" || rc=1
	done
	return $rc
}
check "checkpatch --strict (Linux 7.3's) on the 7.3 series (but Signed-off-by)" checkpatch_series_73
if [ "$INTREE" = 1 ] || [ -d "$KSRC" ]; then
	if [ ! -f "$KSRC/scripts/checkpatch.pl" ]; then
		# checkpatch comes from the extracted tree: wait for it.
		while [ ! -f "$WORK/linux/scripts/checkpatch.pl" ] && [ ! -f "$WORK/intree.rc" ]; do
			sleep 2
		done
	fi
	check "checkpatch --strict on the 6.1 series (but Signed-off-by, MAINTAINERS, netdev comment style)" checkpatch_series
fi

if [ "$INTREE" = 1 ]; then
	wait "$INTREE_PID" || true
	INTREE_PID=
	intree_result() {
		cat "$WORK/intree.log" "$WORK/intree.out" 2>/dev/null
		[ "$(cat "$WORK/intree.rc")" = 0 ] || return 1
		if grep -E 'warning:|error:|WARNING' "$WORK/intree.out"; then
			echo "the in-tree build warns"
			return 1
		fi
	}
	check "patches/6.1 apply to linux-source-6.1; CONFIG_NF_{CONNTRACK,NAT}_RTSP=m; both objects build in-tree, 0 warnings" \
		intree_result
	[ ! -f "$WORK/intree.times" ] || sed 's/^/    /' "$WORK/intree.times"
	note "in-tree total: $(($(date +%s) - INTREE_T0))s (in the background of the checks above)"
fi

# --- the e2e test of the router scripts (optional) ------------------------------------

if [ "$E2E" = 1 ]; then
	check "tests/e2e/run 40-attach-scripts.sh (QEMU)" tests/e2e/run 40-attach-scripts.sh
fi

finish
