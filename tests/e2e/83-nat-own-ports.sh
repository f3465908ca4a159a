#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Behind NAT no SETUP goes out naming a router port its session does not
# hold (bb44d94: rtsp_remap_held(), rtsp_spec_busy(), the refusal of
# rtsp_collect_specs() and the drops in rtsp_walk_specs()). Through the
# NAT router (nft firewall + masquerade, nft helper rule, both modules);
# the kernel's net_ratelimit is turned off for the test (message_cost=0),
# so that each drop's log line shows.
#
# ctl     the control of "replay" (59's retransmit case, short): an nft
#         rule of the ISP drops the first copy of decoder A's SETUP
#         (client_port=27410, from source port 20410, once: ct mark);
#         A's TCP sends it again, the router gives it the first copy's
#         mapping: the VoD manager gets it once with A's own router port
#         27410, and A's stream arrives. No "SETUP sent again" line.
# replay  "replay after teardown". Decoder A (192.168.1.200, source port
#         20400) sends SETUP client_port=27400 (CSeq 71) and, 50 ms later
#         in a segment of its own, TEARDOWN with no Session (CSeq 72):
#         rtsp_teardown() then ends every media of the connection. The
#         router maps the SETUP to router port 27400 (it remembers the
#         mapping for a retransmission, rtsp_remap_add()) and sees the
#         TEARDOWN, which gives the port back. The ISP drops every copy
#         of A's SETUP while the rule is there, and lets the TEARDOWN by
#         (the VoD manager's TCP keeps it out of order, behind the lost
#         SETUP). Decoder B (192.168.1.201) then sets up client_port=27400
#         and gets router port 27400 (what the VoD manager received).
#         Only then the ISP stops dropping; the test waits until A's TCP
#         has sent its SETUP again (a router counter of A's segments that
#         start with "SETUP"; RTO backoff: up to ~13 s). Correct: the
#         router drops the retransmission (its router port is no longer
#         its session's): the VoD manager never gets CSeq 71, the only
#         SETUP it got naming 27400 is B's, and the log says "SETUP sent
#         again, its router ports no longer its session's". B's stream
#         (MPEG server, source port 5000, to router port 27400) reaches B;
#         then, for each SETUP of A the VoD manager did get, the MPEG
#         server streams where it names (from the same source port 5000,
#         as a real one does for every session): none with the fix. B
#         receives exactly its own N, A none.
# held    "unadmitted spec on a held port", max_per_host=1. Decoder A
#         (192.168.1.200) holds router port 27420: its stream flows (a
#         GET_PARAMETER keeps the flow alive). Decoder C (192.168.1.201),
#         on one connection: SETUP client_port=27422 (CSeq 81) is expected
#         (C's one port) and reaches the VoD manager (the control); SETUP
#         client_port=27420 (CSeq 83) is over the limit and names A's
#         router port: it is dropped ("NATed SETUP with a Transport not all
#         rewritten"), the VoD manager never gets it. What the MPEG server
#         would send for it (N from source port 5000 to the port it
#         names): none; A receives exactly its own stream (2N), C nothing
#         on 27420. (Over the limit on a free port it is dropped too: a
#         session could take the port later.)
# past8   max_per_host back to 32. A SETUP of nine specs (eight free
#         single ports, then client_port=27420, A's router port: past the
#         eight ports a SETUP is expected for, so left as it is) is
#         dropped (CSeq 91), and so is one whose ninth is the free port
#         27440 (CSeq 97); control: the eight specs alone pass (CSeq 92).
# malformed  a NATed SETUP whose Transport has a spec the parser rejects
#         ("client_port=27430;client_port=27432", a port parameter twice)
#         is dropped (CSeq 93); control: well-formed (client_port=27444),
#         it passes unchanged (CSeq 94).
# twohdr  a NATed SETUP with two Transport headers (27434, 27436) is
#         dropped (CSeq 95); control: one header (27446) passes (CSeq 96).
# notours  a multicast spec (CSeq 98) and a TCP interleaved one (CSeq 99)
#         that carry client_port=: not expected, but a server may read
#         the port all the same: dropped.
#
# lost    decoder 2's connections that showed bytes that are not RTSP (an
#         OPTIONS with a header line without ':': the router no longer
#         follows the client, rtsp_lost()): the connection goes on (a
#         GET_PARAMETER is answered, and a SET_PARAMETER whose segment
#         ends with "c", the start of the word), but a SETUP naming A's router port
#         27420 never reaches the VoD manager: whole (CSeq 103), cut in
#         two segments inside "client_port" (104), or in the very segment
#         whose bytes are not RTSP (106). Nothing the MPEG server would
#         send for them reaches A. Without rtsp_unfollowed() the three
#         reach the VoD manager and A receives their streams.
# unseen  decoder 2's connection forgotten by the router (conntrack -D):
#         its next segment, a SETUP naming 27420, is picked up without a
#         SYN and never reaches the VoD manager (CSeq 112), while on
#         another one so picked up a GET_PARAMETER passes (114); a SETUP
#         sent with urgent data (MSG_OOB: its last byte, an "X" after it,
#         urgent; a server takes it out of the stream, as it would out of
#         "client_Xport") is dropped (115).
#
# Without bb44d94 (nf_conntrack_rtsp_main.c reverted): "replay" FAILs (the
# VoD manager gets A's SETUP with B's router port 27400, no log line, the
# stream it then sends for A reaches B: 2N at B), "held" FAILs (CSeq 83
# reaches the VoD manager with 27420, no log line, its stream reaches A),
# and so do "past8", "malformed" and "twohdr" (the SETUP reaches the VoD
# manager). ctl and the controls pass either way.

