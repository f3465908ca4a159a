#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TEARDOWN ends one RTSP session, not the whole control connection.
#
# On ONE control connection through the NAT router the decoder sets up two
# sessions, two media ports each: SETUP 5000 (the server answers Session:
# AAAA, bound to the media by CSeq), SETUP 5002 with Session: AAAA in the
# request, SETUP 6000 (Session: BBBB), SETUP 6002 with Session: BBBB.
# Media is started on 5000 and 6000 (their expectations become flows);
# 5002 and 6002 stay expected. Then:
#   TEARDOWN Session: AAAA  -> 5002's expectation and 5000's flow are gone,
#                              6002's expectation and 6000's flow stay, the
#                              same 5-tuple sent to 5000 no longer reaches
#                              the decoder while 6000 still does;
#   TEARDOWN Session: BBBB  -> no expectation left, 6000's flow is gone.
# A second connection sets up two sessions (7000, 7002) and sends a
# TEARDOWN without Session: both go.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules
now_ms T0

rb_setup_nat
check "raw RTSP server (sessions AAAA, BBBB) on the VoD manager" \
	rb_server --sessions AAAA,BBBB || e2e_exit
rb_sender "$NS_MPEG"

W=$E2E_WORK
U=rtsp://$VOD4/vod
N=20

setup() {	# setup URI CSEQ PORT [SESSION]
	printf '"SETUP %s RTSP/1.0\\r\\nCSeq: %s\\r\\nTransport: MP2T/H2221/UDP;unicast;client_port=%s\\r\\n%sUser-Agent: MICA-IP-STB\\r\\n\\r\\n"' \
		"$1" "$2" "$3" "${4:+Session: $4\\r\\n}"
}
req() {		# req METHOD CSEQ [SESSION]
	printf '"%s %s RTSP/1.0\\r\\nCSeq: %s\\r\\n%sUser-Agent: MICA-IP-STB\\r\\n\\r\\n"' \
		"$1" "$U" "$2" "${3:+Session: $3\\r\\n}"
}

cat >"$W/dec.json" <<EOF
[
{"connect": "$VOD4"},
{"send": [$(req OPTIONS 1)]}, {"recv": 1},
{"send": [$(setup "$U/a/track1" 2 5000)]}, {"recv": 1},
{"send": [$(setup "$U/a/track2" 3 5002 "{S0}")]}, {"recv": 1},
{"send": [$(setup "$U/b/track1" 4 6000)]}, {"recv": 1},
{"send": [$(setup "$U/b/track2" 5 6002 "{S1}")]}, {"recv": 1},
{"send": [$(req PLAY 6 "{S0}")]}, {"recv": 1},
{"send": [$(req PLAY 7 "{S1}")]}, {"recv": 1},
{"touch": "$W/setup.done"}, {"wait": "$W/go.1"},
{"send": [$(req TEARDOWN 8 "{S0}")]}, {"recv": 1},
{"touch": "$W/td1.done"}, {"wait": "$W/go.2"},
{"send": [$(req TEARDOWN 9 "{S1}")]}, {"recv": 1},
{"touch": "$W/td2.done"}, {"wait": "$W/go.3"},
{"close": 1},
{"connect": "$VOD4"},
{"send": [$(setup "$U/c/track1" 1 7000)]}, {"recv": 1},
{"send": [$(setup "$U/d/track1" 2 7002)]}, {"recv": 1},
{"touch": "$W/setup2.done"}, {"wait": "$W/go.4"},
{"send": [$(req TEARDOWN 3)]}, {"recv": 1},
{"touch": "$W/td3.done"}, {"wait": "$W/go.5"},
{"close": 1}
]
EOF

rb_client dec "$NS_DEC" 5000,5002,6000,6002,7000,7002
DEC=$RB_CLI_PID
UDP=$W/dec.udp

