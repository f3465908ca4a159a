#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Segmented, pipelined and body-carrying RTSP control streams through the
# NAT router (masquerade, nft helper rule).
#
# A raw client (TCP_NODELAY, 0.2 s between send() calls) cuts a Movistar
# SETUP into separate TCP segments: inside the method ("SET|UP"), inside
# the Transport header name ("Tran|sport"), inside the client_port value
# ("client_port=27|344"), before the final CRLF CRLF with the CR alone in
# a segment, between the two CRLFs, and into 16-byte pieces. For each, the
# router counts the decoder's data segments (so the cuts really were
# separate segments), the expectation for that port must exist, and a
# burst sent to the router's WAN address on it must reach the decoder.
#
# Pipelined: OPTIONS + SETUP(9999) + SETUP(27350) + PLAY in one send()
# while decoder 2 holds router port 9999: the first SETUP is rewritten to
# 10000 (one byte longer), so the second SETUP sits at a shifted offset;
# both expectations must exist, the server must get all four requests, the
# reply must show 9999 again, and media to 10000 must reach the decoder's
# 9999 (media to 9999 goes to decoder 2).
#
# Bodies: a SET_PARAMETER and an ANNOUNCE whose Content-Length bodies hold
# a complete fake "SETUP ... client_port=4000x" that starts a segment. The
# body must be skipped (no expectation for 4000x) and the real SETUP after
# it, in the same or a later segment, must get its expectation.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules
now_ms T0

rb_setup_nat
info "t=$(rb_elapsed "$T0") s: topology"
check "raw RTSP server on the VoD manager" rb_server || e2e_exit
rb_sender "$NS_MPEG"
info "t=$(rb_elapsed "$T0") s: server"

W=$E2E_WORK
URI=rtsp://$VOD4/vod
N=20

setup() {	# setup CSEQ PORT [URI]: a Movistar SETUP as a JSON string
	printf '"SETUP %s RTSP/1.0\\r\\nCSeq: %s\\r\\nTransport: MP2T/H2221/UDP;unicast;client_port=%s\\r\\nUser-Agent: MICA-IP-STB\\r\\nx-mayNotify:\\r\\n\\r\\n"' \
		"${3:-$URI}" "$1" "$2"
}

FAKE1='SETUP rtsp://x/trap RTSP/1.0\r\nCSeq: 99\r\nTransport: RTP/AVP;unicast;client_port=40000\r\n\r\n'
FAKE2='SETUP rtsp://x/trap RTSP/1.0\r\nCSeq: 98\r\nTransport: RTP/AVP;unicast;client_port=40002\r\n\r\n'

# name port pieces cuts(JSON)
CASES=(
	"method 27340 2 [\"UP rtsp\"]"
	"header-name 27342 2 [\"sport:\"]"
	"port-value 27344 2 [\"client_port=|+14\"]"
	"final-CR 27346 3 [\"\\r\\n\\r\\n\", \"\\n\\r\\n\"]"
	"between-CRLFs 27348 2 [\"\\r\\n\\r\\n|+2\"]"
)

