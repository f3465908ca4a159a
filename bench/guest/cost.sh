#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Optional (BENCH_PARTS=cost): the helper's own cost on the control path,
# in instructions per connection, counted rather than sampled. The load of
# control.sh (BENCH_COST_CONNS connections of each sequence) runs with the
# function_graph tracer on the entry points by which the kernel calls the
# helper pair (the help and destroy callbacks, its work items and RCU
# callbacks, the expectation callbacks), and nothing else: the functions
# they call are not traced, so their cost is inside the callers' durations
# and no tracing runs within them. With icount, a duration is executed
# instructions (2^BENCH_ICOUNT_SHIFT ns each). Modes (BENCH_COST_MODES,
# [helper and anchor-V for each of BENCH_ANCHORS]) are alternated
# BENCH_COST_ROUNDS times. Lines:
# "COST mode=M seq=S round=R fn=F calls=N ns=T" per traced function, and
# "COST ... total" with the connections and the ring buffer's overruns.
# nf_conntrack_free (the kernel's) is traced too: the pair's state holds a
# reference to its conntrack, so the conntrack may be freed inside one of
# its entry points; such calls are reported as "nested=nf_conntrack_free"
# (their time is also in the caller's), the others as fn=.

. /src/bench/guest/common.sh

CONNS=${BENCH_COST_CONNS:-300}
SEQS=${BENCH_COST_SEQS:-"SETUP,TEARDOWN OPTIONS,SETUP,PLAY,TEARDOWN"}
ROUNDS=${BENCH_COST_ROUNDS:-3}
CONC=${BENCH_CTRL_CONC:-8}
W=$E2E_WORK
T=/sys/kernel/tracing
# Where the kernel enters the pair (ours, and rtsp-linux's help()); a name
# a build lacks is skipped.
ENTRIES="rtsp_help rtsp_destroy rtsp_conn_free_rcu rtsp_release_work_fn
	rtsp_gc_work_fn rtsp_ha_sweep nf_ct_rtsp_media_started
	nf_nat_rtsp_expected help"

[ -e "$T/trace" ] || mount -t tracefs nodev "$T" 2>/dev/null ||
	bench_die "no tracefs"
grep -qw function_graph "$T/available_tracers" || bench_die "no function_graph tracer"

load_rtsp_modules
bench_limits 1000
topo_movistar || bench_die "topology"
router_nat_nft || bench_die "router nat"
attach_helper_nft rtsp 554 || bench_die "helper rule"
bench_env cost
anchor_env cost
MODES=${BENCH_COST_MODES:-helper$(for v in $ANCHORS; do printf ' anchor-%s' "$v"; done)}
nsx "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=5
nsx "$NS_DEC" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"

bg nsx "$NS_VOD" "$BIN/rtspd" -l "$VOD4" -r "$W/rtspd.ready"
busywait 5000 test -e "$W/rtspd.ready" || bench_die "rtspd did not start"

echo 32768 >"$T/buffer_size_kb"
echo 0 >"$T/tracing_on"
echo function_graph >"$T/current_tracer"
# A call's duration without the time its task was scheduled out; the
# task on each line, for the call stacks of report().
echo 0 >"$T/options/sleep-time"
echo 1 >"$T/options/funcgraph-proc"
echo 1 >"$T/options/funcgraph-duration"

