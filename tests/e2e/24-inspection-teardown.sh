#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What conntrack shows during a session and what TEARDOWN cleans up
# (NAT router, nft helper rule):
#  A. SETUP + PLAY but the server sends no media, so the expectation is
#     never used up: during the session conntrack -L shows helper=rtsp on
#     the RTSP connection and conntrack -L expect the expectation (udp, dst
#     the router's WAN 10.214.10.20, dport 27336); after TEARDOWN there is
#     no rtsp expectation left (without the TEARDOWN handling it would stay
#     until its timeout).
#  B. A normal session with 60 datagrams: before TEARDOWN the media
#     conntrack (MPEG server -> WAN:27336, DNATed to the decoder) exists;
#     after TEARDOWN it is gone (UDP timeouts are 30 s or more, so only the
#     helper's TEARDOWN handling removes it this quickly).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

W=$E2E_WORK
EXP_RE="proto=17 .*dst=$RTR_WAN4 .*dport=27336( |$)"
MEDIA_RE="dst=$RTR_WAN4 sport=[0-9]+ dport=27336 .*src=$DEC4 dst=$MPEG4 sport=27336 "

# gated_session DIR MEDIA(yes|no): server + decoder held before PLAY (file
# DIR/setup.done, gate DIR/play.go) and before TEARDOWN (DIR/td.go).
gated_session() {
	local d=$1 media=()
	mkdir -p "$d"
	[ "$2" = yes ] && media=(--media-done "$d/media.done" --media-cmd \
		"ip netns exec $NS_MPEG $PY $ROLES/media.py --to {addr} --port {port} --count 60")
	bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$VOD4" --port 554 \
		--log "$d/server.log" --ready-file "$d/server.ready" "${media[@]}"
	SRV=$BG_PID
	busywait 60000 file_or_dead "$d/server.ready" "$SRV" >/dev/null
	bg nsx "$NS_DEC" "$PY" "$ROLES/decoder.py" --server "$VOD4" \
		--listen 27336 --count 60 --timeout "$([ "$2" = yes ] && echo 30 || echo 1)" \
		--setup-done "$d/setup.done" --play-gate "$d/play.go" \
		--teardown-gate "$d/td.go" >"$d/decoder.json" 2>"$d/decoder.err"
	DEC=$BG_PID
	busywait 60000 file_or_dead "$d/setup.done" "$DEC" >/dev/null
}

finish() {	# finish DIR: let the decoder TEARDOWN, wait for it and the server
	touch "$1/td.go"
	wait "$DEC"
	kill "$SRV" 2>/dev/null
	wait "$SRV" 2>/dev/null
}

# --- A: expectation during the session and after TEARDOWN
A=$W/a
gated_session "$A" no
touch "$A/play.go"
busywait 30000 grep -q '"method": "PLAY"' "$A/server.log" >/dev/null
nap 0.3
nsx "$NS_RTR" conntrack -L -f ipv4 -p tcp --dport 554 >"$A/ct.txt" 2>/dev/null
nsx "$NS_RTR" conntrack -L expect -f ipv4 >"$A/expect.before" 2>/dev/null
check "A: conntrack -L shows helper=rtsp on the RTSP connection" \
	grep -q 'helper=rtsp' "$A/ct.txt"
check "A: conntrack -L expect shows udp -> $RTR_WAN4:27336 (after PLAY, no media)" \
	grep -Eq "$EXP_RE" "$A/expect.before"
grep -E "$EXP_RE" "$A/expect.before" | sed 's/^/    /'
finish "$A"
check_eq "A: TEARDOWN answered 200" 200 "$(json_get "$A/decoder.json" teardown_status)"
# TEARDOWN's reply has arrived: the request went through the helper.
nsx "$NS_RTR" conntrack -L expect -f ipv4 >"$A/expect.after" 2>/dev/null
if grep -q 'rtsp' "$A/expect.after" || grep -Eq "$EXP_RE" "$A/expect.after"; then
	fail "A: no rtsp expectation left after TEARDOWN" "$(cat "$A/expect.after")"
else
	pass "A: no rtsp expectation left after TEARDOWN"
fi

# --- B: media conntrack before and after TEARDOWN
B=$W/b
gated_session "$B" yes
touch "$B/play.go"
busywait 30000 test -e "$B/media.done" >/dev/null
# the decoder has stopped counting (60) or timed out; it waits at td.go
busywait 30000 eval "nsx $NS_RTR conntrack -L -f ipv4 -p udp 2>/dev/null | grep -Eq '$MEDIA_RE'" >/dev/null
nsx "$NS_RTR" conntrack -L -f ipv4 -p udp >"$B/udp.before" 2>/dev/null
check "B: media conntrack $MPEG4 -> $RTR_WAN4:27336 DNATed to $DEC4 before TEARDOWN" \
	grep -Eq "$MEDIA_RE" "$B/udp.before"
grep -E "$MEDIA_RE" "$B/udp.before" | sed 's/^/    /'
finish "$B"
{ read -r td; read -r got; } < <(json_get "$B/decoder.json" teardown_status received.27336)
check_eq "B: decoder received all 60 datagrams" 60 "$got"
check_eq "B: TEARDOWN answered 200" 200 "$td"
nsx "$NS_RTR" conntrack -L -f ipv4 -p udp >"$B/udp.after" 2>/dev/null
if grep -Eq "$MEDIA_RE" "$B/udp.after"; then
	fail "B: media conntrack gone after TEARDOWN" "$(cat "$B/udp.after")"
else
	pass "B: media conntrack gone after TEARDOWN"
fi
nsx "$NS_RTR" conntrack -L expect -f ipv4 >"$B/expect.after" 2>/dev/null
check "B: no expectation left after TEARDOWN" eval "! grep -q proto=17 '$B/expect.after'"

e2e_exit
