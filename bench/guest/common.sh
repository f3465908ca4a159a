# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the benchmark scripts bench/guest/*.sh, which run as root in the
# QEMU guest (tests/e2e/run --exec, driven by bench/run.sh). Builds on the
# e2e library (reference topology, helper attachment, cleanup on exit).
#
# Results are printed as lines "BENCH <section> key=value ...", which
# bench/run.sh picks out of the console output; everything else is
# commentary.

# shellcheck source=../../tests/e2e/lib.sh
. /src/tests/e2e/lib.sh

BIN=${BENCH_BIN:-/src/build/bench/bin}

bench() {	# bench SECTION KEY=VALUE...: one result line
	echo "BENCH $*"
}

note() {	# note TEXT: commentary, kept in the raw log
	echo "bench: $*"
}

bench_die() {
	echo "bench: FATAL: $*"
	echo "BENCH error msg=$(echo "$*" | tr ' ' '_')"
	exit 1
}

# kv KEY LINE: the value of KEY=... in a "k=v k=v" line
kv() {
	local k=$1 w
	shift
	for w in $*; do
		[ "${w%%=*}" = "$k" ] && { echo "${w#*=}"; return 0; }
	done
	echo ""
}

# Global conntrack/neighbour limits: only the initial namespace may set them.
bench_limits() {
	local n=${1:-1000}
	modprobe nf_conntrack
	echo $((n * 4 + 4096)) >/proc/sys/net/netfilter/nf_conntrack_expect_max
	echo 524288 >/proc/sys/net/netfilter/nf_conntrack_max
	echo 65536 >/sys/module/nf_conntrack/parameters/hashsize
	echo $((n * 4 + 1024)) >/proc/sys/net/ipv4/neigh/default/gc_thresh1
	echo $((n * 8 + 2048)) >/proc/sys/net/ipv4/neigh/default/gc_thresh2
	echo $((n * 16 + 4096)) >/proc/sys/net/ipv4/neigh/default/gc_thresh3
	echo 16777216 >/proc/sys/net/core/rmem_max
	echo 16777216 >/proc/sys/net/core/wmem_max
}

# Counters are read without starting a process (each exec costs a lot of
# guest time under TCG): /proc/PID/net/... of a process in the namespace.
_ns_has_pid() { [ -n "$(ip netns pids "$1")" ]; }

# ns_pid NS VAR: set VAR to the pid of a process that stays in NS.
ns_pid() {
	local p
	nsx "$1" sleep 1000000 </dev/null >/dev/null 2>&1 &
	_BG_PIDS+=("$!")
	busywait 5000 _ns_has_pid "$1" || return 1
	p=$(ip netns pids "$1" | head -n1)
	printf -v "$2" '%s' "$p"
}

# cpu_jiffies: "busy sys total" jiffies of the whole VM (/proc/stat)
cpu_jiffies() {
	local cpu user nice sys idle iow irq sirq rest
	read -r cpu user nice sys idle iow irq sirq rest </proc/stat
	echo "$((user + nice + sys + irq + sirq)) $((sys + irq + sirq))" \
		"$((user + nice + sys + idle + iow + irq + sirq))"
}