snap() {	# snap: the expectation table into $W/exp.txt
	rb_expect >"$W/exp.txt"
}
exp_ports() {	# exp_ports: expected UDP ports of the last snap, sorted
	sed -n 's/.*proto=17 .* dport=\([0-9]*\) mask.*/\1/p' "$W/exp.txt" | sort -n | xargs
}
stream() {	# stream PORT WANT [MS]: a burst to PORT, wait for WANT in all
	rb_burst "$NS_MPEG" "$RTR_WAN4" "$1" "$N"
	busywait "${3:-5000}" rb_udp_ge "$UDP" "$1" "$2" >/dev/null
	nap 0.3
	rb_udp "$UDP" "$1"
}

if ! rb_gate "$W/setup.done" "$DEC"; then
	fail "two sessions set up on one connection" "$(cat "$W/dec.out" "$W/dec.err")"
	e2e_exit
fi
check_eq "server handed out AAAA then BBBB (Session of the 2nd and 4th SETUP)" \
	"null AAAA null BBBB" \
	"$(grep '"method": "SETUP"' "$W/raw.log" | sed -n 's/.*"session": \([^,]*\),.*/\1/p' | tr -d '"' | xargs)"
snap
check_eq "expectations for 5000 5002 (AAAA) and 6000 6002 (BBBB)" \
	"5000 5002 6000 6002" "$(exp_ports)"
check_eq "media on 5000 (session AAAA) reaches the decoder" "$N" "$(stream 5000 "$N")"
check_eq "media on 6000 (session BBBB) reaches the decoder" "$N" "$(stream 6000 "$N")"
check "flows on 5000 and 6000 in the router's conntrack" \
	eval "rb_flow 5000 && rb_flow 6000"
snap
check_eq "expectations left: 5002 and 6002" "5002 6002" "$(exp_ports)"

touch "$W/go.1"
if rb_gate "$W/td1.done" "$DEC"; then
	snap
	check_eq "TEARDOWN AAAA: only BBBB's expectation 6002 is left" "6002" "$(exp_ports)"
	check "TEARDOWN AAAA: AAAA's media flow (5000) is gone" eval "! rb_flow 5000"
	check "TEARDOWN AAAA: BBBB's media flow (6000) stays" rb_flow 6000
	check_eq "TEARDOWN AAAA: the same flow to 5000 no longer reaches the decoder" \
		"$N" "$(stream 5000 $((2 * N)) 1000)"
	check_eq "TEARDOWN AAAA: media on 6000 still reaches the decoder" \
		$((2 * N)) "$(stream 6000 $((2 * N)))"
else
	fail "TEARDOWN AAAA answered" "$(cat "$W/dec.out" "$W/dec.err")"
fi

touch "$W/go.2"
if rb_gate "$W/td2.done" "$DEC"; then
	snap
	check_eq "TEARDOWN BBBB: no expectation left" "" "$(exp_ports)"
	check "TEARDOWN BBBB: BBBB's media flow (6000) is gone" eval "! rb_flow 6000"
	check_eq "TEARDOWN BBBB: the same flow to 6000 no longer reaches the decoder" \
		$((2 * N)) "$(stream 6000 $((3 * N)) 1000)"
	check_eq "expectation count back to 0" 0 "$(rb_expect_total)"
else
	fail "TEARDOWN BBBB answered" "$(cat "$W/dec.out" "$W/dec.err")"
fi

touch "$W/go.3"
if rb_gate "$W/setup2.done" "$DEC"; then
	snap
	check_eq "second connection: expectations for 7000 and 7002 (two sessions)" \
		"7000 7002" "$(exp_ports)"
	touch "$W/go.4"
	rb_gate "$W/td3.done" "$DEC"
	snap
	check_eq "TEARDOWN without Session: both sessions' expectations gone" "" "$(exp_ports)"
else
	fail "second connection set up" "$(cat "$W/dec.out" "$W/dec.err")"
fi
touch "$W/go.5"

wait "$DEC"
check "decoder script completed, every request answered" \
	eval "grep -q '\"ok\": true' '$W/dec.out' && ! grep -q '\"status\": [^2]' '$W/dec.out'"
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
