#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A router port belongs to a session while its media flows (issue 14, 3),
# also once its control connection has ended ("closed").
#
# Decoder A (192.168.1.200) sets up client_port=27336 through the NAT
# router and its stream starts: the MPEG server sends a datagram every 40
# ms from its one fixed source port 5000, until the test is done with B
# (media.py --stop-file). While it flows, decoder B
# (192.168.1.201) sets up client_port=27336 too, and the MPEG server sends
# B's 40 datagrams from the same source port 5000. A's expectation is used
# up by then (it became A's flow), so a helper that only looks for clashing
# expectations hands 27336 to B as well: B's stream then joins A's flow
# and reaches A. Correct: the VoD manager gets B's SETUP with another
# router port, which has B's expectation; B's reply says 27336 again; A
# receives exactly the datagrams sent to it and B its 40; the router has one
# media flow per stream.
#
# Control: the checks on the mapping and the counts fail at c176a75
# (B is given 27336, A receives its own datagrams + B's 40, B 0); the
# preconditions (A's stream
# flows, B starts while it does) pass there.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

rb_setup_nat
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

RN_B_ADDR=$DEC2_4 rn_owner owner "$NS_DEC" "$NS_DEC2"
# The same when A's control connection has ended but its stream has not:
# the flow still holds the router port.
RN_B_ADDR=$DEC2_4 RN_A_CLOSE=$DEC4 rn_owner closed "$NS_DEC" "$NS_DEC2"

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
