#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Control for 10/11: the same Movistar VoD session, our modules loaded, but
# no rule attaches the helper (kernels >= 6.0 never attach one on their
# own). The RTSP exchange must work and the 60 datagrams must reach the
# router's WAN side, yet not one may reach the decoder: PASS iff 0 arrive.
# This proves that the stream in 10/11 is the helper's doing.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: no helper rule" attach_helper_none || e2e_exit
router_count_udp 27336

vod_session
vod_checks none

e2e_exit
