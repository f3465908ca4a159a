#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Router ports the NAT helper must never choose (issue 14, cases 1 and 2).
#
# privileged: a decoder asking client_port=500 through the NAT router (it
#   binds 500 itself, as root). Correct: the router port given to the VoD
#   manager is >= 1024 (the default media port range is 1024-65535), it has
#   the expectation, no expectation exists below 1024, the SETUP reply shows
#   500 again and the 60 datagrams sent to the router port reach the
#   decoder's port 500.
# media_ports: nf_nat_rtsp reloaded with media_ports=30000-30099 (module
#   parameter). Correct: the parameter is known to the module, and the
#   router port of a SETUP asking 27336 lies in 30000..30099; the stream
#   reaches the decoder's 27336.
# hostile: connection 1 of the decoder asks client_port=1000
#   (MP2T/H2221/UDP), then the same host opens connections asking
#   RTP/AVP client_port=1000-65512, 1000/65512 and 65512/1000 (a pair
#   64512 apart, that no two router ports >= 1024 can hold). At c176a75 the
#   first of them kills the kernel (divide error in rtsp_candidate, in
#   softirq): the harness then reports "no status from the VM". Correct:
#   the router survives, the hostile SETUPs get no expectation (the router
#   may drop them: no reply is required), no expectation exists below
#   1024, and a normal Movistar session (client_port=27336) works
#   afterwards.
#
# Control: at c176a75 the router port 500 is handed out (the checks on it
# fail), media_ports is an unknown parameter and 27336 is kept, and the
# VM dies in the hostile part; the Movistar session's own checks are
# those of 10-movistar-nft, which pass there.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

W=$E2E_WORK

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

# exp_ports FILE: the UDP ports of the expectations listed in FILE.
exp_ports() {
	sed -n 's/.*proto=17 .* dport=\([0-9]*\) mask.*/\1/p' "$1" | sort -n | xargs
}
# below_1024 "PORT...": the ports below 1024 among PORTs (none: empty).
below_1024() {
	local p
	for p in $1; do
		[ "$p" -lt 1024 ] && printf '%s ' "$p"
	done
	return 0
}

# mapped_session NAME PORT LO HI: a vod_session from a decoder asking
# client_port=PORT; the router port the VoD manager gets must lie in
# LO..HI and be expected, the reply must show PORT, and the 60 datagrams
# sent to the router port must reach the decoder's PORT.
mapped_session() {
	local name=$1 port=$2 lo=$3 hi=$4 rp st pt tt tr got ports
	VOD_PORT=$port vod_session
	{ read -r st; read -r pt; read -r tt; read -r tr; read -r got; } < <(json_get \
		"$W/decoder.json" setup_status play_status teardown_status setup_transport "received.$port")
	rp=$(server_field SETUP transport | sed -n 's/.*client_port=\([0-9]*\).*/\1/p')
	ports=$(exp_ports "$W/expect.txt")
	info "$name: router port ${rp:-none}, expectations for: ${ports:-none}"
	check_eq "$name: SETUP/PLAY/TEARDOWN answered 200" "200 200 200" "$st $pt $tt"
	check "$name: the VoD manager got a router port in $lo..$hi (${rp:-none})" \
		test "${rp:-0}" -ge "$lo" -a "${rp:-0}" -le "$hi"
	check "$name: expectation for router port ${rp:-none}" \
		grep -Eq "proto=17 .*dport=${rp:-none} " "$W/expect.txt"
	check_eq "$name: no expectation for a router port below 1024" "" \
		"$(below_1024 "$ports")"
	check "$name: the SETUP reply shows client_port=$port again ($tr)" \
		grep -Eq "client_port=$port([^0-9]|\$)" <<<"$tr"
	check_eq "$name: the decoder's port $port received all 60 datagrams" 60 "$got" ||
		vod_dump | sed 's/^/    /'
}

# --- privileged ---------------------------------------------------------------------
mapped_session privileged 500 1024 65535
info "t=$(rb_elapsed "$T0") s: privileged done"

# --- media_ports --------------------------------------------------------------------
dmesg -C
if modprobe -r nf_nat_rtsp && modprobe nf_nat_rtsp media_ports=30000-30099; then
	pass "nf_nat_rtsp reloaded with media_ports=30000-30099"
	check "media_ports is a parameter of nf_nat_rtsp (no 'unknown parameter' in the log)" \
		eval "! dmesg | grep 'unknown parameter'"
	mapped_session media_ports 27336 30000 30099
else
	fail "nf_nat_rtsp reloaded with media_ports=30000-30099" "$(dmesg | tail -n 5)"
fi
check "nf_nat_rtsp reloaded with its defaults" \
	eval "modprobe -r nf_nat_rtsp && modprobe nf_nat_rtsp"
