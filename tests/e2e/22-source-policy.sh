#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# media_source policy of nf_conntrack_rtsp (module parameter), through the
# NAT router with the nft helper rule:
#   media_source=server          the MPEG server 172.26.83.137 is refused
#                                (0 datagrams) while the RTSP server itself
#                                (172.26.22.10) sending is admitted (60/60)
#   media_source=172.26.0.0/16   the MPEG server is admitted (60/60), the
#                                outsider 10.99.0.5 is refused (0)
# Every session's 60 datagrams must reach the router's WAN side, so a 0 is
# the policy's doing. The nft ct helper object holds a reference on the
# helper, so the helper table is deleted before the modules are reloaded.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

reload_policy() {	# reload_policy VALUE: reload our modules with media_source=VALUE
	nsx "$NS_RTR" nft delete table inet e2e_helper 2>/dev/null
	modprobe -r nf_nat_rtsp nf_conntrack_rtsp &&
	modprobe nf_conntrack_rtsp media_source="$1" &&
	modprobe nf_nat_rtsp &&
	grep -qx "$1" /sys/module/nf_conntrack_rtsp/parameters/media_source &&
	attach_helper_nft rtsp 554
}

# policy_session NAME SENDER_NS WANT: one VoD session, media from SENDER_NS;
# WANT is the number of datagrams the decoder must get (60 or 0).
policy_session() {
	local name=$1 got routed st
	# A blocked stream of the case before went to the router itself and
	# left a conntrack (same source port): flows of this case must not
	# match it instead of the expectation.
	nsx "$NS_RTR" conntrack -D -p udp >/dev/null 2>&1
	router_count_udp 27336
	VOD_SENDER_NS=$2 vod_session
	{ read -r st; read -r got; } < <(json_get "$E2E_WORK/decoder.json" setup_status received.27336)
	routed=$(router_udp_count)
	check_eq "$name: SETUP answered 200" 200 "$st"
	check "$name: expectation for udp dport 27336" \
		grep -Eq "proto=17 .*dport=27336( |$)" "$E2E_WORK/expect.txt"
	check_eq "$name: router got the 60 datagrams on its WAN side" 60 "$routed"
	if ! check_eq "$name: decoder received $3 datagrams" "$3" "$got"; then
		vod_dump | sed 's/^/    /'
	fi
}

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit

check "reload with media_source=server" reload_policy server || e2e_exit
policy_session "media_source=server, MPEG server $MPEG4 sends" "$NS_MPEG" 0
policy_session "media_source=server, RTSP server $VOD4 sends" "$NS_VOD" 60

check "reload with media_source=172.26.0.0/16" reload_policy 172.26.0.0/16 || e2e_exit
policy_session "media_source=172.26.0.0/16, MPEG server $MPEG4 sends" "$NS_MPEG" 60
policy_session "media_source=172.26.0.0/16, outsider $OUT4 sends" "$NS_OUT" 0

e2e_exit
