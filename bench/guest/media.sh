#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark 2, media path: UDP packets/s and Mbit/s of one MPEG-TS flow
# from the MPEG server to the decoder through the NAT router,
#   helper: admitted by the expectation of a live RTSP session
#           (SETUP client_port=27336 through the helper, masquerade),
#   dnat:   the same traffic to another port, let in by a static port
#           forward (nft dnat + "ct status dnat accept"), no helper,
# alternated BENCH_MEDIA_ROUNDS times in this VM. The sender blasts for
# BENCH_MEDIA_SECS; the decoder counts what arrives.

. /src/bench/guest/common.sh

ROUNDS=${BENCH_MEDIA_ROUNDS:-5}
PACKETS=${BENCH_MEDIA_PACKETS:-5000}
SECS=${BENCH_MEDIA_SECS:-30}
SIZE=${BENCH_MEDIA_SIZE:-1316}
PORT_A=27336
PORT_B=27338
W=$E2E_WORK

load_rtsp_modules
bench_limits 64
topo_movistar || bench_die "topology"
router_nat_nft || bench_die "router nat"
attach_helper_nft rtsp 554 || bench_die "helper rule"

# The static port forward, as a router admin would write it.
nsx "$NS_RTR" nft -f - <<NFT || bench_die "dnat rule"
table ip bench_dnat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$WAN_IF" udp dport $PORT_B dnat to $DEC4:$PORT_B
	}
}
NFT
nsx "$NS_RTR" nft insert rule inet e2e_fw forward ct status dnat accept ||
	bench_die "forward rule"
bench_env media

# A live session: SETUP + PLAY through the helper, kept open to the end.
bg nsx "$NS_VOD" "$BIN/rtspd" -l "$VOD4" -s "$W/sessions" -r "$W/rtspd.ready"
busywait 5000 test -e "$W/rtspd.ready" || bench_die "rtspd did not start"
bg nsx "$NS_DEC" "$BIN/rtspcli" hold -s "$VOD4" -n 1 -b "$DEC4" -u $PORT_A -x \
	-R "$W/hold.ready" -G "$W/hold.go" >"$W/hold.out"
busywait 10000 test -e "$W/hold.ready" || bench_die "session setup"
wan_port=$(awk 'NR == 1 { print $2 }' "$W/sessions")
note "$(head -n1 "$W/hold.out"); media expected on $RTR_WAN4:$wan_port"
nsx "$NS_RTR" conntrack -L expect 2>/dev/null | sed 's/^/bench:   expect: /'
[ -n "$wan_port" ] || bench_die "no SETUP seen by the server"

# trial PORT_ON_WAN DEC_PORT: one timed blast; prints the sink's line
trial() {
	local wport=$1 dport=$2 sink s
	rm -f "$W/sink.ready"
	nsx "$NS_DEC" "$BIN/udpsink" -p "$dport" -t $((SECS + 10)) -i 500 \
		-R "$W/sink.ready" >"$W/sink.out" &
	sink=$!
	busywait 5000 test -e "$W/sink.ready" >/dev/null
	s=$(nsx "$NS_MPEG" "$BIN/udpblast" -d "$RTR_WAN4" -p "$wport" -s 48440 \
		-l "$SIZE" -t "$SECS" -n "$PACKETS")
	wait "$sink"
	echo "$(cat "$W/sink.out") $(echo "$s" | sed 's/\([a-z_]*\)=/sent_\1=/g')"
}

# Warm-up of both paths (creates the two media conntracks), not counted.
PACKETS_RUN=$PACKETS
PACKETS=$((PACKETS / 10 + 1))
trial "$wan_port" $PORT_A >/dev/null
trial $PORT_B $PORT_B >/dev/null
PACKETS=$PACKETS_RUN
note "media conntracks after warm-up:"
nsx "$NS_RTR" conntrack -L -p udp 2>/dev/null | sed 's/^/bench:   ct: /'
if nsx "$NS_RTR" conntrack -L -p udp --orig-port-dst "$wan_port" 2>/dev/null |
	grep -q 'helper='; then
	bench media_check expected_flow_has_helper=yes
else
	bench media_check expected_flow_has_helper=no
fi

for r in $(seq 1 "$ROUNDS"); do
	for mode in helper dnat; do
		if [ $mode = helper ]; then
			out=$(trial "$wan_port" $PORT_A)
		else
			out=$(trial $PORT_B $PORT_B)
		fi
		bench media_trial round="$r" mode=$mode size="$SIZE" $out
	done
done

touch "$W/hold.go"
busywait 10000 grep -q teardown "$W/hold.out" >/dev/null
note "$(tail -n1 "$W/hold.out")"
bench media_done ok=1