# report PREFIX: per traced function, the calls and the time spent in them
# less the traced calls made within them (one stack per task: a softirq
# that runs in a work item's task nests there), from $T/trace. Lines
#   CPU) TASK-PID | DURATION | F();   or   F() {  ...  }
# (a mark, '+', '!', '#' ..., before durations over 10 us). An entry point
# is reported as fn=F wherever it ran; nf_conntrack_free as
# nested=nf_conntrack_free when it ran within one of them.
report() {
	awk -F'|' -v p="$1" '
		function record(fn, ex, nested) {
			if (nested && fn == "nf_conntrack_free") {
				ncalls[fn]++
				nns[fn] += ex
			} else {
				calls[fn]++
				ns[fn] += ex
			}
		}
		NF >= 3 {
			task = $(NF - 2)
			sub(/^ *[0-9]+\) */, "", task)
			gsub(/ /, "", task)
			f = $NF
			d = 0
			if (match($(NF - 1), /[0-9]+\.[0-9]+/))
				d = substr($(NF - 1), RSTART, RLENGTH) * 1000
			if (f ~ /^ *[a-z_0-9.]+( \[[a-z_]+\])?\(\) \{/) {
				sub(/^ */, "", f)
				sub(/[ (].*/, "", f)
				stack[task, ++depth[task]] = f
				kids[task, depth[task]] = 0
			} else if (f ~ /^ *\}/) {
				if (depth[task] > 0) {
					fn = stack[task, depth[task]]
					ex = d - kids[task, depth[task]]
					if (--depth[task] > 0)
						kids[task, depth[task]] += d
					record(fn, ex, depth[task] > 0)
				}
			} else if (f ~ /^ *[a-z_0-9.]+( \[[a-z_]+\])?\(\);/) {
				sub(/^ */, "", f)
				sub(/[ (].*/, "", f)
				if (depth[task] > 0)
					kids[task, depth[task]] += d
				record(f, d, depth[task] > 0)
			}
		}
		END {
			for (f in calls)
				printf "%s fn=%s calls=%d ns=%.0f\n", p, f, calls[f], ns[f]
			for (f in ncalls)
				printf "%s nested=%s calls=%d ns=%.0f\n", p, f, ncalls[f], nns[f]
		}' "$T/trace"
}

# trace_on [plain]: filter on the loaded pair's entry points (the module
# names differ only by file), clear the buffer, start
trace_on() {
	local f
	: >"$T/set_ftrace_filter"
	for f in $ENTRIES; do
		sed -nE "s/^$f \[(nf_conntrack_rtsp|nf_nat_rtsp)\]\$/$f:mod:\1/p" \
			"$T/available_filter_functions" >>"$T/set_ftrace_filter"
	done
	# The conntrack's own free: the state's reference may make it the
	# last (inside an entry point: counted apart, "nested="). Not with
	# "plain": the trial that sees our RCU callback's time without the
	# tracer's cost of a traced call within it.
	[ "${1:-}" = plain ] || echo nf_conntrack_free >>"$T/set_ftrace_filter"
	: >"$T/trace"
	echo 1 >"$T/tracing_on"
}

# The work items and RCU callbacks of a trial run after it: wait for them.
settle() {
	sleep 1
	nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
	sleep 12
}

# The tracer's own cost per traced call: the duration it gives
# __rcu_read_lock(), two instructions, over a few connections.
if grep -q '^__rcu_read_lock$' "$T/available_filter_functions"; then
	echo __rcu_read_lock >"$T/set_ftrace_filter"
	: >"$T/trace"
	echo 1 >"$T/tracing_on"
	nsx "$NS_DEC" "$BIN/rtspcli" load -s "$VOD4" -N 5 -d 60 -c 1 -q SETUP,TEARDOWN -b "$DEC4" >/dev/null
	echo 0 >"$T/tracing_on"
	grep -oE '[0-9]+\.[0-9]+ us +\| +__rcu_read_lock\(\);' "$T/trace" |
		awk '{ print $1 * 1000 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "COST calib fn=__rcu_read_lock calls=%d median_ns=%.0f\n", NR, v[int((NR + 1) / 2)] }'
fi

for seq in $SEQS; do
	for mode in $MODES; do
		rtsp_mode "$mode" || bench_die "helper rule $mode"
		nsx "$NS_DEC" "$BIN/rtspcli" load -s "$VOD4" -N 50 -d 60 -c "$CONC" -q "$seq" -b "$DEC4" >/dev/null
	done
	# The rounds, then ours once more with nf_conntrack_free not traced
	# (round "plain"): the RCU callback's time with the free inside, whose
	# own cost the other modes give (report.py takes it out).
	for r in $(seq 1 "$ROUNDS") plain; do
		for mode in $MODES; do
			[ "$r" = plain ] && [ "$mode" != helper ] && continue
			rtsp_mode "$mode" || bench_die "helper rule $mode"
			settle
			if [ "$r" = plain ]; then trace_on plain; else trace_on; fi
			out=$(nsx "$NS_DEC" "$BIN/rtspcli" load -s "$VOD4" -N "$CONNS" -d 120 \
				-c "$CONC" -q "$seq" -b "$DEC4")
			settle
			echo 0 >"$T/tracing_on"
			over=$(awk '/^overrun:/ { s += $2 } END { print s + 0 }' "$T"/per_cpu/cpu*/stats)
			report "COST mode=$mode seq=$seq round=$r"
			echo "COST mode=$mode seq=$seq round=$r total $out overruns=$over" \
				"pair=$(rtsp_pair) filter=$(tr '\n' ',' <"$T/set_ftrace_filter")"
		done
	done
done
echo nop >"$T/current_tracer"
bench cost_done ok=1
