#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A pause longer than the UDP timeout, with no keep-alive at all, then
# PLAY: the same sender and a new one reach the decoder (issue 15).
#
# The router's UDP conntrack timeouts are 10 s (nf_conntrack_udp_timeout
# and _stream, in its namespace). Through the NAT router the decoder sets
# up client_port=27336 and plays; the MPEG server 172.26.83.137 sends N.
# PAUSE, and then nothing at all from the decoder (no UDP keep-alive, no
# RTSP request) until a witness flow started at the PAUSE (one UDP
# datagram from the decoder to 10.99.0.5:9) has timed out, i.e. more than
# 10 s: the session's flow must still be there (the PAUSE kept it for
# media_timeout, 600 s). PLAY "Range: npt=30-end": the port is expected
# again; N from the same sender (its flow), then N from another MPEG
# server (172.26.84.10, a new flow, let in by the PLAY), which does not
# end the first server's flow (the UDP timeout is 60 s by then: it is
# still there; a stray datagram must not end a stream, 69-seek-stray).
# TEARDOWN: nothing expected.
#
# Control, same test: media_timeout=0 (the PAUSE keeps nothing) and the
# same pause: the first flow is gone once the witness has timed out (so
# the check above is media_timeout's doing); the PLAY still brings the
# stream back, from the same sender through a new flow (the PLAY re-arm),
# and a second new sender after it is dropped (no PLAY since).

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
UDP_TIMEOUT=10
MT=/sys/module/nf_conntrack_rtsp/parameters/media_timeout

rb_setup_nat
check "second MPEG server $MPEG2_4" topo_mpeg2 || e2e_exit
check "router: UDP conntrack timeouts ${UDP_TIMEOUT}s" \
	nse "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=$UDP_TIMEOUT \
	net.netfilter.nf_conntrack_udp_timeout_stream=$UDP_TIMEOUT
check_eq "media_timeout is 600 (default)" 600 "$(cat "$MT")"
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

# shellcheck disable=SC2317 # witness is called through check/eval
witness() {	# witness: the decoder's UDP flow to the outsider's port 9 exists
	nse "$NS_RTR" conntrack -L -p udp --orig-dst "$OUT4" --orig-port-dst 9 2>/dev/null |
		grep -q .
}

# pause_case TAG PORT: SETUP, PLAY, N, PAUSE, nothing until the witness
# flow has timed out; then the PLAY (the acts after it are the caller's).
pause_case() {
	local t=$1
	sk_client "$t" "$NS_DEC" "$2" play:0.000 pause play:30.000 teardown || return 1
	sk_act "$t"
	sk_burst "$t: PLAY" "$t" "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_act "$t"
	now_ms P0
	nse "$NS_RTR" conntrack -D -p udp --orig-dst "$OUT4" --orig-port-dst 9 >/dev/null 2>&1
	rb_burst "$NS_DEC" "$OUT4" 9 1
	check "$t: witness flow (decoder -> $OUT4:9) created at the PAUSE" witness
	busywait $(((UDP_TIMEOUT + 20) * 1000)) eval '! witness' >/dev/null
	check "$t: witness flow timed out ($(rb_elapsed "$P0") s after the PAUSE, no request since)" \
		eval '! witness'
}

echo "--- PAUSE longer than the UDP timeout, no keep-alive, PLAY: same and new sender"
if pause_case pause 27336; then
	p=${SK_PORT[pause]}
	check "pause: after the pause the session's flow ($MPEG4:48440) is still there" \
		sk_flow_from "$MPEG4" 48440
	# Each datagram sets the flow's timeout to the UDP timeout: 60 s from
	# now on, so that the flow can only end by the new sender's.
	nse "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=60 \
		net.netfilter.nf_conntrack_udp_timeout_stream=60
	sk_act pause
	sk_check_expect "pause: after the PLAY the port is expected again" "$p"
	sk_burst "pause: PLAY after the pause, the same sender" pause "$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_burst "pause: then another server" pause "$NS_MPEG2" "$MPEG2_4" 48440 $N $N
	check_eq "pause: the decoder has all 3N=$((3 * N)) datagrams" $((3 * N)) "$(sk_got pause)"
	check "pause: the new sender's flow did not end the first server's (a stray datagram must not)" \
		sk_flow_from "$MPEG4" 48440
	sk_act pause
	sk_check_no_expect "pause: after TEARDOWN" "$p"
	sk_end pause
fi

echo "--- control: media_timeout=0, the same pause"
nse "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=$UDP_TIMEOUT \
	net.netfilter.nf_conntrack_udp_timeout_stream=$UDP_TIMEOUT
check "media_timeout=0" eval "echo 0 >$MT"
on_exit "echo 600 >$MT"
nse "$NS_RTR" conntrack -F >/dev/null 2>&1
if pause_case mt0 27338; then
	p=${SK_PORT[mt0]}
	check "mt0: after the pause the session's flow ($MPEG4:48440) has timed out" \
		eval "! sk_flow_from $MPEG4 48440"
	sk_act mt0
	sk_check_expect "mt0: after the PLAY the port is expected again" "$p"
	sk_burst "mt0: PLAY after the pause, the same sender (a new flow)" mt0 \
		"$NS_MPEG" "$MPEG4" 48440 $N $N
	sk_burst "mt0: then another server (no PLAY since)" mt0 "$NS_MPEG2" "$MPEG2_4" 48440 $N 0
	sk_act mt0
	sk_end mt0
fi

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