# shellcheck disable=SC2317 # functions called through check
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
# shellcheck source=lib_seek.sh
. "$(dirname "$0")/lib_seek.sh"

require_cmd ip nft conntrack nsenter sysctl "$PY"
load_rtsp_modules
now_ms T0
N=30
MPH=/sys/module/nf_conntrack_rtsp/parameters/max_per_host
REPLAY_MSG="SETUP sent again, its router ports no longer its session's (dropped)"
OWN_MSG="NATed SETUP with a Transport not all rewritten (unreadable or untaken spec, second header) (dropped)"
UNF_MSG="client_port= from a client not followed, behind NAT (dropped)"
TR="MP2T/H2221/UDP;unicast"

rb_setup_nat
# A's flow must outlive the cases after "held" (the UDP timeout of an
# unreplied flow is 30 s): it is what holds A's router port.
nse "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=300 \
	net.netfilter.nf_conntrack_udp_timeout_stream=300
check "raw RTSP server on the VoD manager" rb_server || e2e_exit
COST=$(sysctl -n net.core.message_cost)
check "net_ratelimit off (net.core.message_cost=0)" sysctl -qw net.core.message_cost=0
on_exit "sysctl -qw net.core.message_cost=$COST"

# logged MSG ADDR: lines of rtsp_log_bad()'s MSG for a connection from ADDR
logged() {
	dmesg | grep -cF "nf_conntrack_rtsp: $1 on a connection from $2"
}

# srv_setups CSEQ: the SETUPs with CSeq CSEQ the VoD manager got (raw.log)
srv_setups() {
	grep -F "\"method\": \"SETUP\", \"cseq\": \"$1\"," "$E2E_WORK/raw.log" 2>/dev/null
}
srv_count() {	# srv_count CSEQ: how many
	srv_setups "$1" | grep -c .
}
srv_ports() {	# srv_ports CSEQ: the client_port of each, the first spec's
	srv_setups "$1" | rn_field transport | sed -n 's/^[^,]*client_port=\([0-9]*\).*/\1/p' | xargs
}
srv_transport() {	# srv_transport CSEQ: the Transport of the first
	srv_setups "$1" | head -n1 | rn_field transport
}

# cnt NS TABLE COUNTER: packets of an nft named counter (inet TABLE in NS)
cnt() {
	nse "$1" nft list counter inet "$2" "$3" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n1
}
cnt_ge() {	# cnt_ge NS TABLE COUNTER N: at least N packets
	[ "$(cnt "$1" "$2" "$3")" -ge "$4" ] 2>/dev/null
}

