#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the "anchor" the benchmarks measure beside ours: rtsp-linux
# (maru-sama/rtsp-linux at 5aeee02, GPL-2.0), the RTSP helper pair most
# Linux routers ran before this project. Its sources are NOT part of this
# repository: they are read from ../shared/anchors/rtsp-linux (relative to
# the repository root; BENCH_ANCHOR_SRC overrides), copied under
# build/bench/anchor/ and built there, in two variants, as its users run it
# (see ../shared/anchors/README.md):
#
#   lin      + skb_linearize(skb) at the top of nf_nat_rtsp() (NF_DROP if
#            it fails): without it its NAT half reads the Transport header
#            from the skb's linear area only and rewrites nothing on paged
#            skbs (any Linux TCP sender)
#   lin-any  lin, and NULL instead of &ct->tuplehash[!dir].tuple.src.u3 as
#            the source of both nf_ct_expect_init() calls: media from any
#            host, not only the RTSP server (the Movistar patch)
#
#   ref      not rtsp-linux: OUR modules as they were at git revision
#            $BENCH_REF (git archive of that commit, built with our Kbuild),
#            so that a change's cost is measured side by side with the code
#            before it, in the same VM boots
#
#   bench/anchor.sh [VARIANT...]     default: lin lin-any
#
# Output: build/bench/anchor/VARIANT/{nf_conntrack_rtsp,nf_nat_rtsp}.ko and
# build/bench/anchor/VARIANT/build.log (the compiler's warnings). Rebuilt
# only when the sources, this script or the headers change. Environment:
#   BENCH_ANCHOR_SRC   [REPO/../shared/anchors/rtsp-linux]
#   BENCH_REF          git revision of the ref variant (required for it)
#   BENCH_ANCHOR_KDIR  [/usr/src/linux-headers-<newest 6.1.0-N-amd64>]: the
#                      guest kernel's headers (tests/e2e/run boots the newest
#                      Debian 6.1 kernel and uses the same headers)
# Prints "VARIANT DIR sha1(ct) sha1(nat) warnings=N" per variant.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
SRC=${BENCH_ANCHOR_SRC:-$REPO/../shared/anchors/rtsp-linux}
OUT=$REPO/build/bench/anchor

die() { echo "bench/anchor.sh: error: $*" >&2; exit 2; }

need_src() {
	[ -f "$SRC/nf_conntrack_rtsp.c" ] && [ -f "$SRC/nf_nat_rtsp.c" ] && return 0
	die "no anchor sources in $SRC (expected ../shared/anchors/rtsp-linux next to the repository, read-only; BENCH_ANCHOR_SRC overrides)"
}

KDIR=${BENCH_ANCHOR_KDIR:-}
if [ -z "$KDIR" ]; then
	KDIR=$(find /usr/src -maxdepth 1 -name 'linux-headers-6.1.0-*-amd64' | sort -V | tail -n1)
	[ -n "$KDIR" ] || die "no /usr/src/linux-headers-6.1.0-*-amd64 (apt-get install linux-headers-amd64, or set BENCH_ANCHOR_KDIR)"
fi
[ -f "$KDIR/Makefile" ] || die "no kernel headers in $KDIR"

# patch_variant DIR VARIANT: the variant's edits, checked to apply exactly.
patch_variant() {
	local d=$1 v=$2 n
	# (a) linearize: first statement after the declarations of nf_nat_rtsp().
	sed -i '/^nf_nat_rtsp(struct sk_buff \*skb/,/^}/ {
		/^\tint rc = NF_ACCEPT;$/a\
\
\t/* bench/anchor.sh: its NAT half reads the linear area only */\
\tif (skb_linearize(skb))\
\t\treturn NF_DROP;
	}' "$d/nf_nat_rtsp.c"
	n=$(grep -c '^	if (skb_linearize(skb))$' "$d/nf_nat_rtsp.c" || true)
	[ "$n" = 1 ] || die "$v: the skb_linearize edit applied $n times, not once (did nf_nat_rtsp.c change?)"
	[ "$v" = lin ] && return 0
	# (b) any source: both nf_ct_expect_init() calls expect media from anyone.
	n=$(grep -c '^[[:space:]]*&ct->tuplehash\[!dir\]\.tuple\.src\.u3,$' "$d/nf_conntrack_rtsp.c" || true)
	[ "$n" = 2 ] || die "$v: expected 2 expectation sources to replace, found $n"
	sed -i 's/^\([[:space:]]*\)&ct->tuplehash\[!dir\]\.tuple\.src\.u3,$/\1NULL, \/* bench\/anchor.sh: any source *\//' \
		"$d/nf_conntrack_rtsp.c"
	n=$(grep -c 'NULL, /\* bench/anchor.sh: any source' "$d/nf_conntrack_rtsp.c" || true)
	[ "$n" = 2 ] || die "$v: the any-source edit applied $n times, not twice"
}

