#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmarks 3 and 5, control path: RTSP over many short TCP connections
# through the NAT router, with the helper attached ("helper") and with no
# rule attaching it ("none"), alternated in this VM.
#
# BENCH_CTRL_THREADS decoders (source addresses, one client thread each)
# keep BENCH_CTRL_CONC connections each going until BENCH_CTRL_CONNS
# connections are done (at most BENCH_CTRL_SECS) per trial; each
# connection sends one sequence of BENCH_CTRL_SEQS (e.g. SETUP,TEARDOWN),
# waiting for each 200, and closes. The responder (C, epoll) runs one thread per
# vCPU. Per trial: connections/s, requests/s, guest CPU time per connection
# and expectations created per connection (1 per SETUP with the helper).
# BENCH_CTRL_FTP=1 adds a third mode, "ftp": the kernel's FTP helper
# attached to the same traffic (it parses every segment and expects
# nothing), as a yardstick for the cost of any helper. BENCH_ANCHORS (e.g.
# "lin lin-any") adds a mode "anchor-VARIANT" per variant: the rtsp-linux
# modules of bench/anchor.sh, swapped in for ours in this VM (common.sh's
# use_rtsp) and attached by the same rule.

. /src/bench/guest/common.sh

LABEL=${BENCH_CTRL_LABEL:-control}
SEQS=${BENCH_CTRL_SEQS:-"SETUP,TEARDOWN OPTIONS,SETUP,PLAY,TEARDOWN"}
ROUNDS=${BENCH_CTRL_ROUNDS:-5}
CONNS=${BENCH_CTRL_CONNS:-300}
SECS=${BENCH_CTRL_SECS:-120}
CONC=${BENCH_CTRL_CONC:-8}
THREADS=${BENCH_CTRL_THREADS:-1}
TW=${BENCH_CTRL_TW:-5}
MODES="helper none"
W=$E2E_WORK

load_rtsp_modules
bench_limits 1000
topo_movistar || bench_die "topology"
router_nat_nft || bench_die "router nat"
attach_helper_nft rtsp 554 || bench_die "helper rule"
if [ "${BENCH_CTRL_FTP:-0}" = 1 ]; then
	ftp_helper_object || bench_die "ftp helper object"
	HELPER_FTP=1
	MODES="helper none ftp"
fi
bench_env "$LABEL"
anchor_env "$LABEL"
for v in $ANCHORS; do
	MODES+=" anchor-$v"
done

# Short-lived connections: keep the router's table and the client's ports
# from filling up with TIME_WAIT (both modes alike).
nsx "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait="$TW"
nsx "$NS_DEC" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"

srcs=(-b "$DEC4")
for i in $(seq 1 $((THREADS - 1))); do
	addr "$NS_DEC" eth0 "192.168.1.$((10 + i))/24" || bench_die "decoder address"
	srcs+=(-b "192.168.1.$((10 + i))")
done

bg nsx "$NS_VOD" "$BIN/rtspd" -l "$VOD4" -t "$(nproc)" -r "$W/rtspd.ready"
busywait 5000 test -e "$W/rtspd.ready" || bench_die "rtspd did not start"

ns_pid "$NS_RTR" RTR_PID && ns_pid "$NS_DEC" DEC_PID && ns_pid "$NS_VOD" VOD_PID ||
	bench_die "no process in a namespace"
HZ=$(getconf CLK_TCK)

# trial MODE SEQ CONNS: prints the client's line, then guest CPU time per
# connection (busy, and of it system+softirq), the share of time the vCPU
# was idle, expectations created per connection, TCP retransmissions (of
# decoder and server) and packets conntrack dropped on the router.
trial() {
	local mode=$1 seq=$2 n=$3 out c0 c1 s0 s1 t0 t1 e0 e1 d0 d1 r0 r1 conns
	rtsp_mode "$mode" || bench_die "helper rule $mode"
	read -r c0 s0 t0 < <(cpu_jiffies)
	{ read -r e0; read -r d0; } < <(ct_stat "$RTR_PID" expect_create drop)
	r0=$(( $(tcp_retrans "$DEC_PID") + $(tcp_retrans "$VOD_PID") ))
	out=$(nsx "$NS_DEC" "$BIN/rtspcli" load -s "$VOD4" -N "$n" -d "$SECS" -c "$CONC" \
		-T "$THREADS" -q "$seq" "${srcs[@]}")
	read -r c1 s1 t1 < <(cpu_jiffies)
	{ read -r e1; read -r d1; } < <(ct_stat "$RTR_PID" expect_create drop)
	r1=$(( $(tcp_retrans "$DEC_PID") + $(tcp_retrans "$VOD_PID") ))
	conns=$(kv conns "$out")
	[ "${conns:-0}" -gt 0 ] || conns=1
	echo "$out" \
		"busy_us_per_conn=$(( (c1 - c0) * 1000000 / HZ / conns ))" \
		"sys_us_per_conn=$(( (s1 - s0) * 1000000 / HZ / conns ))" \
		"idle_pct=$(frac $(( 100 * ((t1 - t0) - (c1 - c0)) )) $((t1 - t0)))" \
		"expect_per_conn=$(frac $((e1 - e0)) "$conns")" \
		"tcp_retrans=$((r1 - r0))" "ct_drop=$((d1 - d0))" "rtsp_pair=$(rtsp_pair)"
}

for seq in $SEQS; do
	# Warm-up, not counted.
	for mode in $MODES; do
		trial "$mode" "$seq" $((CONNS / 10 + 1)) >/dev/null
	done
	for r in $(seq 1 "$ROUNDS"); do
		for mode in $MODES; do
			out=$(trial $mode "$seq" "$CONNS")
			bench "${LABEL}_trial" seq="$seq" round="$r" mode=$mode \
				threads="$THREADS" conc="$CONC" $out
		done
	done
done
nsx "$NS_RTR" conntrack -C 2>/dev/null | sed 's/^/bench: conntrack entries at the end: /'
bench "${LABEL}_done" ok=1
