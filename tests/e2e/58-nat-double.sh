#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The port-owner scenario of 57-nat-port-owner through two NAT routers in a
# row, both running our helper (issue 14, case 4):
#
#   ia 192.168.2.200 --.                                     .
#                       br-lan [rtra] wan0 ---- br-lan [rtr] wan0 --- isp --- vod, mpeg
#   ib 192.168.2.201 --'  192.168.2.1  192.168.1.2  192.168.1.1  10.214.10.20
#
# rtra (inner) and rtr (outer, lib.sh's router) each have the nft firewall,
# masquerade on wan0 and the nft helper rule. Decoder A (ia) sets up
# client_port=27336 and its stream (a datagram every 40 ms from the MPEG
# server's source port 5000) starts; meanwhile decoder B (ib) sets up
# client_port=27336 and gets 40 datagrams from the same source port.
# Correct: rtra gives B another port than A's, so does rtr, the VoD manager
# sees two different client ports, each decoder receives exactly its own
# stream, and both routers have one media flow per stream.
#
# Control: A's stream crosses both NATs at c176a75 too (the
# preconditions pass there); the mapping and count checks fail there.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

RTRA_WAN4=192.168.1.2
RTRA_LAN4=192.168.2.1

# topo_inner: the inner router and its two decoders, behind lib.sh's router.
topo_inner() {
	setup_ns NS_RTRA NS_IA NS_IB || return 1
	ip -batch - <<-EOF || return 1
	link add lan-rtra netns $NS_RTR type veth peer name $WAN_IF netns $NS_RTRA
	link add lan-ia netns $NS_RTRA type veth peer name eth0 netns $NS_IA
	link add lan-ib netns $NS_RTRA type veth peer name eth0 netns $NS_IB
	EOF
	ip -n "$NS_RTR" -batch - <<-EOF || return 1
	link set lan-rtra master $LAN_IF
	link set lan-rtra up
	EOF
	ip -n "$NS_RTRA" -batch - <<-EOF || return 1
	link add $LAN_IF type bridge forward_delay 0 stp_state 0
	link set lan-ia master $LAN_IF
	link set lan-ib master $LAN_IF
	link set $LAN_IF up
	link set lan-ia up
	link set lan-ib up
	link set $WAN_IF up
	addr add $RTRA_LAN4/24 dev $LAN_IF
	addr add fd00:2::1/64 dev $LAN_IF nodad
	addr add $RTRA_WAN4/24 dev $WAN_IF
	route add default via $RTR_LAN4
	EOF
	_topo_host "$NS_IA" 192.168.2.200/24 "$RTRA_LAN4" fd00:2::200/64 fd00:2::1 &&
	_topo_host "$NS_IB" 192.168.2.201/24 "$RTRA_LAN4" fd00:2::201/64 fd00:2::1 &&
	nse "$NS_RTRA" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
}

rb_setup_nat
if topo_inner; then
	pass "inner router rtra and its decoders behind rtr"
else
	fail "inner router rtra and its decoders behind rtr"
	e2e_exit
fi
# lib.sh's router functions, on rtra (same interface names)
if NS_RTR=$NS_RTRA router_nat_nft && NS_RTR=$NS_RTRA attach_helper_nft rtsp 554; then
	pass "rtra: nft firewall + masquerade + ct helper rule for tcp/554"
else
	fail "rtra: nft firewall + masquerade + ct helper rule for tcp/554"
	e2e_exit
fi
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

RN_FLOW_NS="$NS_RTR $NS_RTRA" rn_owner double "$NS_IA" "$NS_IB"
check_eq "the VoD manager saw both sessions from rtr's WAN address" \
	"$RTR_WAN4" "$(rn_log_new | rn_field peer | sort -u | xargs)"

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