# tcp_retrans PID: TCP segments retransmitted so far in PID's namespace
tcp_retrans() {
	local k f h=() i
	while read -r k f; do
		[ "$k" = Tcp: ] || continue
		if [ ${#h[@]} -eq 0 ]; then
			h=($f)
			continue
		fi
		f=($f)
		for i in "${!h[@]}"; do
			[ "${h[i]}" = RetransSegs ] && { echo "${f[i]}"; return; }
		done
	done <"/proc/$1/net/snmp"
	echo 0
}

# ct_stat PID FIELD...: /proc/net/stat/nf_conntrack columns of PID's
# namespace, summed over CPUs, one per line
ct_stat() {
	local pid=$1 hdr line i f k s
	shift
	{
		read -r hdr
		local -a h=($hdr) sum=()
		while read -r line; do
			f=($line)
			for i in "${!h[@]}"; do
				sum[i]=$(( ${sum[i]:-0} + 16#${f[i]} ))
			done
		done
		for k in "$@"; do
			s=0
			for i in "${!h[@]}"; do
				[ "${h[i]}" = "$k" ] && s=${sum[i]}
			done
			echo "$s"
		done
	} <"/proc/$pid/net/stat/nf_conntrack"
}

# expect_creates PID: expectations created so far in PID's namespace
expect_creates() {
	ct_stat "$1" expect_create
}

# frac A B: A / B with two decimals
frac() {
	local a=$1 b=$2
	[ "$b" -gt 0 ] || { echo 0; return; }
	printf '%d.%02d' $((a / b)) $(( (a * 100 / b) % 100 ))
}

# helper_rule helper|none|ftp: the nft rule that attaches our helper (table
# of attach_helper_nft), no rule, or the kernel's FTP helper on the same
# port (ftp_helper_object first): a helper that reads every segment and
# finds nothing to expect, to calibrate what any helper costs.
helper_rule() {
	{
		echo "flush chain inet e2e_helper prerouting"
		case $1 in
		helper) echo 'add rule inet e2e_helper prerouting tcp dport 554 ct helper set "rtsp-helper"' ;;
		ftp) echo 'add rule inet e2e_helper prerouting tcp dport 554 ct helper set "ftp-helper"' ;;
		esac
	} | nsx "$NS_RTR" nft -f -
}

ftp_helper_object() {
	nsx "$NS_RTR" nft add ct helper inet e2e_helper ftp-helper \
		'{ type "ftp" protocol tcp; l3proto inet; }'
}

# --- the anchor: rtsp-linux, built by bench/anchor.sh ---------------------
#
# Its modules have our module names (nf_conntrack_rtsp, nf_nat_rtsp) and
# helper name ("rtsp"), so one pair is loaded at a time: use_rtsp swaps them
# within this VM. BENCH_ANCHORS lists the variants a part measures (lin,
# lin-any; ref: ours at an older commit, BENCH_REF; empty: none), from
# BENCH_ANCHOR_DIR/VARIANT/*.ko.
ANCHOR_DIR=${BENCH_ANCHOR_DIR:-/src/build/bench/anchor}
ANCHORS=${BENCH_ANCHORS:-}
# Which pair is loaded, in a file: trials run in subshells ($(trial ...)).
RTSP_LOADED_FILE=$E2E_WORK/rtsp.loaded	# no file: ours (load_rtsp_modules)
HELPER_FTP=0		# 1: use_rtsp re-creates the FTP helper object too

# anchor_env SECTION: one line per anchor variant: the sha1 of the .ko
# files this VM loads, or missing=1 (the part then reports no figures for it)
anchor_env() {
	local v
	for v in $ANCHORS; do
		if [ -f "$ANCHOR_DIR/$v/nf_conntrack_rtsp.ko" ] && [ -f "$ANCHOR_DIR/$v/nf_nat_rtsp.ko" ]; then
			bench "${1}_anchor" variant="$v" \
				rev="$(cat "$ANCHOR_DIR/$v/REV" 2>/dev/null || echo -)" \
				ct_sha1="$(sha1sum "$ANCHOR_DIR/$v/nf_conntrack_rtsp.ko" | cut -c1-12)" \
				nat_sha1="$(sha1sum "$ANCHOR_DIR/$v/nf_nat_rtsp.ko" | cut -c1-12)"
		else
			bench "${1}_anchor" variant="$v" missing=1
			note "no $ANCHOR_DIR/$v/*.ko (bench/anchor.sh): variant $v skipped"
			ANCHORS=$(echo " $ANCHORS " | sed "s/ $v / /; s/^ *//; s/ *$//")
		fi
	done
}

# ko_build_id FILE, loaded_build_id MODULE: the GNU build id of a module
# file, and of the loaded module (the last 20 bytes of its note)
ko_build_id() {
	readelf -n "$1" | sed -n 's/^ *Build ID: *//p'
}
loaded_build_id() {
	od -An -tx1 -v "/sys/module/$1/notes/.note.gnu.build-id" | tr -d ' \n' | tail -c 40
}

# use_rtsp ours|lin|lin-any|ref: make that RTSP helper pair the loaded one. The
# helper table goes first (its ct helper object holds a reference to the
# module), then the modules are swapped (ours with modprobe, the anchor's
# files with insmod), then the table is re-created (attach_helper_nft, and
# the FTP helper object if HELPER_FTP=1); the caller's helper_rule sets the
# rule. Conntracks survive; the old helper's expectations do not.
use_rtsp() {
	local want=$1 m cur=ours
	[ -f "$RTSP_LOADED_FILE" ] && read -r cur <"$RTSP_LOADED_FILE"
	[ "$want" = "$cur" ] && return 0
	nsx "$NS_RTR" nft delete table inet e2e_helper 2>/dev/null
	for m in nf_nat_rtsp nf_conntrack_rtsp; do
		if [ -d "/sys/module/$m" ]; then
			rmmod "$m" || { note "rmmod $m failed"; return 1; }
		fi
	done
	echo none >"$RTSP_LOADED_FILE"
	if [ "$want" = ours ]; then
		modprobe -a nf_nat_rtsp nf_conntrack_rtsp || return 1
	else
		modprobe nf_nat || return 1	# insmod loads no dependencies
		for m in nf_conntrack_rtsp nf_nat_rtsp; do
			insmod "$ANCHOR_DIR/$want/$m.ko" || { note "insmod $want/$m.ko failed"; return 1; }
		done
		# The module loaded is the file's (ours has media_source=, the
		# anchor has not; ref is ours, older: compare build ids).
		if [ "$want" = ref ]; then
			[ "$(loaded_build_id nf_conntrack_rtsp)" = \
			  "$(ko_build_id "$ANCHOR_DIR/ref/nf_conntrack_rtsp.ko")" ] ||
				{ note "nf_conntrack_rtsp loaded is not ref's"; return 1; }
		elif [ -e /sys/module/nf_conntrack_rtsp/parameters/media_source ]; then
			note "nf_conntrack_rtsp loaded is not the anchor's"
			return 1
		fi
	fi
	echo "$want" >"$RTSP_LOADED_FILE"
	attach_helper_nft rtsp 554 || return 1
	if [ "$HELPER_FTP" = 1 ]; then
		ftp_helper_object || return 1
	fi
}

# rtsp_mode helper|none|ftp|anchor-VARIANT: helper_rule, after loading the
# RTSP pair the mode needs (helper: ours; anchor-lin: the anchor's lin
# variant; none and ftp: whichever is loaded)
rtsp_mode() {
	case $1 in
	helper) use_rtsp ours && helper_rule helper ;;
	anchor-*) use_rtsp "${1#anchor-}" && helper_rule helper ;;
	*) helper_rule "$1" ;;
	esac
}

