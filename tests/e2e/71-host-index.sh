#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The max_per_host index (issue 16, 2), through the NAT router.
#
# A. Idle connections leave the index. With max_per_host=0, decoder 2
#    opens 120 control connections with one SETUP each and keeps them
#    open, idle; the MPEG server sends to each port, using up every
#    expectation. Then, with max_per_host back at 32, two
#    SETUPs on new connections: the function tracer counts the calls of
#    rtsp_live_expectations() (one per connection of the bucket walked)
#    during each. The first may walk the 120 (it drops them from the
#    index); the second must walk a handful. Before: each SETUP walked
#    all 120, for as long as they stayed open. SKIP without the function
#    tracer or if the compiler inlined the function.
# B. IPv6: a host has many addresses in its /64, and the LAN's hosts
#    share it. With max_per_host=8 and max_per_prefix6=32, decoder 2
#    opens 20 connections through NAT66 from one address, one SETUP
#    each: that address holds at most 8; then 40 more, each from another
#    address of the /64: together the /64 holds at most 32.
#    Before, each address was a host of its own (8 + 40); with the
#    first fix, the /64 was one host: 8 in all, whoever asked.
# Two SETUPs of one host passing the limit together need two CPUs in the
# same few instructions: not testable here (see 72-smp-stress).

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
T=/sys/kernel/tracing

rb_setup_nat
check "router: NAT66" router_nat66_nft || e2e_exit
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit
sysctl -qw net.netfilter.nf_conntrack_expect_max=4096

mine() {	# mine REGEX: expectations whose master matches REGEX (both families)
	{ rb_expect; nse "$NS_RTR" conntrack -L expect -f ipv6 2>/dev/null; } |
		grep -cE "master-src=$1"
}

# --- A: idle connections -------------------------------------------------------------
N=${HOST_IDLE_CONNS:-120}
echo 0 >$P/max_per_host
rb_flood a --server "$SRV" --conns "$N" --setups 1 --port-base 30000
held=$(mine "$DEC2_4 ")
info "flood: $(cat "$W/a.out"); decoder 2 holds $held expectations"
check "$N connections of decoder 2 hold expectations ($held)" test "$held" -ge $((N * 3 / 4))
# The MPEG server sends to each port: every expectation is used up.
# shellcheck disable=SC2016 # expanded by the inner bash
nse "$NS_MPEG" bash -c 'for ((p = 30000; p < 30000 + 2 * $2; p += 2)); do
	printf media >"/dev/udp/$1/$p"; done' spray "$RTR_WAN4" "$N"
# shellcheck disable=SC2016 # expanded by eval
busywait 30000 eval '[ "$(mine "$DEC2_4 ")" -eq 0 ]' >/dev/null
check_eq "the media used up every expectation: the $N connections are idle" 0 "$(mine "$DEC2_4 ")"
echo 32 >$P/max_per_host
info "t=$(rb_elapsed "$T0")s: tracing"
mountpoint -q $T || mount -t tracefs nodev $T 2>/dev/null
fn=$(grep -o '^rtsp_live_expectations[^ ]*' $T/available_filter_functions 2>/dev/null | head -n1)
calls() {	# calls TAG PORT: rtsp_live_expectations() calls during one SETUP, in $CALLS
	echo >$T/trace
	CALLS=-1
	rb_flood "$1" --server "$SRV" --conns 1 --setups 1 --port-base "$2" || return
	CALLS=$(grep -c "$fn" $T/trace)
}
if [ -z "$fn" ] || ! echo "$fn" >$T/set_ftrace_filter 2>/dev/null ||
	! echo function >$T/current_tracer 2>/dev/null; then
	skip "a SETUP walks only the connections holding expectations" \
		"no function tracer, or rtsp_live_expectations() inlined"
else
	calls s1 31000
	c1=$CALLS
	calls s2 31002
	c2=$CALLS
	echo nop >$T/current_tracer
	echo >$T/set_ftrace_filter
	info "calls of $fn: first SETUP after the $N idle ones: $c1, the next: $c2"
	check "the first SETUP was expected" rb_expect_port 31000
	check "the next SETUP walks a handful of connections, not the $N idle ones ($c2 calls)" \
		test "${c2:-999}" -ge 0 -a "${c2:-999}" -le 10
fi
touch "$W/a.stop" "$W/s1.stop" "$W/s2.stop"
nse "$NS_RTR" conntrack -D -p tcp -s "$DEC2_4" --dport 554 >/dev/null 2>&1
BOUND=$(cat $P/max_per_host)

# --- B: IPv6 /64 ---------------------------------------------------------------------
rm -f "$W/raw6.ready"
bg nse "$NS_VOD" "$PY" "$RAW" server --bind "$VOD6" --log "$W/raw6.log" --ready "$W/raw6.ready"
busywait 60000 file_or_dead "$W/raw6.ready" "$BG_PID" >/dev/null
check "raw RTSP server on $VOD6" test -e "$W/raw6.ready"
echo 8 >$P/max_per_host
echo 32 >$P/max_per_prefix6
ip -n "$NS_DEC2" -6 addr add fd00:1::2:100/64 dev eth0 nodad
rb_flood b1 --server "$VOD6" --bind fd00:1::2:100 --conns 20 --setups 1 --port-base 32000
held=$(mine "fd00:1::2:100 ")
info "IPv6, one address: $(cat "$W/b1.out"); it holds $held expectations"
check "20 connections of one address: $held expectations <= max_per_host (8)" \
	test "$held" -le 8
check "the address got expectations ($held >= 4)" test "$held" -ge 4
srcs=
for i in $(seq 1 40); do
	a=fd00:1::2:$(printf %x "$i")
	ip -n "$NS_DEC2" -6 addr add "$a/64" dev eth0 nodad
	srcs=$srcs${srcs:+,}$a
done
rb_flood b --server "$VOD6" --bind "$srcs" --conns 40 --setups 1 --port-base 32100
held=$(mine "fd00:1::")
info "IPv6, 40 more addresses: $(cat "$W/b.out"); the /64 holds $held expectations"
check "41 addresses of one /64: $held expectations <= max_per_prefix6 (32)" \
	test "$held" -le 32
check "the other addresses got their own ($held >= 24)" test "$held" -ge 24
echo "$BOUND" >$P/max_per_host
echo 128 >$P/max_per_prefix6
touch "$W/b.stop" "$W/b1.stop"
nse "$NS_RTR" conntrack -D -f ipv6 -p tcp --dport 554 >/dev/null 2>&1

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
