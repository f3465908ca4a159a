#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Movistar VoD through a NAT router, helper attached with nftables.
#
# The decoder (192.168.1.200) sends OPTIONS, SETUP with
# "Transport: MP2T/H2221/UDP;unicast;client_port=27336" and PLAY to the VoD
# manager 172.26.22.10:554 through the router (masquerade to 10.214.10.20,
# forward policy drop). The router attaches the helper with
#   ct helper rtsp-helper { type "rtsp" protocol tcp; }
#   tcp dport 554 ct helper set "rtsp-helper"
# Then a *different* host, the MPEG server 172.26.83.137, sends 60
# datagrams of 7x188-byte MPEG-TS to 10.214.10.20:27336. PASS iff all 60
# reach the decoder, the RTSP connection carries helper=rtsp and an
# expectation for udp dport 27336 exists during the session.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit
router_count_udp 27336

vod_session
vod_checks stream

e2e_exit