# --- the decoder's script -----------------------------------------------------
{
	echo '['
	i=0
	for c in "${CASES[@]}"; do
		read -r name port pieces cuts <<<"$c"
		cat <<-EOF
		{"connect": "$VOD4"},
		{"send": [$(setup 1 "$port")], "cuts": $cuts, "gap": 0.2},
		{"recv": 1}, {"touch": "$W/gate.$i"}, {"wait": "$W/go.$i"}, {"close": 1},
		EOF
		i=$((i + 1))
	done
	cat <<-EOF
	{"connect": "$VOD4"},
	{"send": [$(setup 1 27360)], "chunk": 16, "gap": 0.1},
	{"recv": 1}, {"touch": "$W/gate.tiny"}, {"wait": "$W/go.tiny"}, {"close": 1},

	{"wait": "$W/dec2.ready"}, {"connect": "$VOD4"},
	{"send": ["OPTIONS $URI RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: MICA-IP-STB\r\n\r\n",
		  $(setup 2 9999 "$URI/track1"), $(setup 3 27350 "$URI/track2"),
		  "PLAY $URI RTSP/1.0\r\nCSeq: 4\r\nSession: pipe1\r\nRange: npt=0.000-end\r\n\r\n"]},
	{"recv": 4}, {"touch": "$W/gate.pipe"}, {"wait": "$W/go.pipe"}, {"close": 1},

	{"connect": "$VOD4"},
	{"send": [{"m": "SET_PARAMETER", "uri": "$URI",
		   "h": ["CSeq: 1", "Content-Type: text/parameters"],
		   "body": "position: 0\r\n$FAKE1"},
		  $(setup 2 27352)],
	 "cuts": ["SETUP rtsp://x/trap"], "gap": 0.2},
	{"recv": 2}, {"touch": "$W/gate.body1"}, {"wait": "$W/go.body1"}, {"close": 1},

	{"connect": "$VOD4"},
	{"send": [{"m": "ANNOUNCE", "uri": "$URI",
		   "h": ["CSeq: 1", "Content-Type: application/sdp"],
		   "body": "v=0\r\nBODYA\r\n${FAKE2}BODYB s=tail\r\n"},
		  $(setup 2 27354)],
	 "cuts": ["Content-Type", "SETUP rtsp://x/trap", "BODYB", "Transport: MP2T"],
	 "gap": 0.2},
	{"recv": 2}, {"touch": "$W/gate.body2"}, {"wait": "$W/go.body2"}, {"close": 1}
	]
	EOF
} >"$W/dec.json"

# Decoder 2 holds router port 9999 (one SETUP, connection kept open).
bg nse "$NS_DEC2" "$PY" "$RAW" flood --server "$VOD4" --conns 1 --setups 1 \
	--port-base 9999 --settle 0.5 --ready "$W/dec2.ready" --hold-file "$W/dec2.stop" \
	>"$W/dec2.out"
DEC2_PID=$BG_PID

LISTEN=27340,27342,27344,27346,27348,27360,9999,27350,27352,27354,40000,40002
rb_client dec "$NS_DEC" "$LISTEN"
DEC_PID=$RB_CLI_PID
UDP=$W/dec.udp

# media_check NAME PORT: burst N datagrams to the router's port; all must
# reach the decoder's PORT.
media_check() {
	rb_burst "$NS_MPEG" "$RTR_WAN4" "$2" "$N"
	busywait 5000 rb_udp_ge "$UDP" "$2" "$N" >/dev/null
	check_eq "$1: decoder received the $N datagrams sent to $RTR_WAN4:$2" \
		"$N" "$(rb_udp "$UDP" "$2")"
}

# seg_check NAME WANT: the decoder's data segments since the last look.
seg_check() {
	local got
	got=$(rb_segments)
	if [ "${got:-0}" -ge "$2" ]; then
		pass "$1: the router saw $got separate data segments (want >= $2)"
	else
		fail "$1: the router saw $got separate data segments (want >= $2)" \
			"cuts coalesced: this case did not test reassembly"
	fi
}

rb_segments >/dev/null
i=0
for c in "${CASES[@]}"; do
	read -r name port pieces cuts <<<"$c"
	if ! rb_gate "$W/gate.$i" "$DEC_PID"; then
		fail "$name: SETUP answered" "$(cat "$W/dec.out" "$W/dec.err")"
		break
	fi
	info "t=$(rb_elapsed "$T0") s: $name"
	seg_check "$name" "$pieces"
	rb_snap
	check "$name: expectation for udp dport $port" rb_snap_port "$port"
	check "$name: VoD manager got client_port=$port" \
		grep -q "client_port=$port\"" "$W/raw.log"
	media_check "$name" "$port"
	touch "$W/go.$i"
	i=$((i + 1))
done

if rb_gate "$W/gate.tiny" "$DEC_PID"; then
	seg_check "16-byte pieces" 8
	rb_snap
	check "16-byte pieces: expectation for udp dport 27360" rb_snap_port 27360
	media_check "16-byte pieces" 27360
	touch "$W/go.tiny"
