#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The helper without IPv4 NAT:
#  1. firewall-only router (router_routed_nft: forward policy drop, no NAT,
#     the ISP routes the LAN to the router), IPv4: the server sees the
#     decoder's own address and the stream (60) arrives;
#  2. the same over IPv6;
#  3. NAT66 (ip6 masquerade on the WAN), IPv6: the server sees the router's
#     WAN address and the stream arrives;
#  4. control: NAT66 without the helper rule: 0 datagrams reach the decoder.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall, routed (no NAT)" router_routed_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

echo "--- routed, IPv4"
router_count_udp 27336
VOD_FAMILY=4 vod_session
VOD_FAMILY=4 VOD_PEER=$DEC4 vod_checks stream

echo "--- routed, IPv6"
router_count_udp 27336
VOD_FAMILY=6 vod_session
VOD_FAMILY=6 VOD_PEER=$DEC6 vod_checks stream

echo "--- NAT66, IPv6"
check "router: ip6 masquerade (NAT66)" router_nat66_nft || e2e_exit
router_count_udp 27336
VOD_FAMILY=6 vod_session
VOD_FAMILY=6 vod_checks stream

echo "--- NAT66, IPv6, no helper rule (control)"
check "router: helper rule removed" nsx "$NS_RTR" nft delete table inet e2e_helper
check "router: no helper rule" attach_helper_none
# earlier sessions' RTSP conntracks (helper=rtsp, TIME_WAIT) must not
# count against the control
nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
router_count_udp 27336
VOD_FAMILY=6 vod_session
VOD_FAMILY=6 vod_checks none

e2e_exit
