#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A stray datagram after a PLAY does not end the stream (issue 15).
#
# A PLAY (a seek) expects the session's media again, for a new sender;
# with media_source=any (the default, as Movistar needs) any host may
# take that expectation. Through the NAT router the decoder sets up
# client_port=27336 and plays: the MPEG server 172.26.83.137 sends N from
# port 48440. A seek (PLAY npt=600): the port is expected again, for at
# most 120 s (conntrack -L expect shows the time left), not setup_timeout.
# One datagram from the outsider 10.99.0.5 takes the expectation (it
# reaches the decoder: media_source=any), then the MPEG server goes on
# from the same port: all N more reach the decoder, and its flow is still
# there. TEARDOWN: neither the server nor the outsider gets one more
# datagram through (both flows ended with the session).
#
# Before the fix the outsider's flow ended the server's at once: the
# second N got 0 ("the server goes on" FAILs), and the re-armed
# expectation waited 300 s.

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

rb_setup_nat
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

if sk_client st "$NS_DEC" 27336 play:0.000 play:600.000 teardown; then
	p=${SK_PORT[st]}
	sk_act st
	sk_burst "PLAY" st "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_act st
	sk_check_expect "after the seek the port is expected again" "$p"
	left=$(sk_expect_line "$p" | awk '{ print $1 }' | sort -n | tail -n1)
	check "the re-armed expectation waits at most 120 s (${left:-none} s left)" \
		test "${left:-999}" -le 120
	sk_burst "a stray datagram takes the expectation" st "$NS_OUT" "$OUT4" 48441 1 1
	sk_burst "the server goes on from the same port" st "$NS_MPEG" "$MPEG4" 48440 $N $N
	check_eq "the decoder has all 2N+1=$((2 * N + 1)) datagrams" $((2 * N + 1)) "$(sk_got st)"
	check "the server's flow is still there" sk_flow_from "$MPEG4" 48440
	sk_act st
	sk_check_no_expect "after TEARDOWN" "$p"
	check "after TEARDOWN the server's flow is gone" \
		busywait 5000 eval "! sk_flow_from $MPEG4 48440"
	sk_burst "after TEARDOWN, the server" st "$NS_MPEG" "$MPEG4" 48440 $N 0
	sk_burst "after TEARDOWN, the outsider" st "$NS_OUT" "$OUT4" 48441 $N 0
	sk_end st
fi

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