# told_stream LABEL CSEQ: for each SETUP with CSeq CSEQ that the VoD
# manager got, the MPEG server sends N datagrams from its source port 5000
# (the one it uses for every session) to the router port the SETUP names,
# as it would for that session; nothing when it got none.
told_stream() {
	local p
	for p in $(srv_ports "$2"); do
		info "$1: the VoD manager got CSeq $2 naming router port $p: the MPEG server streams there"
		nse "$NS_MPEG" "$PY" "$MEDIA" --to "$RTR_WAN4" --port "$p" --count "$N" \
			--interval 0.005 --src-port 5000 >"$E2E_WORK/told.$2.media"
		nap 1
	done
	return 0
}

# dec_start NAME NS PORT SPORT SETUP ACT...: decoder NAME, a raw client in
# NS counting datagrams on PORT, connects to the VoD manager (from source
# port SPORT; 0: any), sends SETUP (a JSON string), waits up to 30 s for
# its reply and touches NAME.0; then does each ACT of sk_client (play:NPT,
# get, teardown) on sk_act. sk_end or touching NAME.end ends it with an
# abortive close. Sets SK_PID SK_LPORT SK_STEP SK_ACTS (not SK_DST,
# SK_PORT: the caller takes them from the VoD manager's log).
dec_start() {
	local name=$1 ns=$2 port=$3 sport=$4 setup=$5 d=$E2E_WORK/$1 i=0 act cseq=2
	shift 5
	{
		echo '['
		echo "{\"connect\": \"$VOD4\", \"sport\": $sport},"
		echo "{\"send\": [$setup]}, {\"recv\": 1, \"timeout\": 30, \"may_fail\": true},"
		echo "{\"touch\": \"$d.0\"},"
		for act in "$@"; do
			i=$((i + 1))
			echo "{\"wait\": \"$d.go.$i\", \"timeout\": 300},"
			case $act in
			play:*) echo "{\"send\": [$(sk_msg PLAY $cseq "Range: npt=${act#play:}-end")]}, {\"recv\": 1}," ;;
			get) echo "{\"send\": [$(sk_msg GET_PARAMETER $cseq)]}, {\"recv\": 1}," ;;
			teardown) echo "{\"send\": [$(sk_msg TEARDOWN $cseq)]}, {\"recv\": 1}," ;;
			*) echo "dec_start: unknown act $act" >&2; return 1 ;;
			esac
			cseq=$((cseq + 1))
			echo "{\"touch\": \"$d.$i\"},"
		done
		echo "{\"wait\": \"$d.end\", \"timeout\": 300}, {\"close\": 1, \"abort\": true}"
		echo ']'
	} >"$d.json"
	rm -f "$d".[0-9]* "$d".go.* "$d.end" "$d.udp"
	rb_client "$name" "$ns" "$port"
	SK_PID[$name]=$RB_CLI_PID
	SK_LPORT[$name]=$port
	SK_STEP[$name]=0
	SK_ACTS[$name]="$*"
}

# --- ctl: one lost copy, nothing else ---------------------------------------------------
echo "--- ctl: the WAN loses the first copy of A's SETUP (27410), its TCP sends it again"
Y=27410
nse "$NS_ISP" nft -f - <<EOF
table inet e2e_loss_ctl {
	counter drop1 { }
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr $RTR_WAN4 tcp sport 20410 tcp dport 554 @ih,0,40 0x5345545550 ct mark 0 ct mark set 1 counter name "drop1" drop
	}
}
EOF
rlog0=$(logged "$REPLAY_MSG" "$DEC4")
dec_start ctl "$NS_DEC" $Y 20410 "$(rn_setup "$TR;client_port=$Y" 61)" play:0.000 teardown
if rb_gate "$E2E_WORK/ctl.0" "${SK_PID[ctl]}" 60000; then
	check_eq "ctl: the ISP dropped one copy of A's SETUP" 1 "$(cnt "$NS_ISP" e2e_loss_ctl drop1)"
	check_eq "ctl: the VoD manager got A's SETUP once, with A's own router port $Y" \
		"$Y" "$(srv_ports 61)"
	check_eq "ctl: one expectation for $Y, A's" 1 \
		"$(sk_expect_line $Y | grep -c "master-src=$DEC4 ")"
	SK_DST[ctl]=$RTR_WAN4
	SK_PORT[ctl]=$Y
	sk_act ctl
	sk_burst "ctl: A's stream" ctl "$NS_MPEG" "$MPEG4" 5010 $N $N
	check_eq "ctl: no \"$REPLAY_MSG\" in the log" "$rlog0" "$(logged "$REPLAY_MSG" "$DEC4")"
	sk_act ctl
	sk_end ctl
