#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What a session waits for, and nothing after its end (issue 15).
#
# Through the NAT router (nft helper rule) the decoder sets up
# client_port=27336: conntrack -L expect and /proc/net/nf_conntrack_expect
# show the port's expectation, and rtsp-conntrack-status lists it. PLAY:
# the MPEG server 172.26.83.137 sends N, its flow uses the expectation up.
# A new sender without a PLAY (the outsider 10.99.0.5, then another MPEG
# server, 172.26.84.10) gets 0: by design only a PLAY arms the port again
# (media_source=any would otherwise let any host in at any time). A seek
# (PLAY npt=600): the port is expected again, also in rtsp-conntrack-status;
# N from 172.26.84.10 arrive (2N in all). Another seek (PLAY npt=1200)
# arms it again, then TEARDOWN: the expectation is gone (netlink and
# /proc), and a new sender, the last sender and the first one each get 0.
#
# A second session (client_port=27338) plays (N arrive), seeks (the port
# is expected again) and ends its control connection without TEARDOWN;
# the router's conntrack of it is deleted (what its timeout does): the
# expectation is gone and a new sender gets 0.
#
# Controls: without the TEARDOWN fix of issue 15 (rtsp_media_end() ending
# only an EXPECTED media's expectation) the re-armed expectation outlives
# the TEARDOWN and "after TEARDOWN, a new sender" FAILs (40 arrive);
# without the end of the sender's flow before the last at TEARDOWN,
# "after TEARDOWN, the first sender" FAILs; without the PLAY re-arm, "after the
# seek" FAILs.

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
STATUS=$(cd "$E2E_DIR/../../scripts" && pwd)/rtsp-conntrack-status

rb_setup_nat
check "second MPEG server $MPEG2_4" topo_mpeg2 || e2e_exit
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

# shellcheck disable=SC2317 # called through check
status_shows() {	# status_shows PORT: rtsp-conntrack-status lists its expectation
	nse "$NS_RTR" "$STATUS" >"$E2E_WORK/status.out" 2>&1
	grep -Eq "dport=$1 .*helper=rtsp" "$E2E_WORK/status.out"
}

echo "--- TEARDOWN"
if sk_client td "$NS_DEC" 27336 play:0.000 play:600.000 play:1200.000 teardown; then
	p=${SK_PORT[td]}
	sk_check_expect "td: after SETUP" "$p"
	check "td: rtsp-conntrack-status lists it" status_shows "$p"
	sk_act td
	sk_burst "td: PLAY" td "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_check_no_expect "td: the first flow used the expectation up" "$p"
	# Other source ports than later: a dropped datagram leaves a conntrack
	# (to the router itself) that its 5-tuple follows until it times out.
	sk_burst "td: a new sender without a PLAY (outsider)" td "$NS_OUT" "$OUT4" 48441 $N 0
	sk_burst "td: a new sender without a PLAY (another server)" td "$NS_MPEG2" "$MPEG2_4" 48441 $N 0
	sk_act td
	sk_check_expect "td: after the seek to npt=600" "$p"
	check "td: rtsp-conntrack-status lists it after the seek" status_shows "$p"
	sk_burst "td: after the seek to npt=600, another server" td "$NS_MPEG2" "$MPEG2_4" 48440 $N $N
	check_eq "td: the decoder has all 2N=$((2 * N)) datagrams" $((2 * N)) "$(sk_got td)"
	sk_act td
	sk_check_expect "td: after the seek to npt=1200" "$p"
	sk_act td
	sk_check_no_expect "td: after TEARDOWN" "$p"
	check "td: ... nor in /proc/net/nf_conntrack_expect" eval "! sk_expect_proc $p"
	sk_burst "td: after TEARDOWN, a new sender" td "$NS_OUT" "$OUT4" 48440 $N 0
	sk_burst "td: after TEARDOWN, the last sender" td "$NS_MPEG2" "$MPEG2_4" 48440 $N 0
	sk_burst "td: after TEARDOWN, the first sender" td "$NS_MPEG" "$MPEG4" 48440 $N 0
	sk_end td
fi

echo "--- the control connection ends without TEARDOWN"
if sk_client cl "$NS_DEC" 27338 play:0.000 play:600.000 close; then
	p=${SK_PORT[cl]}
	sk_act cl
	sk_burst "cl: PLAY" cl "$NS_MPEG" "$MPEG4" 48450 $N $N
	sk_act cl
	sk_check_expect "cl: after the seek" "$p"
	sk_act cl
	nse "$NS_RTR" conntrack -D -p tcp --orig-src "$DEC4" --orig-port-dst 554 >/dev/null 2>&1
	sk_check_no_expect "cl: after the connection's end" "$p"
	sk_burst "cl: after the connection's end, a new sender" cl "$NS_MPEG2" "$MPEG2_4" 48450 $N 0
	sk_end cl
fi

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
