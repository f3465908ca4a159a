#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A seek to a new source port of the same server keeps the picture (issue
# 15).
#
# Through the NAT router (nft helper rule) the decoder sets up
# client_port=27336 and plays; the MPEG server 172.26.83.137 sends N
# datagrams from its source port 48440. The decoder seeks (PLAY "Range:
# npt=600-end") and the server sends the next N from source port 48442, a
# new flow of the same host: the decoder must get all 2N. After a seek
# back to npt=30 the old port sends again: N more (its flow is still
# there: a new flow does not end the one before it, 69-seek-stray).
#
# media_source=server: the VoD manager 172.26.22.10 (the RTSP server)
# sends, from 48440 and after the seek from 48442: 2N; after another seek
# the MPEG server (not the RTSP server) sends: 0, then the RTSP server
# from a third port: N (the PLAY's expectation still waits for it).
#
# Control: without the PLAY re-arm (rtsp_rearm() a no-op) every new source
# port after the first is dropped: the checks "after the seek ... reach
# decoder" FAIL; 61 has the control without the helper rule.

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

echo "--- media_source=any (default): the MPEG server's new source port"
if sk_client any "$NS_DEC" 27336 play:0.000 play:600.000 play:30.000 teardown; then
	sk_act any
	sk_burst "any: PLAY" any "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_act any
	sk_burst "any: after the seek to npt=600, a new source port" any "$NS_MPEG" "$MPEG4" 48442 $N $N
	check_eq "any: the decoder has all 2N=$((2 * N)) datagrams" $((2 * N)) "$(sk_got any)"
	sk_act any
	sk_burst "any: after the seek back to npt=30, the first port again" any "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_act any
	sk_end any
fi

echo "--- media_source=server: the RTSP server's new source port"
check "reload nf_conntrack_rtsp with media_source=server" sk_policy server || e2e_exit
if sk_client server "$NS_DEC" 27336 play:0.000 play:600.000 play:1200.000 teardown; then
	sk_act server
	sk_burst "server: PLAY" server "$NS_VOD" "$VOD4" 48440 $N $N
	sk_act server
	sk_burst "server: after the seek to npt=600, a new source port" server "$NS_VOD" "$VOD4" 48442 $N $N
	check_eq "server: the decoder has all 2N=$((2 * N)) datagrams" $((2 * N)) "$(sk_got server)"
	sk_act server
	sk_burst "server: after the seek to npt=1200, the MPEG server" server "$NS_MPEG" "$MPEG4" 48440 $N 0
	sk_burst "server: then the RTSP server from a third port" server "$NS_VOD" "$VOD4" 48444 $N $N
	sk_act server
	sk_end server
fi

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
