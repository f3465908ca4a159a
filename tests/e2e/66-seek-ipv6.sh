#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A seek to another server keeps the picture without IPv4 NAT: routed
# (firewall only, IPv4 and IPv6) and NAT66 (issue 15).
#
# The router forwards with policy drop (router_routed_nft, the ISP routes
# the LAN to it) and the nft helper rule; the raw RTSP server listens on
# the VoD manager's IPv4 and IPv6 addresses. The decoder sets up
# client_port=27336 and plays; the MPEG server (172.26.83.137 /
# 2001:db8:83::137) sends N to the address the VoD manager saw; after a
# seek (PLAY "Range: npt=600-end") another MPEG server (172.26.84.10 /
# 2001:db8:84::10) sends N: the decoder must get 2N.
#   routed, IPv4     the media goes to 192.168.1.200:27336
#   routed, IPv6     to fd00:1::200:27336
#   NAT66, IPv6      to the router's 2001:db8:1::20 and its router port
#   NAT66, IPv6, media_source=172.26.0.0/16,2001:db8:80::/44: 2N, and after
#                    another seek the outsider 2001:db8:99::5 (outside the
#                    IPv6 prefix) gets 0 while the first server's new
#                    source port gets N
#
# Control: without the PLAY re-arm (rtsp_rearm() a no-op) the second
# server's N are dropped: the checks after the seek FAIL; 23 has the
# control without the helper rule for these router variants.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
# shellcheck source=lib_seek.sh
. "$(dirname "$0")/lib_seek.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0
N=40

check "topology built" topo_movistar || e2e_exit
check "second MPEG server $MPEG2_4 $MPEG2_6" topo_mpeg2 || e2e_exit
check "router: nft firewall, routed (no NAT)" router_routed_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit
check "raw RTSP server on $VOD4" rb_server || e2e_exit
RB_SRV_BIND=$VOD6 check "raw RTSP server on $VOD6" rb_server || e2e_exit

# seek6 TAG FAM PEER [OUTSIDER_CASE]: one session of family FAM (4|6),
# the media going to PEER (what the VoD manager must see).
seek6() {
	local t=$1 m1=$MPEG4 m2=$MPEG2_4 out=$OUT4
	if [ "$2" = 6 ]; then
		SK_SERVER=$VOD6 SK_URI="rtsp://[$VOD6]/vod"
		m1=$MPEG6 m2=$MPEG2_6 out=$OUT6
	else
		SK_SERVER=$VOD4 SK_URI="rtsp://$VOD4/vod"
	fi
	sk_client "$t" "$NS_DEC" 27336 play:0.000 play:600.000 play:1200.000 teardown || return 1
	check_eq "$t: the VoD manager saw the SETUP from $3" "$3" "${SK_DST[$t]}"
	sk_act "$t"
	sk_burst "$t: PLAY" "$t" "$NS_MPEG" "$m1" 48440 $N $N
	sk_act "$t"
	sk_burst "$t: after the seek to npt=600, another server" "$t" "$NS_MPEG2" "$m2" 48440 $N $N
	check_eq "$t: the decoder has all 2N=$((2 * N)) datagrams" $((2 * N)) "$(sk_got "$t")"
	sk_act "$t"
	if [ -n "${4:-}" ]; then
		sk_burst "$t: after the seek to npt=1200, the outsider" "$t" "$NS_OUT" "$out" 48440 $N 0
		sk_burst "$t: then the first server from a new source port" "$t" "$NS_MPEG" "$m1" 48442 $N $N
	fi
	sk_act "$t"
	sk_end "$t"
}

echo "--- routed, IPv4"
seek6 routed4 4 "$DEC4"
echo "--- routed, IPv6"
seek6 routed6 6 "$DEC6"

echo "--- NAT66, IPv6"
check "router: ip6 masquerade (NAT66)" router_nat66_nft || e2e_exit
nse "$NS_RTR" conntrack -F >/dev/null 2>&1
seek6 nat66 6 "$RTR_WAN6"

echo "--- NAT66, IPv6, media_source=172.26.0.0/16,2001:db8:80::/44"
check "reload nf_conntrack_rtsp with media_source=172.26.0.0/16,2001:db8:80::/44" \
	sk_policy 172.26.0.0/16,2001:db8:80::/44 || e2e_exit
seek6 prefix6 6 "$RTR_WAN6" outsider

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
