#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# media_source=server and a sender that is not the RTSP server (issue 15):
# a SETUP reply's source=, and the host of a SETUP URL.
#
# Through the NAT router (nft helper rule), nf_conntrack_rtsp loaded with
# media_source=server; the VoD manager 172.26.22.10 is the RTSP server,
# 172.26.84.10 (topo_mpeg2) another MPEG server.
#   src      the SETUP reply says "source=172.26.84.10": the port is
#            expected twice (from the server and from 172.26.84.10, in
#            conntrack -L expect); PLAY, 172.26.84.10 sends N: they arrive
#            and its flow uses both expectations up; a seek expects both
#            again, and 172.26.84.10 from a new source port sends N: N.
#   url      the SETUP goes to the server's connection but names
#            rtsp://172.26.84.10/vod (an older decoder retrying against
#            DESCRIBE's a=control: URL): the same, 2N from 172.26.84.10.
# Controls, same test: the reply without source= (nosrc) and a SETUP URL
# naming a host by name (name: never resolved): one expectation, and N
# from 172.26.84.10 get 0 while the server's own N arrive. Without the
# feature (rtsp_reply_alts()/rtsp_setup_alts() no-ops) "src" and "url"
# FAIL. 68 has max_per_host with these.

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
EXTRA=$E2E_WORK/reply.extra

rb_setup_nat
check "second MPEG server $MPEG2_4" topo_mpeg2 || e2e_exit
check "reload nf_conntrack_rtsp with media_source=server" sk_policy server || e2e_exit
check "raw RTSP server on the VoD manager" rb_server --reply-append "$EXTRA" || e2e_exit

# shellcheck disable=SC2317 # called through check
from_alt() {	# from_alt PORT: an expectation for PORT from 172.26.84.10
	sk_expect_line "$1" | grep -q "src=$MPEG2_4 "
}

# alt_case TAG PORT SRC_PORT: the port is expected from the server and
# from 172.26.84.10, which sends N after the PLAY and N after a seek.
alt_case() {
	local t=$1 p
	sk_client "$t" "$NS_DEC" "$2" play:0.000 play:600.000 teardown || return 1
	p=${SK_PORT[$t]}
	sk_check_expect "$t: after SETUP, from the server and from $MPEG2_4" "$p" 2
	check "$t: ... one of them from $MPEG2_4" from_alt "$p"
	sk_act "$t"
	sk_burst "$t: PLAY, $MPEG2_4 sends" "$t" "$NS_MPEG2" "$MPEG2_4" "$3" $N $N
	sk_check_no_expect "$t: its flow used both expectations up" "$p"
	sk_act "$t"
	sk_check_expect "$t: after the seek, from both again" "$p" 2
	sk_burst "$t: after the seek, $MPEG2_4 from a new source port" "$t" \
		"$NS_MPEG2" "$MPEG2_4" $(($3 + 2)) $N $N
	sk_act "$t"
	sk_check_no_expect "$t: after TEARDOWN" "$p"
	sk_end "$t"
}

# control_case TAG PORT SRC_PORT: one expectation, the server's; N from
# 172.26.84.10 are dropped, the server's N arrive.
control_case() {
	local t=$1 p
	sk_client "$t" "$NS_DEC" "$2" play:0.000 teardown || return 1
	p=${SK_PORT[$t]}
	sk_check_expect "$t: after SETUP, from the server only" "$p" 1
	sk_act "$t"
	sk_burst "$t: control, $MPEG2_4 sends" "$t" "$NS_MPEG2" "$MPEG2_4" "$3" $N 0
	sk_burst "$t: the server sends" "$t" "$NS_VOD" "$VOD4" "$3" $N $N
	sk_act "$t"
	sk_end "$t"
}

echo "--- the SETUP reply names source=$MPEG2_4"
echo ";source=$MPEG2_4" >"$EXTRA"
alt_case src 27336 48440
echo "--- control: no source= in the reply"
rm -f "$EXTRA"
control_case nosrc 27338 48450

echo "--- the SETUP URL names $MPEG2_4"
SK_SETUP_URI=rtsp://$MPEG2_4/vod alt_case url 27340 48460
echo "--- control: the SETUP URL names a host by name"
SK_SETUP_URI=rtsp://mpeg2.example/vod control_case name 27342 48470

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