rtsp_pair() {	# rtsp_pair: the RTSP helper pair loaded now (ours, lin, ...)
	local cur=ours
	[ -f "$RTSP_LOADED_FILE" ] && read -r cur <"$RTSP_LOADED_FILE"
	if [ "$cur" = ref ]; then
		:
	elif [ -e /sys/module/nf_conntrack_rtsp/parameters/media_source ]; then
		[ "$cur" = ours ] || cur="ours(not:$cur)"
	elif [ "$cur" = ours ]; then
		cur="unknown"
	fi
	echo "$cur"
}

ko_sum() {	# ko_sum MODULE: short sha1 of the module file the guest loads
	local f
	f=$(modinfo -n "$1" 2>/dev/null) && sha1sum "$f" | cut -c1-12
}

bench_env() {	# bench_env SECTION: what the guest is
	bench "$1" kernel="$(uname -r)" vcpus="$(nproc)" \
		mem_mb="$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" \
		ct_sha1="$(ko_sum nf_conntrack_rtsp)" nat_sha1="$(ko_sum nf_nat_rtsp)"
}

# At exit: what the kernel said about conntrack and the helper (helper
# messages are rate-limited pr_info: "ignoring ...", "client holds ...").
bench_dmesg() {
	dmesg | grep -iE 'rtsp|nf_ct|conntrack|TCP: ' | tail -n 20 | sed 's/^/bench: dmesg: /'
}
on_exit bench_dmesg
