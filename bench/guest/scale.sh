#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark 4, scale: BENCH_SCALE_N decoders (addresses 192.168.16.2... on
# the decoder namespace, each client socket bound to its own address) each
# hold a live session at once: SETUP + PLAY through the NAT router, an
# expectation each. Then the MPEG server sends BENCH_SCALE_K datagrams to
# every (address, port) the VoD server saw in the SETUPs, and each decoder
# counts its own. Kernel memory: /proc/slabinfo before the sessions, with
# all sessions set up (expectations pending), after the media (flows live)
# and after TEARDOWN, first with no helper rule (the same sessions, no
# stream: the baseline), then with the helper; booted with slab_nomerge so
# that every cache is reported under its own name.
#
# BENCH_SCALE_PORTS=distinct (default): decoder i asks client_port=20000+2i;
# same: every decoder asks 27336. BENCH_SCALE_SAMEPORT_N decoders (0: skip)
# then also try 27336 all at once, with the helper: how many get a port and
# their BENCH_SCALE_K datagrams from the MPEG server; then the same with
# each anchor variant of BENCH_ANCHORS (rtsp-linux, bench/anchor.sh,
# swapped in for ours in this VM by common.sh's use_rtsp).

. /src/bench/guest/common.sh

N=${BENCH_SCALE_N:-1000}
K=${BENCH_SCALE_K:-10}
PPS=${BENCH_SCALE_PPS:-0}
CONC=${BENCH_SCALE_CONC:-32}
PORTS=${BENCH_SCALE_PORTS:-distinct}
SAME_N=${BENCH_SCALE_SAMEPORT_N:-150}
W=$E2E_WORK

load_rtsp_modules
bench_limits "$N"
topo_movistar || bench_die "topology"
router_nat_nft || bench_die "router nat"
attach_helper_nft rtsp 554 || bench_die "helper rule"
bench_env scale
anchor_env scale
grep -qw slab_nomerge /proc/cmdline || note "warning: caches may be merged (no slab_nomerge)"

# N addresses from 192.168.16.2 on the decoders' side; the router's LAN
# bridge gets 192.168.16.1/20 for them.
ipn() {	# ipn I: the I-th decoder address
	local v=$(( (192 << 24) + (168 << 16) + (16 << 8) + 2 + $1 ))
	echo "$((v >> 24 & 255)).$((v >> 16 & 255)).$((v >> 8 & 255)).$((v & 255))"
}
ip -n "$NS_RTR" addr add 192.168.16.1/20 dev "$LAN_IF" || bench_die "router address"
{
	for i in $(seq 0 $((N - 1))); do
		echo "addr add $(ipn "$i")/20 dev eth0"
	done
} >"$W/addrs"
ip -n "$NS_DEC" -batch "$W/addrs" || bench_die "decoder addresses"
FIRST=$(ipn 0)

# slab_snap FILE: "name active_objs objsize" of every cache. Shrinking
# first moves the objects cached per CPU back to the lists slabinfo counts,
# so that active_objs is exact.
slab_snap() {
	local f
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f" 2>/dev/null
	done
	awk 'NR > 2 { print $1, $2, $4 }' /proc/slabinfo >"$1"
}

# slab_diff FROM TO PHASE POINT: per-cache byte deltas, and the total
slab_diff() {
	awk -v phase="$3" -v point="$4" -v n="$N" '
		NR == FNR { a[$1] = $2; next }
		{
			d = ($2 - a[$1]) * $3
			tot += d
			if ($1 ~ /^(nf_conntrack|nf_conntrack_expect|kmalloc-[0-9k]+)$/ ||
			    (d > 0 ? d : -d) >= 16 * n)
				printf "BENCH scale_slab phase=%s point=%s cache=%s objsize=%d objs=%d bytes=%d\n",
					phase, point, $1, $3, $2 - a[$1], d
		}
		END { printf "BENCH scale_slab phase=%s point=%s cache=TOTAL objsize=0 objs=0 bytes=%d\n",
			phase, point, tot }' "$1" "$2"
}

# The VoD server, logging where each SETUP wants its media; stopped by its
# own pid (the one in its ready file), not that of a wrapper.
rtspd_start() {
	rm -f "$W/rtspd.ready" "$W/sessions"
	nsx "$NS_VOD" "$BIN/rtspd" -l "$VOD4" -s "$W/sessions" -r "$W/rtspd.ready" &
	busywait 5000 test -s "$W/rtspd.ready" >/dev/null || bench_die "rtspd did not start"
}

rtspd_stop() {
	local pid
	pid=$(cat "$W/rtspd.ready")
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do nap 0.05; done
}

settle() {	# let RCU frees and the slab counters settle
	nap 0.5
	echo 2 >/proc/sys/vm/drop_caches
	nap 0.5
}

