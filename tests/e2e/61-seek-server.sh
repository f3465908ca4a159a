#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A seek to another server keeps the picture (issue 15), and media_source
# still decides who may send.
#
# Through the NAT router (nft firewall + masquerade, nft helper rule) the
# decoder 192.168.1.200 sets up client_port=27336 and plays; the MPEG
# server 172.26.83.137 sends N datagrams to the router port: they use up
# the SETUP's expectation. Another MPEG server, 172.26.84.10 (topo_mpeg2),
# sends N before any new PLAY: dropped (0), by design: only a PLAY arms
# the session's port again (README, "How it works"). Then the decoder
# seeks (PLAY "Range: npt=600-end", same session, same connection):
# conntrack -L expect shows the port expected again, and the next N from
# 172.26.84.10 reach the decoder (2N in all). A second seek, then the
# outsider 10.99.0.5 sends N, then the first server from a new source
# port sends N:
#   media_source=any (default)   the outsider's N arrive (it is the first
#                                new sender after the PLAY), then the
#                                first server's N do not (no PLAY since)
#   media_source=172.26.0.0/16   the outsider's are dropped (0), the first
#                                server's N arrive (the expectation was
#                                still waiting for an allowed sender)
# Every burst must reach the router's WAN side, so a 0 is the router's.
#
# Controls: without the PLAY re-arm (rtsp_rearm() a no-op) every check
# "after the seek ... reach decoder" and "expected again" FAILs; without
# the helper rule (last case) not even the first N arrive.

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
check "second MPEG server $MPEG2_4" topo_mpeg2 || e2e_exit
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

# seek_case TAG OUTSIDER_WANT NEW_PORT_WANT: one session, the seek to
# another server.
seek_case() {
	local t=$1 p
	sk_client "$t" "$NS_DEC" 27336 play:0.000 play:600.000 play:1200.000 teardown ||
		return 1
	p=${SK_PORT[$t]}
	sk_check_expect "$t: after SETUP" "$p"
	sk_act "$t"
	sk_burst "$t: PLAY" "$t" "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_check_no_expect "$t: the first flow used the expectation up" "$p"
	# From another source port than after the seek: the dropped datagrams
	# leave a conntrack (to the router itself) that the same 5-tuple would
	# then follow until the UDP timeout.
	sk_burst "$t: another server, no PLAY since the stream began" "$t" \
		"$NS_MPEG2" "$MPEG2_4" 48441 $N 0
	sk_act "$t"
	sk_check_expect "$t: after the seek to npt=600 the port is expected again" "$p"
	sk_burst "$t: after the seek to npt=600, another server" "$t" "$NS_MPEG2" "$MPEG2_4" 48440 $N $N
	check_eq "$t: the decoder has all 2N=$((2 * N)) datagrams" $((2 * N)) "$(sk_got "$t")"
	sk_check_no_expect "$t: the second sender's flow used it up" "$p"
	sk_act "$t"
	sk_burst "$t: after the seek to npt=1200, the outsider" "$t" "$NS_OUT" "$OUT4" 48440 $N "$2"
	sk_burst "$t: then the first server from a new source port" "$t" "$NS_MPEG" "$MPEG4" 48442 $N "$3"
	sk_act "$t"
	sk_check_no_expect "$t: after TEARDOWN" "$p"
	sk_end "$t"
}

echo "--- media_source=any (default)"
check_eq "media_source is any" any "$(cat /sys/module/nf_conntrack_rtsp/parameters/media_source)"
seek_case any $N 0

echo "--- media_source=172.26.0.0/16"
check "reload nf_conntrack_rtsp with media_source=172.26.0.0/16" sk_policy 172.26.0.0/16 ||
	e2e_exit
seek_case prefix 0 $N

echo "--- control: no helper rule"
nse "$NS_RTR" nft delete table inet e2e_helper
check "router: no helper rule" attach_helper_none
nse "$NS_RTR" conntrack -F >/dev/null 2>&1
if sk_client nohelper "$NS_DEC" 27336 play:0.000 teardown; then
	sk_act nohelper
	sk_burst "control without the helper rule" nohelper "$NS_MPEG" "$MPEG4" 48440 $N 0
	sk_act nohelper
	sk_end nohelper
fi

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