else
	fail "ctl: A's SETUP answered" "$(cat "$E2E_WORK/ctl.out" "$E2E_WORK/ctl.err")"
fi
nse "$NS_ISP" nft delete table inet e2e_loss_ctl
info "t=$(rb_elapsed "$T0") s: ctl done"

# --- replay: lost SETUP, TEARDOWN, B takes the port, the SETUP again --------------------
echo "--- replay: A's SETUP (27400) lost, A's TEARDOWN, B takes router port 27400, A's SETUP again"
X=27400
# The ISP drops every copy of A's SETUP (source port 20400 kept by the
# masquerade) while this table is there; a_rest counts A's other data
# segments it lets by (the TEARDOWN).
nse "$NS_ISP" nft -f - <<EOF
table inet e2e_loss_a {
	counter a_drop { }
	counter a_rest { }
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr $RTR_WAN4 tcp sport 20400 tcp dport 554 @ih,0,40 0x5345545550 counter name "a_drop" drop
		ip saddr $RTR_WAN4 tcp sport 20400 tcp dport 554 tcp flags & (syn | rst | fin) == 0 ip length > 52 counter name "a_rest"
	}
}
EOF
# A's segments that start with "SETUP", as they reach the router (before
# conntrack and the helper): the first copy and each retransmission.
nse "$NS_RTR" nft -f - <<EOF
table inet e2e_a {
	counter a_setup { }
	chain prerouting {
		type filter hook prerouting priority raw - 10; policy accept;
		ip saddr $DEC4 tcp sport 20400 tcp dport 554 @ih,0,40 0x5345545550 counter name "a_setup"
	}
}
EOF
cat >"$E2E_WORK/A.json" <<EOF
[
{"connect": "$VOD4", "sport": 20400},
{"send": [$(rn_setup "$TR;client_port=$X" 71), $(rn_req TEARDOWN 72)], "cuts": ["TEARDOWN "], "gap": 0.05},
{"touch": "$E2E_WORK/A.sent"},
{"wait": "$E2E_WORK/A.end", "timeout": 300},
{"recv": 2, "timeout": 1, "may_fail": true},
{"close": 1, "abort": true}
]
EOF
rlog0=$(logged "$REPLAY_MSG" "$DEC4")
rb_client A "$NS_DEC" $X
SK_PID[A]=$RB_CLI_PID
SK_LPORT[A]=$X
if ! rb_gate "$E2E_WORK/A.sent" "${SK_PID[A]}" 60000; then
	fail "replay: A sent its SETUP and TEARDOWN" "$(cat "$E2E_WORK/A.out" "$E2E_WORK/A.err")"
	e2e_exit
fi
busywait 10000 cnt_ge "$NS_ISP" e2e_loss_a a_rest 1
check "replay: A's TEARDOWN crossed the router and the ISP ($(cnt "$NS_ISP" e2e_loss_a a_rest) segment(s))" \
	test "$(cnt "$NS_ISP" e2e_loss_a a_rest)" -ge 1
check "replay: the ISP dropped A's SETUP ($(cnt "$NS_ISP" e2e_loss_a a_drop) copies so far)" \
	test "$(cnt "$NS_ISP" e2e_loss_a a_drop)" -ge 1
check "replay: after A's TEARDOWN nothing is expected on $X" \
	busywait 5000 eval "! sk_expect_line $X"