else
	fail "16-byte pieces: SETUP answered" "$(cat "$W/dec.out" "$W/dec.err")"
fi

info "t=$(rb_elapsed "$T0") s: segmented cases done"
# --- pipelined ------------------------------------------------------------------
rb_gate "$W/dec2.ready" "$DEC2_PID" >/dev/null
if rb_gate "$W/gate.pipe" "$DEC_PID"; then
	rb_snap
	check "decoder 2 holds router port 9999" \
		rb_snap_has "dport=9999 [^
]*master-src=$DEC2_4 "
	check_eq "pipelined: the four requests crossed the router in one data segment" \
		1 "$(rb_segments)"
	conn=$(grep '"method": "OPTIONS"' "$W/raw.log" | tail -n1 |
		sed -n 's/.*"conn": \([0-9]*\).*/\1/p')
	check_eq "pipelined: VoD manager got OPTIONS, SETUP, SETUP, PLAY on one connection" \
		"OPTIONS SETUP SETUP PLAY" \
		"$(grep "\"conn\": $conn," "$W/raw.log" | sed -n 's/.*"method": "\([A-Z_]*\)".*/\1/p' | xargs)"
	check "pipelined: first SETUP rewritten to router port 10000" \
		grep -q 'client_port=10000"' "$W/raw.log"
	check "pipelined: second SETUP (shifted by the rewrite) kept client_port=27350" \
		grep -q 'client_port=27350"' "$W/raw.log"
	check "pipelined: expectation for router port 10000 (decoder's 9999)" \
		rb_snap_has "dport=10000 [^
]*master-src=$DEC4 "
	check "pipelined: expectation for udp dport 27350" rb_snap_port 27350
	media_check "pipelined: port 27350" 27350
	rb_burst "$NS_MPEG" "$RTR_WAN4" 10000 "$N"
	busywait 5000 rb_udp_ge "$UDP" 9999 "$N" >/dev/null
	check_eq "pipelined: decoder's 9999 got the $N datagrams sent to router port 10000" \
		"$N" "$(rb_udp "$UDP" 9999)"
	rb_burst "$NS_MPEG" "$RTR_WAN4" 9999 "$N"
	nap 0.5
	check_eq "pipelined: media to router port 9999 went to decoder 2, not to the decoder" \
		"$N" "$(rb_udp "$UDP" 9999)"
	touch "$W/go.pipe"
else
	fail "pipelined: replies" "$(cat "$W/dec.out" "$W/dec.err")"
fi

info "t=$(rb_elapsed "$T0") s: pipelined done"
# --- bodies ---------------------------------------------------------------------
for b in "body1 SET_PARAMETER 27352 40000 2" "body2 ANNOUNCE 27354 40002 5"; do
	read -r name method port trap pieces <<<"$b"
	if ! rb_gate "$W/gate.$name" "$DEC_PID"; then
		fail "$method: replies" "$(cat "$W/dec.out" "$W/dec.err")"
		continue
	fi
	seg_check "$method body" "$pieces"
	check "$method body: VoD manager got the $method with its whole body" \
		eval "grep '\"method\": \"$method\"' '$W/raw.log' | grep -Eq '\"body\": [1-9]'"
	rb_snap
	check "$method body: fake SETUP inside the body ignored (no expectation for $trap)" \
		eval "! rb_snap_port $trap"
	check "$method body: SETUP after the body: expectation for udp dport $port" \
		rb_snap_port "$port"
	media_check "$method body" "$port"
	touch "$W/go.$name"
done

wait "$DEC_PID"
check "decoder script completed" grep -q '"ok": true' "$W/dec.out" ||
	cat "$W/dec.out" "$W/dec.err"
check "pipelined: SETUP reply restored client_port=9999 for the decoder" \
	grep -q 'client_port=9999"' "$W/dec.out"
check_eq "no datagram reached the trap ports 40000/40002" "0 0" \
	"$(rb_udp "$UDP" 40000) $(rb_udp "$UDP" 40002)"
touch "$W/dec2.stop"
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
