#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# RTP/RTCP port pairs through NAT: the decoder SETUPs
#   RTP/AVP;unicast;client_port=5000-5001   (a range: RTP + RTCP)
#   RTP/AVP;unicast;client_port=5000/5003   (two explicit ports)
# listens on both ports, and on PLAY the MPEG server sends 60 datagrams to
# each of the two ports (two media.py in parallel). PASS iff, for each
# form, both ports receive all 60, the SETUP reply shows the client's
# original ports, and the router had an expectation for each port.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

W=$E2E_WORK
COUNT=60

# pair_session TAG TRANSPORT P1 P2: one session; media to both ports.
pair_session() {
	local tag=$1 transport=$2 p1=$3 p2=$4 srv dec d=$W/$1
	local send="$PY $ROLES/media.py --to {addr} --count $COUNT --interval 0.01"
	mkdir -p "$d"
	bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$VOD4" --port 554 \
		--log "$d/server.log" --ready-file "$d/server.ready" \
		--media-done "$d/media.done" \
		--media-cmd "ip netns exec $NS_MPEG sh -c '$send --port {port} & $send --port {port2}; wait'"
	srv=$BG_PID
	busywait 60000 file_or_dead "$d/server.ready" "$srv" >/dev/null
	bg nsx "$NS_DEC" "$PY" "$ROLES/decoder.py" --server "$VOD4" \
		--transport "$transport" --listen "$p1,$p2" --count 100000 \
		--timeout 30 --stop-file "$d/media.done" --drain 1 \
		--setup-done "$d/setup.done" --play-gate "$d/play.go" \
		>"$d/decoder.json" 2>"$d/decoder.err"
	dec=$BG_PID
	busywait 60000 file_or_dead "$d/setup.done" "$dec" >/dev/null
	nsx "$NS_RTR" conntrack -L expect -f ipv4 >"$d/expect.txt" 2>/dev/null
	touch "$d/play.go"
	wait "$dec"
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null

	local st pt tt g1 g2 tr ok=1 p
	{ read -r st; read -r pt; read -r tt; read -r g1; read -r g2; read -r tr; } < <(json_get \
		"$d/decoder.json" setup_status play_status teardown_status \
		"received.$p1" "received.$p2" setup_transport)
	check_eq "$tag: SETUP/PLAY/TEARDOWN answered 200" "200 200 200" "$st $pt $tt" || ok=0
	check_eq "$tag: RTP port $p1 received all $COUNT" "$COUNT" "$g1" || ok=0
	check_eq "$tag: RTCP port $p2 received all $COUNT" "$COUNT" "$g2" || ok=0
	check "$tag: SETUP reply shows the client's ports ($tr)" \
		grep -Eq "client_port=${p1}[-/]${p2}([^0-9]|$)" <<<"$tr" || ok=0
	for p in $(server_ports "$d"); do
		check "$tag: expectation for udp dport $p (server-side port)" \
			grep -Eq "proto=17 .*dport=$p( |$)" "$d/expect.txt" || ok=0
	done
	if [ $ok -eq 0 ]; then
		for f in decoder.json decoder.err server.log media.done expect.txt; do
			[ -s "$d/$f" ] && { echo "--- $f"; cat "$d/$f"; }
		done | sed 's/^/    /'
	fi
}

server_ports() {	# the client ports the server was given in the SETUP
	grep '"method": "SETUP"' "$1/server.log" | head -n1 |
		grep -Eo 'client_port=[0-9]+([-/][0-9]+)?' | cut -d= -f2 | tr -- '-/' '  '
}

pair_session "range 5000-5001" "RTP/AVP;unicast;client_port=5000-5001" 5000 5001
pair_session "pair 5000/5003" "RTP/AVP;unicast;client_port=5000/5003" 5000 5003

e2e_exit