info "t=$(rb_elapsed "$T0") s: media_ports done"

# --- hostile --------------------------------------------------------------------------
# The raw server listens on a second address of the VoD manager, so that
# vod_session can have $VOD4:554 afterwards.
RAW_SRV=172.26.22.11
ip -n "$NS_VOD" addr add "$RAW_SRV/24" dev eth0
check "raw RTSP server on $RAW_SRV" eval "RB_SRV_BIND=$RAW_SRV rb_server" || e2e_exit
cat >"$W/first.json" <<EOF
[
{"connect": "$RAW_SRV"},
{"send": [$(rn_setup "MP2T/H2221/UDP;unicast;client_port=1000")]},
{"recv": 1, "timeout": 5, "may_fail": true},
{"touch": "$W/first.done"}, {"wait": "$W/first.stop", "timeout": 120},
{"close": 1}
]
EOF
{
	echo '['
	for t in 1000-65512 1000/65512 65512/1000; do
		cat <<-EOF
		{"connect": "$RAW_SRV"},
		{"send": [$(rn_setup "RTP/AVP;unicast;client_port=$t")]},
		{"recv": 1, "timeout": 3, "may_fail": true},
		EOF
	done
	echo '{"close": 1}]'
} >"$W/hostile.json"

rb_client first "$NS_DEC" ""
FIRST=$RB_CLI_PID
rb_gate "$W/first.done" "$FIRST" 60000
rb_expect >"$W/exp1.txt"
E1=$(exp_ports "$W/exp1.txt")
info "hostile: connection 1 (client_port=1000): expectations for: ${E1:-none}"
check_eq "hostile: connection 1: no expectation for a router port below 1024" "" \
	"$(below_1024 "$E1")"

info "hostile: client_port=1000-65512, 1000/65512, 65512/1000 from the same host"
rb_client hostile "$NS_DEC" ""
busywait 60000 eval "! kill -0 $RB_CLI_PID 2>/dev/null" >/dev/null
wait "$RB_CLI_PID"
pass "hostile: the router survived the three SETUPs"
check "hostile: kernel log clean" rb_dmesg_clean
info "hostile: replies: $(rn_statuses "$W/hostile.out") (0: none; a drop is fine)"
rb_expect >"$W/exp2.txt"
E2=$(exp_ports "$W/exp2.txt")
info "hostile: expectations after them: ${E2:-none}"
check_eq "hostile: the hostile SETUPs got no expectation" "$E1" "$E2"
check_eq "hostile: no expectation for a router port below 1024" "" "$(below_1024 "$E2")"
touch "$W/first.stop"
wait "$FIRST"
info "t=$(rb_elapsed "$T0") s: hostile done"

# --- nine transport specs in one SETUP -----------------------------------------------------
# Eight single ports, then a ninth spec whose ports, had the helper stored
# it past its eight slots, would have landed on its rewrite's length (a
# write past the array once made the helper parse the same message forever
# without NAT, and map garbage ports with it). Behind NAT the ninth spec,
# left as it is, would name router ports the session does not hold: the
# SETUP is dropped (no expectation, no reply), and nothing else happens.
specs=
for i in 1 2 3 4 5 6 7 8; do
	specs+="RTP/AVP;unicast;client_port=2100$i,"
done
specs+="RTP/AVP;unicast;client_port=65142-65535"
cat >"$W/many.json" <<EOF
[
{"connect": "$RAW_SRV"},
{"send": [$(rn_setup "$specs" 7)]},
{"recv": 1, "timeout": 10, "may_fail": true},
{"touch": "$W/many.setup"},
{"wait": "$W/many.stop", "timeout": 120},
{"close": 1}
]
EOF
rb_client many "$NS_DEC" ""
MANY=$RB_CLI_PID
rb_gate "$W/many.setup" "$MANY" 60000
rb_expect >"$W/exp3.txt"
E3=$(exp_ports "$W/exp3.txt")
info "many specs: expectations: ${E3:-none}"
check_eq "many specs: none of its eight single ports is expected" 0 \
	"$(grep -cE 'proto=17 .*dport=2100[1-8] mask' "$W/exp3.txt")"
check_eq "many specs: nor the ninth spec" 0 \
	"$(grep -cE 'proto=17 .*dport=(65142|65535) mask' "$W/exp3.txt")"
check "many specs: the log says why" eval \
	"dmesg | grep -q 'NATed SETUP with a Transport not all rewritten'"
check "many specs: kernel log clean" rb_dmesg_clean
touch "$W/many.stop"
wait "$MANY"
check_eq "many specs: the SETUP was not passed on (no answer: 0)" 0 \
	"$(rn_statuses "$W/many.out")"

# --- a normal Movistar session afterwards ----------------------------------------------
router_count_udp 27336
vod_session
vod_checks stream

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
