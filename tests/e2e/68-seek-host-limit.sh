#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# max_per_host counts what a session holds, once (issue 15).
#
# Through the NAT router (nft helper rule), nf_conntrack_rtsp loaded with
# media_source=server; the VoD manager 172.26.22.10 is the RTSP server.
#   mph      max_per_host=2: session 1's SETUP reply names
#            source=172.26.84.10 (two expectations, one port), then
#            session 2 of the same decoder is expected (1 + 1 <= 2), and
#            session 3 is not (2 + 1 > 2): behind NAT its SETUP is held
#            back (dropped) until session 2's TEARDOWN, then TCP's next
#            copy of it is expected.
#   mphA/B   max_per_host=1: session A's stream flows (its expectation
#            used up), a GET_PARAMETER keep-alive (A's connection leaves
#            the per-host index), A seeks (its port expected again: the
#            connection must be counted again), and session B
#            of the same decoder is not expected (1 + 1 > 1): what a PLAY
#            expects again counts.  B's SETUP passes once A has ended.
# Controls: with max_per_host counting every expectation (not every
# port), "mph: session 2" FAILs; with a re-arm that leaves its connection
# out of the per-host index (it left when A's flow used its expectation
# up), "mph: session B" FAILs; 53 has max_per_host against a SETUP flood.

# shellcheck disable=SC2317 # functions called through check
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
# shellcheck source=lib_seek.sh
. "$(dirname "$0")/lib_seek.sh"

require_cmd ip nft conntrack nsenter sysctl "$PY"
load_rtsp_modules
now_ms T0
N=40
EXTRA=$E2E_WORK/reply.extra
MPH=/sys/module/nf_conntrack_rtsp/parameters/max_per_host

# drops: the router's log lines of a SETUP over max_per_host dropped
drops() {
	dmesg | grep -cF "client holds max_per_host expectations (SETUP not expected) on a connection from $DEC4"
}
dropped_since() {
	[ "$(drops)" -gt "$1" ]
}

rb_setup_nat
COST=$(sysctl -n net.core.message_cost)
check "net_ratelimit off (net.core.message_cost=0)" sysctl -qw net.core.message_cost=0
on_exit "sysctl -qw net.core.message_cost=$COST"
check "reload nf_conntrack_rtsp with media_source=server" sk_policy server || e2e_exit
check "raw RTSP server on the VoD manager" rb_server --reply-append "$EXTRA" || e2e_exit

echo "--- max_per_host=2 counts a session's port once"
check "max_per_host=2" eval "echo 2 >$MPH"
on_exit "echo 32 >$MPH"
echo ";source=$MPEG2_4" >"$EXTRA"
if sk_client mph1 "$NS_DEC" 27350 teardown; then
	sk_check_expect "mph: session 1, from the server and from $MPEG2_4" "${SK_PORT[mph1]}" 2
	rm -f "$EXTRA"
	if sk_client mph2 "$NS_DEC" 27352 teardown; then
		sk_check_expect "mph: session 2 of the same decoder is expected (1 + 1 <= 2)" \
			"${SK_PORT[mph2]}" 1
		l0=$(drops)
		sk_client_start mph3 "$NS_DEC" 27354 teardown
		sk_held "mph: session 3 is not (2 + 1 > 2)" mph3 27354 "dropped_since $l0"
		sk_act mph2
		sk_end mph2
		if sk_setup_wait mph3 60000; then
			sk_check_expect "mph: session 2 gone, session 3's SETUP sent again is expected (1 + 1 <= 2)" \
				"${SK_PORT[mph3]}" 1
			sk_act mph3
		fi
		sk_end mph3
	fi
	sk_act mph1
	sk_end mph1
fi

echo "--- max_per_host=1 counts a port the PLAY expects again"
rm -f "$EXTRA"
check "max_per_host=1" eval "echo 1 >$MPH"
if sk_client mphA "$NS_DEC" 27360 play:0.000 get play:600.000 teardown; then
	sk_act mphA
	sk_burst "mph: session A plays, the server sends" mphA "$NS_VOD" "$VOD4" 48480 $N $N
	sk_check_no_expect "mph: A's flow used its expectation up" "${SK_PORT[mphA]}"
	# A keep-alive: its packets see that A's connection expects nothing
	# any more, and take it out of the per-host index.
	sk_act mphA
	sk_act mphA
	sk_check_expect "mph: A's seek expects its port again" "${SK_PORT[mphA]}" 1
	l0=$(drops)
	sk_client_start mphB "$NS_DEC" 27362 teardown
	sk_held "mph: session B of the same decoder is not expected (1 + 1 > 1)" mphB 27362 \
		"dropped_since $l0"
	sk_act mphA
	sk_end mphA
	if sk_setup_wait mphB 60000; then
		sk_check_expect "mph: A gone, B's SETUP sent again is expected" "${SK_PORT[mphB]}" 1
		sk_act mphB
	fi
	sk_end mphB
fi

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