check_eq "replay: the VoD manager got no SETUP of A's yet" 0 "$(srv_count 71)"
if sk_client B "$NS_DEC2" $X play:0.000 teardown; then
	check_eq "replay: B's SETUP reached the VoD manager with router port $X (A's TEARDOWN gave it back)" \
		"$X" "${SK_PORT[B]}"
	check_eq "replay: ... expected for B" 1 "$(sk_expect_line $X | grep -c "master-src=$DEC2_4 ")"
fi
# The WAN stops losing A's SETUP; wait for A's TCP to send it again.
nse "$NS_RTR" nft reset counter inet e2e_a a_setup >/dev/null
info "replay: the ISP dropped $(cnt "$NS_ISP" e2e_loss_a a_drop) copies of A's SETUP, let $(cnt "$NS_ISP" e2e_loss_a a_rest) other segment(s) by; it stops dropping"
nse "$NS_ISP" nft delete table inet e2e_loss_a
now_ms U0
busywait 60000 cnt_ge "$NS_RTR" e2e_a a_setup 1
check "replay: A's TCP sent its SETUP again after B's ($(rb_elapsed "$U0") s after the WAN stopped losing it)" \
	test "$(cnt "$NS_RTR" e2e_a a_setup)" -ge 1
nap 1
check_eq "replay: the VoD manager never got A's SETUP (CSeq 71)" 0 "$(srv_count 71)"
check_eq "replay: ... the only SETUP naming client_port=$X it got is B's" 1 \
	"$(grep -F '"method": "SETUP"' "$E2E_WORK/raw.log" | grep -cE "client_port=$X([^0-9]|\")")"
check "replay: the log says \"$REPLAY_MSG\" for $DEC4" \
	test "$(logged "$REPLAY_MSG" "$DEC4")" -gt "$rlog0"
if [ -n "${SK_PORT[B]:-}" ]; then
	sk_act B
	sk_burst "replay: B's stream" B "$NS_MPEG" "$MPEG4" 5000 $N $N
	told_stream replay 71
	check_eq "replay: B received exactly its own $N datagrams" $N "$(sk_got B)"
	check_eq "replay: A received none" 0 "$(sk_got A)"
	sk_act B
	sk_end B
fi
touch "$E2E_WORK/A.end"
wait "${SK_PID[A]}"
info "replay: A's replies: $(rn_statuses "$E2E_WORK/A.out") (0: none)"
nse "$NS_RTR" nft delete table inet e2e_a
info "t=$(rb_elapsed "$T0") s: replay done"

# --- held: max_per_host=1, a spec not taken on a held port ----------------------------
echo "--- held: max_per_host=1; C over its limit asks A's router port 27420"
check "max_per_host=1" eval "echo 1 >$MPH"
on_exit "echo 32 >$MPH"
H=27420
if sk_client hA "$NS_DEC" $H play:0.000 get teardown; then
	check_eq "held: A's router port is its client port $H" $H "${SK_PORT[hA]}"
	sk_act hA
	sk_burst "held: A's stream" hA "$NS_MPEG" "$MPEG4" 5000 $N $N
	# A keep-alive: A's flow lives on (media_timeout), holding the port.
	sk_act hA
	check "held: A's flow from $MPEG4:5000 holds router port $H" sk_flow_from "$MPEG4" 5000
	C=$E2E_WORK/C
	cat >"$C.json" <<-EOF
	[
	{"connect": "$VOD4"},
	{"send": [$(rn_setup "$TR;client_port=27422" 81)]}, {"recv": 1, "timeout": 30}, {"touch": "$C.1"},
	{"wait": "$C.go.3", "timeout": 300},
	{"send": [$(rn_setup "$TR;client_port=$H" 83)]}, {"recv": 1, "timeout": 4, "may_fail": true}, {"touch": "$C.3"},
	{"wait": "$C.end", "timeout": 300},
	{"close": 1, "abort": true}
	]
	EOF
	rb_client C "$NS_DEC2" $H
	CPID=$RB_CLI_PID
	if rb_gate "$C.1" "$CPID" 60000; then
		check_eq "held: C's SETUP of 27422 is expected (its one port within max_per_host=1)" 1 \
			"$(sk_expect_line 27422 | grep -c "master-src=$DEC2_4 ")"
		check_eq "held (control): C's SETUP of 27422 reaches the VoD manager unchanged" \
			27422 "$(srv_ports 81)"
		olog0=$(logged "$OWN_MSG" "$DEC2_4")
		touch "$C.go.3"
		rb_gate "$C.3" "$CPID" 60000
		check_eq "held: C's SETUP of A's router port $H, over the limit, never reaches the VoD manager" \
			0 "$(srv_count 83)"
		check "held: the log says \"$OWN_MSG\" for $DEC2_4" \
			test "$(logged "$OWN_MSG" "$DEC2_4")" -gt "$olog0"
		check_eq "held: no expectation for router port $H (A's flow holds it, C got none)" 0 \
			"$(sk_expect_line $H | grep -c .)"
		told_stream held 83
		sk_burst "held: A's stream goes on" hA "$NS_MPEG" "$MPEG4" 5000 $N $N
		check_eq "held: A received exactly its own $((2 * N)) datagrams" $((2 * N)) "$(sk_got hA)"
		check_eq "held: C received none on $H" 0 "$(rb_udp "$C.udp" $H)"
	else
		fail "held: C's first SETUP answered" "$(cat "$C.out" "$C.err")"
	fi
	touch "$C.end"
	wait "$CPID"
	check_eq "held: C's replies: 81 answered, 83 not" "200 0" "$(rn_statuses "$C.out")"
