#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Port clash through NAT: two decoders (192.168.1.200 and .201) both SETUP
# "client_port=27336" at the same time through the masquerading router.
# nf_nat_rtsp must keep 27336 for one and map the other to a different
# router port, rewrite that SETUP and restore client_port=27336 in its
# reply. PASS iff both decoders get all 60 datagrams, each SETUP reply says
# client_port=27336, the server saw two different client ports, and while
# the media flows conntrack shows each flow DNATed to its own decoder.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

W=$E2E_WORK
COUNT=60

# One server; each PLAY makes the MPEG server send COUNT datagrams (paced
# 50 ms: a ~3 s stream) to the address/port the server saw.
bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$VOD4" --port 554 \
	--log "$W/server.log" --ready-file "$W/server.ready" \
	--media-done "$W/media.done" \
	--media-cmd "ip netns exec $NS_MPEG $PY $ROLES/media.py --to {addr} --port {port} --count $COUNT --interval 0.05"
SRV=$BG_PID
busywait 60000 file_or_dead "$W/server.ready" "$SRV" >/dev/null
[ -e "$W/server.ready" ] || { fail "rtsp_server.py started"; e2e_exit; }

start_decoder() {	# start_decoder NS TAG
	bg nsx "$1" "$PY" "$ROLES/decoder.py" --server "$VOD4" \
		--transport "MP2T/H2221/UDP;unicast;client_port=27336" \
		--listen 27336 --count "$COUNT" --timeout 30 \
		--setup-done "$W/setup.$2" --play-gate "$W/play.go" \
		--teardown-gate "$W/teardown.go" \
		>"$W/dec.$2.json" 2>"$W/dec.$2.err"
}
start_decoder "$NS_DEC" 1; PID1=$BG_PID
start_decoder "$NS_DEC2" 2; PID2=$BG_PID
busywait 60000 file_or_dead "$W/setup.1" "$PID1" >/dev/null
busywait 60000 file_or_dead "$W/setup.2" "$PID2" >/dev/null
nsx "$NS_RTR" conntrack -L expect -f ipv4 >"$W/expect.txt" 2>/dev/null
touch "$W/play.go"

# Both streams are DNATed: an entry per decoder, orig dst = router WAN,
# reply src = the decoder, reply sport = 27336.
flows_ok() {
	nsx "$NS_RTR" conntrack -L -p udp -f ipv4 >"$W/ct_udp.txt" 2>/dev/null
	grep -Eq "dst=$RTR_WAN4 sport=[0-9]+ dport=[0-9]+ .*src=$DEC4 dst=$MPEG4 sport=27336 " "$W/ct_udp.txt" &&
	grep -Eq "dst=$RTR_WAN4 sport=[0-9]+ dport=[0-9]+ .*src=$DEC2_4 dst=$MPEG4 sport=27336 " "$W/ct_udp.txt"
}
busywait 30000 flows_ok >/dev/null
CT_OK=$?
# media.done gets one line per stream
busywait 30000 eval '[ "$(wc -l 2>/dev/null <"$W/media.done")" = 2 ]' >/dev/null
touch "$W/teardown.go"
wait "$PID1"; wait "$PID2"

dump() {
	local f
	for f in dec.1.json dec.1.err dec.2.json dec.2.err server.log media.done expect.txt ct_udp.txt; do
		[ -s "$W/$f" ] && { echo "--- $f"; cat "$W/$f"; }
	done
	dmesg | tail -n 20
}

ok=1
for i in 1 2; do
	{ read -r st; read -r pt; read -r tt; read -r got; read -r tr; } < <(json_get \
		"$W/dec.$i.json" setup_status play_status teardown_status received.27336 setup_transport)
	check_eq "decoder $i: SETUP/PLAY/TEARDOWN answered 200" "200 200 200" "$st $pt $tt" || ok=0
	check_eq "decoder $i received all $COUNT datagrams" "$COUNT" "$got" || ok=0
	check "decoder $i: SETUP reply restored client_port=27336 ($tr)" \
		grep -Eq "client_port=27336([^0-9]|$)" <<<"$tr" || ok=0
done

mapfile -t SPORTS < <(grep '"method": "SETUP"' "$W/server.log" |
	grep -Eo 'client_port=[0-9]+' | cut -d= -f2)
info "server saw SETUP client ports: ${SPORTS[*]}"
check_eq "server saw two SETUPs" 2 "${#SPORTS[@]}" || ok=0
check "server saw two different client ports" \
	test "${SPORTS[0]:-x}" != "${SPORTS[1]:-x}" || ok=0
check "one of them is the decoders' 27336 (kept when free)" \
	grep -qx 27336 < <(printf '%s\n' "${SPORTS[@]}") || ok=0
for p in "${SPORTS[@]}"; do
	check "expectation for udp dport $p during the sessions" \
		grep -Eq "proto=17 .*dport=$p( |$)" "$W/expect.txt" || ok=0
done
if [ $CT_OK -eq 0 ]; then
	pass "conntrack: each media flow DNATed to its own decoder"
	grep "sport=27336" "$W/ct_udp.txt" | sed 's/^/    /'
else
	fail "conntrack: each media flow DNATed to its own decoder" "$(cat "$W/ct_udp.txt")"
	ok=0
fi
# each flow's router port matches a client port the server saw
for d in "$DEC4" "$DEC2_4"; do
	rp=$(grep -E "src=$d dst=$MPEG4 sport=27336 " "$W/ct_udp.txt" |
		sed -nE "s/.*dst=$RTR_WAN4 sport=[0-9]+ dport=([0-9]+) .*/\1/p" | head -n1)
	check "flow to $d arrives on a port the server was given (${rp:-none})" \
		grep -qx "${rp:-none}" < <(printf '%s\n' "${SPORTS[@]}") || ok=0
done
[ $ok -eq 1 ] || dump | sed 's/^/    /'

kill "$SRV" 2>/dev/null
e2e_exit
