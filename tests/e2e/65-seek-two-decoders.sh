#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two decoders on the same client_port seek at once: each keeps its own
# stream (issue 15).
#
# Through the NAT router (nft helper rule) decoder A (192.168.1.200) and
# then decoder B (192.168.1.201) set up client_port=27336: B gets another
# router port. Both play; the MPEG server 172.26.83.137 sends A's NA=40
# and B's NB=30 at the same time, both from its one source port 5000.
# Both seek at once (PLAY "Range: npt=600-end"), and another MPEG server,
# 172.26.84.10, sends the next NA and NB at the same time, again both from
# source port 5000. A must have exactly 2 NA, B exactly 2 NB (a stream
# that went to the wrong decoder shows in both counts), and the router one
# flow per stream from 172.26.84.10:5000, each to its own decoder.
#
# Control: without the PLAY re-arm (rtsp_rearm() a no-op) the second
# server's streams are dropped: the checks after the seek FAIL (A NA, B
# NB, no such flows); 57 has A and B without a seek.

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
NA=40
NB=30

rb_setup_nat
check "second MPEG server $MPEG2_4" topo_mpeg2 || e2e_exit
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

# both NS ADDR TAG: NA datagrams to A and NB to B at the same time, both
# from ADDR:5000 in NS; then wait for the counts A=WANT_A, B=WANT_B.
both() {
	local pa pb
	sk_media "$1" 5000 A $NA "A.$3"
	pa=$SK_MEDIA_PID
	sk_media "$1" 5000 B $NB "B.$3"
	pb=$SK_MEDIA_PID
	wait "$pa" "$pb"
	busywait 5000 eval "rb_udp_ge $E2E_WORK/A.udp 27336 $WANT_A && rb_udp_ge $E2E_WORK/B.udp 27336 $WANT_B" >/dev/null
	nap 0.5
}

check "decoder A: SETUP client_port=27336" sk_client A "$NS_DEC" 27336 play:0.000 play:600.000 teardown ||
	e2e_exit
check "decoder B: SETUP client_port=27336" sk_client B "$NS_DEC2" 27336 play:0.000 play:600.000 teardown ||
	e2e_exit
check "B got another router port (A ${SK_PORT[A]}, B ${SK_PORT[B]})" \
	test "${SK_PORT[A]}" != "${SK_PORT[B]}"

sk_act A B
WANT_A=$NA WANT_B=$NB both "$NS_MPEG" "$MPEG4" mpeg
check_eq "PLAY: A received its $NA" $NA "$(sk_got A)"
check_eq "PLAY: B received its $NB" $NB "$(sk_got B)"

sk_act A B
WANT_A=$((2 * NA)) WANT_B=$((2 * NB)) both "$NS_MPEG2" "$MPEG2_4" mpeg2
nse "$NS_RTR" conntrack -L -p udp --orig-src "$MPEG2_4" --orig-port-src 5000 >"$E2E_WORK/flows" 2>/dev/null
check_eq "after both seeks: A received exactly its own 2x$NA" $((2 * NA)) "$(sk_got A)"
check_eq "after both seeks: B received exactly its own 2x$NB" $((2 * NB)) "$(sk_got B)"
check "router: flow $MPEG2_4:5000 -> port ${SK_PORT[A]} goes to A ($DEC4:27336)" \
	grep -Eq "sport=5000 dport=${SK_PORT[A]} .*src=$DEC4 dst=$MPEG2_4 sport=27336 " "$E2E_WORK/flows"
check "router: flow $MPEG2_4:5000 -> port ${SK_PORT[B]} goes to B ($DEC2_4:27336)" \
	grep -Eq "sport=5000 dport=${SK_PORT[B]} .*src=$DEC2_4 dst=$MPEG2_4 sport=27336 " "$E2E_WORK/flows"
[ "$_n_fail" -eq 0 ] || { cat "$E2E_WORK/flows"; sk_flows_dump; } | sed 's/^/    /'

sk_act A B
sk_end A
sk_end B

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