fi
check "max_per_host back to 32" eval "echo 32 >$MPH"
info "t=$(rb_elapsed "$T0") s: held done"

# --- past8, malformed, twohdr: one connection per SETUP -----------------------------------
echo "--- past8, malformed, twohdr: NATed SETUPs that would name router ports not their own"
specs() {	# specs BASE [NINTH]: eight single-port specs from BASE+1, then NINTH
	local i s=
	for i in 1 2 3 4 5 6 7 8; do
		s+="RTP/AVP;unicast;client_port=$(($1 + i)),"
	done
	s=${s%,}
	printf '%s' "$s${2:+,RTP/AVP;unicast;client_port=$2}"
}
S=$E2E_WORK/shots
{
	echo '['
	for m in \
		"$(sk_msg SETUP 91 "Transport: $(specs 21010 $H)")" \
		"$(sk_msg SETUP 92 "Transport: $(specs 21020)")" \
		"$(sk_msg SETUP 93 "Transport: $TR;client_port=27430;client_port=27432")" \
		"$(sk_msg SETUP 94 "Transport: $TR;client_port=27444")" \
		"$(sk_msg SETUP 95 "Transport: $TR;client_port=27434" "Transport: $TR;client_port=27436")" \
		"$(sk_msg SETUP 96 "Transport: $TR;client_port=27446")" \
		"$(sk_msg SETUP 97 "Transport: $(specs 21030 27440)")" \
		"$(sk_msg SETUP 98 "Transport: RTP/AVP;multicast;client_port=27450")" \
		"$(sk_msg SETUP 99 "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;client_port=27452")"; do
		echo "{\"connect\": \"$VOD4\"}, {\"send\": [$m]},"
		echo "{\"recv\": 1, \"timeout\": 4, \"may_fail\": true}, {\"close\": 1, \"abort\": true},"
	done
	echo "{\"touch\": \"$S.done\"}"
	echo ']'
} >"$S.json"
olog0=$(logged "$OWN_MSG" "$DEC4")
mlog0=$(dmesg | grep -cF "ignoring a malformed transport spec (SETUP) on a connection from $DEC4")
rb_client shots "$NS_DEC" ""
rb_gate "$S.done" "$RB_CLI_PID" 90000
wait "$RB_CLI_PID"
check_eq "past8: nine specs, the ninth on A's router port $H: never reaches the VoD manager" \
	0 "$(srv_count 91)"
check "past8 (control): the eight specs alone reach it" \
	eval "srv_transport 92 | grep -Eq ',RTP/AVP;unicast;client_port=[0-9]+\$'"
