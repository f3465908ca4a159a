#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark 2, media path: UDP packets/s and Mbit/s of one MPEG-TS flow
# from the MPEG server to the decoder through the NAT router,
#   helper: admitted by the expectation of a live RTSP session
#           (SETUP client_port=27336 through the helper, masquerade),
#   dnat:   the same traffic to another port, let in by a static port
#           forward (nft dnat + "ct status dnat accept"), no helper,
#   anchor-VARIANT (BENCH_ANCHORS): the same as helper with the rtsp-linux
#           modules of bench/anchor.sh swapped in for ours (common.sh's
#           use_rtsp), a session of its own (client_port 27340, 27342, ...):
#           first checked from the MPEG server, then, if nothing arrived,
#           from the RTSP server's host (the plain variant expects media
#           from the RTSP server only); the rounds use the first sender
#           that got through (none: the variant reports 0 and no rounds),
# alternated BENCH_MEDIA_ROUNDS times in this VM, each mode with its own
# helper pair loaded. The sender blasts for BENCH_MEDIA_SECS; the decoder
# counts what arrives.

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
anchor_env media

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

# trial PORT_ON_WAN DEC_PORT [SENDER_NS [SINK_SECS]]: one timed blast (from
# the MPEG server unless told); prints the sink's line
trial() {
	local wport=$1 dport=$2 from=${3:-$NS_MPEG} tmax=${4:-$((SECS + 10))} sink s
	rm -f "$W/sink.ready"
	nsx "$NS_DEC" "$BIN/udpsink" -p "$dport" -t "$tmax" -i 500 \
		-R "$W/sink.ready" >"$W/sink.out" &
	sink=$!
	busywait 5000 test -e "$W/sink.ready" >/dev/null
	s=$(nsx "$from" "$BIN/udpblast" -d "$RTR_WAN4" -p "$wport" -s 48440 \
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

# The anchor's sessions: one per variant, set up with that variant loaded.
MODES="helper dnat"
declare -A A_WAN A_PORT A_FROM
i=0
for v in $ANCHORS; do
	i=$((i + 1))
	port=$((PORT_B + 2 * i))
	use_rtsp "$v" && helper_rule helper || bench_die "anchor $v: load"
	bg nsx "$NS_DEC" "$BIN/rtspcli" hold -s "$VOD4" -n 1 -b "$DEC4" -u "$port" -x \
		-R "$W/hold-$v.ready" -G "$W/hold-$v.go" >"$W/hold-$v.out"
	busywait 10000 test -e "$W/hold-$v.ready" || bench_die "anchor $v: session setup"
	wport=$(awk -v n=$((i + 1)) 'NR == n { print $2 }' "$W/sessions")
	note "anchor $v: $(head -n1 "$W/hold-$v.out"); client_port=$port, the server saw $wport"
	nsx "$NS_RTR" conntrack -L expect 2>/dev/null | sed "s/^/bench:   expect ($v): /"
	from=
	for sender in mpeg vod; do
		ns=$NS_MPEG
		[ $sender = vod ] && ns=$NS_VOD
		PACKETS=$((PACKETS_RUN / 10 + 1))
		out=$(trial "${wport:-0}" "$port" "$ns" 5)
		PACKETS=$PACKETS_RUN
		got=$(kv packets "$out")
		bench media_reach variant="$v" from=$sender client_port="$port" wan_port="${wport:-none}" \
			received="${got:-0}" sent="$(kv sent_sent "$out")"
		if [ "${got:-0}" -gt 0 ]; then
			from=$sender
			break
		fi
	done
	if [ -n "$from" ]; then
		A_WAN[$v]=$wport A_PORT[$v]=$port A_FROM[$v]=$ns
		MODES+=" anchor-$v"
	fi
done
note "media conntracks with the anchor's flows:"
nsx "$NS_RTR" conntrack -L -p udp 2>/dev/null | sed 's/^/bench:   ct: /'

for r in $(seq 1 "$ROUNDS"); do
	for mode in $MODES; do
		case $mode in
		helper)
			use_rtsp ours && helper_rule helper || bench_die "reload ours"
			out=$(trial "$wan_port" $PORT_A)
			;;
		dnat)
			out=$(trial $PORT_B $PORT_B)
			;;
		anchor-*)
			v=${mode#anchor-}
			use_rtsp "$v" && helper_rule helper || bench_die "anchor $v: load"
			out=$(trial "${A_WAN[$v]}" "${A_PORT[$v]}" "${A_FROM[$v]}")
			out+=" from=$([ "${A_FROM[$v]}" = "$NS_VOD" ] && echo vod || echo mpeg)"
			;;
		esac
		bench media_trial round="$r" mode=$mode size="$SIZE" $out rtsp_pair="$(rtsp_pair)"
	done
done

use_rtsp ours || note "could not reload ours"
for f in "$W"/hold*.ready; do
	touch "${f%.ready}.go"
done
busywait 10000 grep -q teardown "$W/hold.out" >/dev/null
note "$(tail -n1 "$W/hold.out")"
bench media_done ok=1
