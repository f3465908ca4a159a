#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Media flows that outlive their control connection (issue 16), through
# the NAT router.
#
# When an RTSP connection ends while its streams go on, each live flow
# keeps its router port (an "orphan" record): another session's stream
# from the same sender would otherwise join it. A LAN host could make
# thousands of them and take every record, so that other hosts' flows
# lose their ports: records are capped per group of client hosts (256).
# A flow that finds no room is ended, not left to live without its port.
#
#   quota  decoder 2 (max_per_host=0) sets up 36 connections of 8 ports
#          each, 9 at a time, and the MPEG server starts a flow to each
#          of their ports;
#          the router's conntracks of the 36 connections are deleted:
#          256 flows live on (their ports held), 32 are ended, and the
#          log says why; decoder 1's session afterwards gets its stream
#
# Before the fix, all 288 lived on (the cap was 4096 for all hosts).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

W=$E2E_WORK
SRV=172.26.22.11
P=/sys/module/nf_conntrack_rtsp/parameters
CONNS=36
SPECS=8
BASE=33000
N=$((CONNS * SPECS))
QUOTA=256

rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit
# The flows must outlive the test's steps (unreplied UDP: 30 s).
nse "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600

flows() {	# flows: media flows to decoder 2 (children of its RTSP connections)
	nse "$NS_RTR" conntrack -L -p udp -s "$MPEG4" 2>/dev/null |
		grep -E "dport=(3[3-4][0-9]{3}) " | grep -c "src=$DEC2_4 "
}

# In batches of 9 connections (72 ports): the expectation table need not
# hold them all at once.
echo 0 >$P/max_per_host
for ((b = 0; b < CONNS / 9; b++)); do
	base=$((BASE + b * 9 * SPECS * 2))
	rb_flood "q$b" --server "$SRV" --conns 9 --setups 1 --specs "$SPECS" \
		--port-base "$base"
	# shellcheck disable=SC2016 # expanded by eval
	busywait 30000 eval '[ "$(rb_expect_count "master-src=$DEC2_4 ")" -ge 72 ]' >/dev/null
	n=$(rb_expect_count "master-src=$DEC2_4 ")
	check_eq "quota: batch $b: decoder 2's 72 ports are expected" 72 "$n"
	# One datagram to each port: a flow each, their expectations used up.
	# shellcheck disable=SC2016 # expanded by the inner bash
	nse "$NS_MPEG" bash -c 'for ((p = $2; p < $2 + 2 * $3; p += 2)); do
		printf media >"/dev/udp/$1/$p"; done' send "$RTR_WAN4" "$base" 72
	# shellcheck disable=SC2016 # expanded by eval
	busywait 30000 eval '[ "$(rb_expect_count "master-src=$DEC2_4 ")" -eq 0 ]' >/dev/null
done
check_eq "quota: the $N flows started" "$N" "$(flows)"
dmesg -c >/dev/null
nse "$NS_RTR" conntrack -D -p tcp -s "$DEC2_4" --dport 554 >/dev/null 2>&1
# shellcheck disable=SC2016 # expanded by eval
busywait 20000 eval '[ "$(flows)" -le "$QUOTA" ]' >/dev/null
live=$(flows)
info "quota: $live flows live on after their control connections went"
check_eq "quota: $QUOTA of the $N flows live on, their ports held" "$QUOTA" "$live"
check "quota: the log says why the others ended" \
	eval "dmesg | grep -q \"outlive their RTSP connection (flow ended)\""
for ((b = 0; b < CONNS / 9; b++)); do touch "$W/q$b.stop"; done
echo 32 >$P/max_per_host

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