check_eq "past8: nine specs, the ninth on the free 27440: never reaches it either" \
	0 "$(srv_count 97)"
check_eq "malformed: a spec with client_port twice never reaches the VoD manager" \
	0 "$(srv_count 93)"
check_eq "malformed (control): well-formed, it reaches it unchanged" 27444 "$(srv_ports 94)"
check_eq "twohdr: a SETUP with two Transport headers never reaches the VoD manager" \
	0 "$(srv_count 95)"
check_eq "twohdr (control): with one, it reaches it unchanged" 27446 "$(srv_ports 96)"
check_eq "notours: a multicast spec with client_port= never reaches the VoD manager" \
	0 "$(srv_count 98)"
check_eq "notours: a TCP spec with client_port= never reaches it either" \
	0 "$(srv_count 99)"
check_eq "the replies: none to the dropped SETUPs, 200 to the controls" "0 200 0 200 0 200 0 0 0" \
	"$(rn_statuses "$S.out")"
check "the log says \"$OWN_MSG\" for $DEC4" \
	test "$(logged "$OWN_MSG" "$DEC4")" -ge $((olog0 + 3))
check "the log says \"ignoring a malformed transport spec\" for $DEC4" \
	test "$(dmesg | grep -cF "ignoring a malformed transport spec (SETUP) on a connection from $DEC4")" -gt "$mlog0"

# --- lost: a client not followed any more names A's router port ------------------------
echo "--- lost: clients no longer followed (bytes that are not RTSP) send client_port=$H"
GARB=$(sk_msg OPTIONS 101 "no colon here")
L=$E2E_WORK/lost
cat >"$L.json" <<-EOF
[
{"connect": "$VOD4"},
{"send": [$GARB]}, {"recv": 1, "timeout": 10},
{"send": [$(rn_req GET_PARAMETER 102)]}, {"recv": 1, "timeout": 10},
{"send": ["SET_PARAMETER rtsp://$VOD4/vod RTSP/1.0\\r\\nCSeq: 107\\r\\nContent-Length: 3\\r\\n\\r\\nabc"]},
{"recv": 1, "timeout": 10},
{"send": [$(rn_setup "$TR;client_port=$H" 103)]}, {"recv": 1, "timeout": 4, "may_fail": true},
{"close": 1, "abort": true},
{"connect": "$VOD4"},
{"send": [$GARB]}, {"recv": 1, "timeout": 10},
{"send": [$(rn_setup "$TR;client_port=$H" 104)], "cuts": ["client_port=$H|+9"], "gap": 0.3},
{"recv": 1, "timeout": 4, "may_fail": true},
{"close": 1, "abort": true},
{"connect": "$VOD4"},
{"send": [$(sk_msg OPTIONS 105 "no colon here"), $(rn_setup "$TR;client_port=$H" 106)]},
{"recv": 2, "timeout": 4, "may_fail": true},
{"close": 1, "abort": true},
{"touch": "$L.done"}
]
EOF
lost0=$(dmesg | grep -cF "(client no longer followed) on a connection from $DEC2_4")
ulog0=$(logged "$UNF_MSG" "$DEC2_4")
got0=$(sk_got hA)
rb_client lost "$NS_DEC2" $H
rb_gate "$L.done" "$RB_CLI_PID" 90000
wait "$RB_CLI_PID"
check "lost: the log says \"client no longer followed\" for $DEC2_4" \
	test "$(dmesg | grep -cF "(client no longer followed) on a connection from $DEC2_4")" -gt "$lost0"
check_eq "lost (control): the connection goes on: its GET_PARAMETER is answered" \
	1 "$(grep -cF '"method": "GET_PARAMETER", "cseq": "102",' "$E2E_WORK/raw.log")"
check_eq "lost: its SETUP of A's router port $H never reaches the VoD manager" 0 "$(srv_count 103)"
check_eq "lost: ... nor in two segments, cut inside \"client_port\"" 0 "$(srv_count 104)"
check_eq "lost: ... nor in the segment whose bytes are not RTSP" 0 "$(srv_count 106)"
check "lost: the log says \"$UNF_MSG\" for $DEC2_4" \
	test "$(logged "$UNF_MSG" "$DEC2_4")" -ge $((ulog0 + 3))