# fresh DIR KEY: true if DIR holds both modules, built for KEY
fresh() {
	[ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ] &&
		[ -f "$1/nf_conntrack_rtsp.ko" ] && [ -f "$1/nf_nat_rtsp.ko" ]
}

# kbuild DIR VARIANT KEY MAKE-ARGS...: build DIR's modules, check both exist,
# stamp DIR with KEY
kbuild() {
	local d=$1 v=$2 key=$3 m
	shift 3
	if ! make "$@" >"$d/build.log" 2>&1; then
		tail -n 30 "$d/build.log" >&2
		die "$v: build failed (log: $d/build.log)"
	fi
	for m in nf_conntrack_rtsp nf_nat_rtsp; do
		[ -f "$d/$m.ko" ] || die "$v: no $m.ko after the build (log: $d/build.log)"
	done
	echo "$key" >"$d/.stamp"
}

# build_ref DIR: our modules at $BENCH_REF, with our own Kbuild.
build_ref() {
	local d=$1 rev key
	[ -n "${BENCH_REF:-}" ] || die "ref: set BENCH_REF to a git revision"
	rev=$(git -C "$REPO" rev-parse --verify --short "${BENCH_REF}^{commit}") ||
		die "ref: $BENCH_REF is not a commit of $REPO"
	key=$(echo "ref $rev $KDIR $(cat "$KDIR/include/config/kernel.release" 2>/dev/null)" |
		cat - "${BASH_SOURCE[0]}" | sha1sum | cut -c1-16)
	fresh "$d" "$key" && return 0
	rm -rf "$d"
	mkdir -p "$d"
	git -C "$REPO" archive "$rev" | tar -x -C "$d"
	echo "$rev" >"$d/REV"
	echo "bench/anchor.sh: building ours at $rev against $KDIR" >&2
	kbuild "$d" ref "$key" -C "$KDIR" M="$d" CONFIG_NF_CONNTRACK_RTSP=m \
		CONFIG_NF_NAT_RTSP=m modules
}

# build_linux DIR VARIANT: rtsp-linux with the variant's edits.
build_linux() {
	local d=$1 v=$2 key
	need_src
	SRC=$(cd "$SRC" && pwd)
	key=$( { (cd "$SRC" && sha1sum -- *); sha1sum <"${BASH_SOURCE[0]}"; echo "$v $KDIR";
		 cat "$KDIR/include/config/kernel.release" 2>/dev/null; } | sha1sum | cut -c1-16)
	fresh "$d" "$key" && return 0
	rm -rf "$d"
	mkdir -p "$d"
	cp -p "$SRC"/*.c "$SRC"/*.h "$SRC"/Makefile "$d/"
	chmod -R u+w "$d"
	patch_variant "$d" "$v"
	echo "bench/anchor.sh: building rtsp-linux ($v) against $KDIR" >&2
	kbuild "$d" "$v" "$key" -C "$d" KERNELDIR="$KDIR"
}

build_variant() {
	local v=$1 d=$OUT/$1 w
	case $v in
	lin|lin-any) build_linux "$d" "$v" ;;
	ref) build_ref "$d" ;;
	*) die "unknown variant $v (lin, lin-any, ref)" ;;
	esac
	w=$(grep -c 'warning:' "$d/build.log" || true)
	echo "$v $d $(sha1sum "$d/nf_conntrack_rtsp.ko" | cut -c1-12)" \
		"$(sha1sum "$d/nf_nat_rtsp.ko" | cut -c1-12) warnings=$w"
}

[ $# -gt 0 ] || set -- lin lin-any
for v in "$@"; do
	build_variant "$v"
done
