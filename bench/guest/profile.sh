#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Optional (BENCH_PARTS=profile): where the control path's time goes in
# the kernel, helper attached vs not. The control-path load of control.sh
# (BENCH_PROF_CONNS connections of BENCH_PROF_SEQ) runs under
# "perf record -e cpu-clock -a"; with icount, guest time is instructions,
# so the samples are proportional to instructions executed. Prints, per
# mode, the share of samples per module and the top symbols, as lines
# "PROFILE <mode> ...". BENCH_PROF_MODES [helper none]: the modes of
# control.sh, e.g. "helper anchor-ref" (ours now and at BENCH_REF).

. /src/bench/guest/common.sh

CONNS=${BENCH_PROF_CONNS:-300}
SEQ=${BENCH_PROF_SEQ:-SETUP,TEARDOWN}
CONC=${BENCH_CTRL_CONC:-8}
W=$E2E_WORK
MODES=${BENCH_PROF_MODES:-helper none}

command -v perf >/dev/null || bench_die "no perf in the host's /usr (apt-get install linux-perf)"
load_rtsp_modules
bench_limits 1000
topo_movistar || bench_die "topology"
router_nat_nft || bench_die "router nat"
attach_helper_nft rtsp 554 || bench_die "helper rule"
bench_env profile
anchor_env profile
nsx "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=5
nsx "$NS_DEC" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict

bg nsx "$NS_VOD" "$BIN/rtspd" -l "$VOD4" -r "$W/rtspd.ready"
busywait 5000 test -e "$W/rtspd.ready" || bench_die "rtspd did not start"

for mode in $MODES; do
	rtsp_mode "$mode" || bench_die "helper rule"
	nsx "$NS_DEC" "$BIN/rtspcli" load -s "$VOD4" -N 50 -d 60 -c "$CONC" -q "$SEQ" -b "$DEC4" >/dev/null
	out=$(perf record -q -e cpu-clock -F 4000 -a -o "$W/perf.$mode" -- \
		ip netns exec "$NS_DEC" "$BIN/rtspcli" load -s "$VOD4" -N "$CONNS" -d 120 \
		-c "$CONC" -q "$SEQ" -b "$DEC4" 2>"$W/perf.err")
	bench profile_run mode=$mode seq="$SEQ" $out
	total=$(perf report -i "$W/perf.$mode" --stdio --sort dso -n 2>/dev/null |
		awk '/^ +[0-9.]+%/ { s += $2 } END { print s + 0 }')
	echo "PROFILE $mode samples=$total conns=$(kv conns "$out")"
	perf report -i "$W/perf.$mode" --stdio --sort sym --percent-limit 0 2>/dev/null |
		grep -E '^ +[0-9]' >"$W/syms.$mode"
	head -n 30 "$W/syms.$mode" | sed "s/^ */PROFILE $mode sym /"
	# Our modules' functions (perf finds them through kallsyms, under
	# [kernel.kallsyms]) and the netfilter functions only helpers use.
	grep -E '\] (rtsp_|rtspp_|nf_nat_rtsp|nf_ct_rtsp|nf_ct_expect|nf_ct_unexpect|__nf_ct_expect|nf_ct_find_expectation|nf_nat_mangle|nf_ct_seqadj|nf_ct_seq_|nfct_seqadj|nf_ct_helper|__nf_ct_try_assign_helper|nf_conntrack_helper|nf_confirm|nf_ct_ext_add|skb_linearize|__pskb_pull_tail|jhash)' \
		"$W/syms.$mode" | sed "s/^ */PROFILE $mode ours /"
	idle=$(grep -E '\] (native_safe_halt|default_idle|cpuidle|intel_idle|acpi_idle)' "$W/syms.$mode" |
		awk '{ s += $1 } END { printf "%.2f", s }')
	echo "PROFILE $mode idle_pct=$idle"
done
bench profile_done ok=1