check_eq "lost (control): a segment that ends with \"c\" (the start of the word) passes" \
	1 "$(grep -cF '"method": "SET_PARAMETER", "cseq": "107",' "$E2E_WORK/raw.log")"
check_eq "lost: the replies: 200, 200, 200, none; 200, none; none" "200 200 200 0 200 0 0" \
	"$(rn_statuses "$L.out")"
check "lost: A's flow from $MPEG4:5000 still holds router port $H" sk_flow_from "$MPEG4" 5000
told_stream lost 103
told_stream lost 104
told_stream lost 106
nap 0.5
check_eq "lost: A received nothing more" "$got0" "$(sk_got hA)"

# --- unseen: client bytes before the server's first reply, urgent bytes ------------------
echo "--- unseen: a connection picked up without its SYN, and urgent data, name client_port"
U=$E2E_WORK/unseen
cat >"$U.json" <<-EOF
[
{"connect": "$VOD4", "sport": 20500},
{"send": [$(sk_msg OPTIONS 111)]}, {"recv": 1, "timeout": 10},
{"touch": "$U.1"}, {"wait": "$U.go1", "timeout": 120},
{"send": [$(rn_setup "$TR;client_port=$H" 112)]}, {"recv": 1, "timeout": 4, "may_fail": true},
{"close": 1, "abort": true},
{"connect": "$VOD4", "sport": 20501},
{"send": [$(sk_msg OPTIONS 113)]}, {"recv": 1, "timeout": 10},
{"touch": "$U.2"}, {"wait": "$U.go2", "timeout": 120},
{"send": [$(rn_req GET_PARAMETER 114)]}, {"recv": 1, "timeout": 10},
{"close": 1, "abort": true},
{"connect": "$VOD4"},
{"send": [$(rn_setup "$TR;client_port=27448" 115), "X"], "oob": true},
{"recv": 1, "timeout": 4, "may_fail": true},
{"close": 1, "abort": true},
{"touch": "$U.done"}
]
EOF
ulog0=$(logged "$UNF_MSG" "$DEC2_4")
urg0=$(logged "urgent data from a client behind NAT (dropped)" "$DEC2_4")
rb_client unseen "$NS_DEC2" ""
for i in 1 2; do
	rb_gate "$U.$i" "$RB_CLI_PID" 60000
	# Forget the connection: its next segment is picked up without a SYN.
	nse "$NS_RTR" conntrack -D -p tcp --orig-port-src $((20499 + i)) --orig-port-dst 554 \
		>/dev/null 2>&1
	touch "$U.go$i"
done
rb_gate "$U.done" "$RB_CLI_PID" 90000
wait "$RB_CLI_PID"
check_eq "unseen: a SETUP of A's router port $H picked up without its SYN never reaches the VoD manager" \
	0 "$(srv_count 112)"
check_eq "unseen (control): a GET_PARAMETER picked up so passes" \
	1 "$(grep -cF '"method": "GET_PARAMETER", "cseq": "114",' "$E2E_WORK/raw.log")"
check_eq "unseen: a SETUP sent with urgent data never reaches the VoD manager" 0 "$(srv_count 115)"
check "unseen: the log says \"$UNF_MSG\" for $DEC2_4" \
	test "$(logged "$UNF_MSG" "$DEC2_4")" -gt "$ulog0"
check "unseen: the log says \"urgent data from a client behind NAT (dropped)\" for $DEC2_4" \
	test "$(logged "urgent data from a client behind NAT (dropped)" "$DEC2_4")" -gt "$urg0"
check_eq "unseen: the replies: 200, none; 200, 200; none" "200 0 200 200 0" "$(rn_statuses "$U.out")"
told_stream unseen 112
nap 0.5
check_eq "unseen: A received nothing more" "$got0" "$(sk_got hA)"

[ -n "${SK_PID[hA]:-}" ] && { sk_act hA; sk_end hA; }

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
