#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Movistar VoD through a NAT router, helper attached with iptables.
#
# As 10-movistar-nft.sh, but the router is configured with iptables
# (iptables-nft on Debian 12): filter FORWARD policy DROP, nat MASQUERADE
# to 10.214.10.20, and the helper attached with
#   iptables -t raw -A PREROUTING -p tcp --dport 554 -j CT --helper rtsp
# Then a *different* host, the MPEG server 172.26.83.137, sends 60
# datagrams of 7x188-byte MPEG-TS to 10.214.10.20:27336. PASS iff all 60
# reach the decoder, the RTSP connection carries helper=rtsp and an
# expectation for udp dport 27336 exists during the session.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft iptables ip6tables conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: iptables firewall + MASQUERADE" router_nat_iptables || e2e_exit
check "router: iptables raw CT --helper rtsp for tcp/554" attach_helper_iptables rtsp 554 || e2e_exit
router_count_udp 27336

vod_session
vod_checks stream

e2e_exit