# phase MODE PORTOPT NSESS: one full run of NSESS sessions
phase() {
	local mode=$1 portopt=$2 n=$3 out exp ct pid wait=5
	[ "$mode" = none ] && wait=1	# no stream can come: do not wait for it
	helper_rule "$mode" || bench_die "helper rule"
	# The last packets of the previous run's connections (closed a moment
	# ago) would be picked up as new entries after one flush: flush twice.
	nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
	rm -f "$W"/hold.*
	settle
	nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
	settle
	ct=$(nsx "$NS_RTR" conntrack -C)
	[ "$ct" = 0 ] || note "warning: $ct conntrack entries before the $mode phase"
	slab_snap "$W/s0"
	rtspd_start
	nsx "$NS_DEC" "$BIN/rtspcli" hold -s "$VOD4" -n "$n" -B "$FIRST" $portopt \
		-c "$CONC" -k "$K" -w "$wait" -R "$W/hold.ready" -G "$W/hold.go" \
		-M "$W/hold.mdone" -g "$W/hold.gate" >"$W/hold.out" 2>"$W/hold.err" &
	pid=$!
	busywait 3600000 file_or_dead "$W/hold.ready" "$pid" >/dev/null
	[ -e "$W/hold.ready" ] || bench_die "hold: $(cat "$W/hold.err")"
	exp=$(nsx "$NS_RTR" conntrack -L expect 2>/dev/null | grep -c 'proto=17')
	ct=$(nsx "$NS_RTR" conntrack -C)
	slab_snap "$W/s1"
	bench scale_setup phase="$mode" sessions="$n" ports="${portopt%% *}" \
		$(sed -n 's/^setup: //p' "$W/hold.out") expectations="$exp" conntracks="$ct"

	out=$(nsx "$NS_MPEG" "$BIN/udpblast" -f "$W/sessions" -k "$K" -s 48440 -r "$PPS")
	touch "$W/hold.go"
	busywait 3600000 file_or_dead "$W/hold.mdone" "$pid" >/dev/null
	ct=$(nsx "$NS_RTR" conntrack -C)
	slab_snap "$W/s2"
	bench scale_media phase="$mode" $(sed -n 's/^media: //p' "$W/hold.out") \
		$(echo "$out" | sed 's/\([a-z_]*\)=/sent_\1=/g') conntracks="$ct"

	touch "$W/hold.gate"
	wait "$pid"
	bench scale_teardown phase="$mode" $(sed -n 's/^teardown: //p' "$W/hold.out") \
		expectations_left="$(nsx "$NS_RTR" conntrack -L expect 2>/dev/null | grep -c 'proto=17')"
	rtspd_stop
	settle
	slab_snap "$W/s3"
	slab_diff "$W/s0" "$W/s1" "$mode" setup
	slab_diff "$W/s0" "$W/s2" "$mode" media
	slab_diff "$W/s0" "$W/s3" "$mode" teardown
}

if [ "$PORTS" = same ]; then
	portopt="-u 27336"
else
	portopt="-U 20000"
fi
# Warm-up, not reported: the router learns the N decoders' MAC addresses,
# the caches grow to their working size.
helper_rule none
rtspd_start
touch "$W/warm.go" "$W/warm.gate"
nsx "$NS_DEC" "$BIN/rtspcli" hold -s "$VOD4" -n "$N" -B "$FIRST" $portopt -c "$CONC" \
	-k 0 -x -G "$W/warm.go" -g "$W/warm.gate" | sed 's/^/bench: warm-up: /'
rtspd_stop

phase none "$portopt" "$N"
phase helper "$portopt" "$N"

# sameport MODE: SAME_N decoders all ask for client_port=27336 at once, as
# Movistar boxes do (MODE helper: ours; anchor-VARIANT: the anchor), then
# the MPEG server sends K datagrams to each router port the VoD server saw
# and each decoder counts its own.
sameport() {
	local mode=$1 pid out
	rtsp_mode "$mode" || bench_die "helper rule $mode"
	nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
	rm -f "$W"/hold.*
	rtspd_start
	nsx "$NS_DEC" "$BIN/rtspcli" hold -s "$VOD4" -n "$SAME_N" -B "$FIRST" -u 27336 \
		-c "$CONC" -k "$K" -w 5 -t 3 -R "$W/hold.ready" -G "$W/hold.go" \
		-M "$W/hold.mdone" -g "$W/hold.gate" >"$W/hold.out" 2>"$W/hold.err" &
	pid=$!
	busywait 3600000 file_or_dead "$W/hold.ready" "$pid" >/dev/null
	[ -e "$W/hold.ready" ] || bench_die "sameport $mode: $(cat "$W/hold.err")"
	out=$(nsx "$NS_MPEG" "$BIN/udpblast" -f "$W/sessions" -k "$K" -s 48440 -r "$PPS")
	touch "$W/hold.go"
	busywait 3600000 file_or_dead "$W/hold.mdone" "$pid" >/dev/null
	touch "$W/hold.gate"
	wait "$pid"
	note "$mode: $(cat "$W/hold.err")"
	bench scale_sameport mode="$mode" sessions="$SAME_N" $(sed -n 's/^setup: //p' "$W/hold.out") \
		distinct_wan_ports="$(awk '{ print $2 }' "$W/sessions" | sort -u | wc -l)" rtsp_pair="$(rtsp_pair)"
	bench scale_sameport_media mode="$mode" $(sed -n 's/^media: //p' "$W/hold.out") \
		$(echo "$out" | sed 's/\([a-z_]*\)=/sent_\1=/g')
	[ -n "${BENCH_DEBUG:-}" ] && { sort "$W/sessions" | uniq -c | head -50; nsx "$NS_RTR" conntrack -L expect | head -20; nsx "$NS_RTR" conntrack -L expect | wc -l; }
	rtspd_stop
}

if [ "$SAME_N" -gt 0 ]; then
	sameport helper
	for v in $ANCHORS; do
		sameport "anchor-$v"
	done
	use_rtsp ours || note "could not reload ours"
fi
bench scale_done ok=1
