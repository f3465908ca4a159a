#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ctnetlink takes the helper away (issue 16, 2), through the NAT router.
#
# An update of a conntrack with CTA_HELP { CTA_HELP_NAME "" } (what a
# CAP_NET_ADMIN user may do, in its own network namespace too) removes
# the helper's expectations and clears the helper: its ->destroy never
# runs for that conntrack. Our state for the connection (1.4 KB, with the
# router ports it holds) must not stay behind for good:
#
#   port   decoder 1 sets up client_port=27500 (router port 27500 held
#          for its session); the helper is taken from its connection;
#          then decoder 2 sets up client_port=27500 on a new connection:
#          the server sees 27500 (the port was given back), not another
#   leak   decoder 2 opens N control connections, one SETUP each; the
#          helper is taken from all of them (their expectations go);
#          then N/2 + 10 new connections: the function tracer counts the
#          frees of connection state (rtsp_conn_free_rcu): at least N,
#          none of a connection still open with the helper
#   idle   decoder 2 opens K more connections, one SETUP each; the helper
#          is taken from all its connections; then no new connection
#          comes: the periodic collector frees their state anyway, within
#          its 10 s interval (plus the time it takes to reach them)
#
# Before the fix, "port" gets 27502 (27500 held by state nobody frees)
# and "leak" counts 0 frees; "idle" FAILs without the collector (0 frees
# until a new connection comes). SKIP of "leak" and "idle" without the
# function tracer.

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
UNHELP=$ROLES/ctnl_unhelp.py

rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit

tuples() {	# tuples SRC: original tuples of SRC's TCP connections to 554
	nse "$NS_RTR" conntrack -L -p tcp --orig-src "$1" --orig-port-dst 554 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] in seen) break
			seen[kv[1]] = kv[2]
		}
		if (seen["dport"] == 554)
			print seen["src"], seen["sport"], seen["dst"], seen["dport"]
		delete seen }'
}
helped() {	# helped SRC: SRC's connections to 554 that have the helper
	nse "$NS_RTR" conntrack -L -p tcp --orig-src "$1" --orig-port-dst 554 2>/dev/null |
		grep -c 'helper=rtsp'
}
mine() {	# mine SRC: expectations whose master is SRC's
	rb_expect | grep -c "master-src=$1 "
}
client_port() {	# client_port CONN: client_port= of connection CONN's SETUP at the server
	grep "\"conn\": $1," "$W/raw.log" | grep -o 'client_port=[0-9]*' | head -n1 |
		cut -d= -f2
}

# --- port ------------------------------------------------------------------------------
"$PY" - "$W" "$SRV" "$DEC4" >"$W/d1.json" <<'EOF'
import json, sys
w, srv, name = sys.argv[1], sys.argv[2], "d1"
setup = ("SETUP rtsp://%s/vod RTSP/1.0\r\nCSeq: 1\r\nTransport: MP2T/H2221/UDP;"
         "unicast;client_port=27500\r\n\r\n" % srv)
print(json.dumps([{"connect": srv}, {"send": [setup]}, {"recv": 1, "timeout": 10},
                  {"touch": "%s/gate.%s" % (w, name)},
                  {"wait": "%s/go.%s" % (w, name)}, {"close": 1}]))
EOF
sed 's/d1/d2/g' "$W/d1.json" >"$W/d2.json"
rb_client d1 "$NS_DEC" ""
D1=$RB_CLI_PID
check "port: decoder 1's SETUP answered" rb_gate "$W/gate.d1" "$D1" 60000
check_eq "port: the server sees decoder 1's client_port=27500" 27500 "$(client_port 1)"
check_eq "port: decoder 1's connection has the helper" 1 "$(helped "$DEC4")"
out=$(tuples "$DEC4" | nse "$NS_RTR" "$PY" "$UNHELP")
check_eq "port: ctnetlink took the helper away from it" "ok 1 failed 0" "$out"
check_eq "port: its connection has no helper any more" 0 "$(helped "$DEC4")"
check_eq "port: its expectation went with it" 0 "$(mine "$DEC4")"
rb_client d2 "$NS_DEC2" ""
D2=$RB_CLI_PID
check "port: decoder 2's SETUP answered" rb_gate "$W/gate.d2" "$D2" 60000
check_eq "port: decoder 2 gets router port 27500 (given back with the state)" 27500 \
	"$(client_port 2)"
touch "$W/go.d1" "$W/go.d2"

# --- leak ------------------------------------------------------------------------------
N=${HELPER_TAKEN_CONNS:-100}
echo 0 >$P/max_per_host
# Decoder 2's connection of "port" goes: only the flood's are counted.
nse "$NS_RTR" conntrack -D -p tcp -s "$DEC2_4" --dport 554 >/dev/null 2>&1
# shellcheck disable=SC2016 # expanded by eval
busywait 20000 eval '[ -z "$(tuples "$DEC2_4")" ]' >/dev/null
rb_flood a --server "$SRV" --conns "$N" --setups 1 --port-base 30000
held=$(mine "$DEC2_4")
info "flood: $(cat "$W/a.out"); decoder 2 holds $held expectations"
check "leak: $N connections of decoder 2 hold expectations ($held)" test "$held" -ge $((N * 3 / 4))
# The tracer counts from before the helper goes: the periodic collector
# may free some at once.
mountpoint -q $T || mount -t tracefs nodev $T 2>/dev/null
fn=$(grep -o '^rtsp_conn_free_rcu[^ ]*' $T/available_filter_functions 2>/dev/null | head -n1)
tracing=0
[ -n "$fn" ] && echo "$fn" >$T/set_ftrace_filter 2>/dev/null &&
	echo function >$T/current_tracer 2>/dev/null && tracing=1
echo >$T/trace 2>/dev/null
out=$(tuples "$DEC2_4" | nse "$NS_RTR" "$PY" "$UNHELP")
check_eq "leak: ctnetlink took the helper away from the $N" "ok $N failed 0" "$out"
check_eq "leak: their expectations went with it" 0 "$(mine "$DEC2_4")"

if [ "$tracing" = 0 ]; then
	skip "leak: the state of connections that lost the helper is freed" \
		"no function tracer, or rtsp_conn_free_rcu() inlined"
else
	M=$((N / 2 + 10))
	rb_flood b --server "$SRV" --conns "$M" --setups 1 --port-base 31000
	check_eq "leak: the $M new connections have the helper" "$M" "$(helped "$DEC2_4")"
	# shellcheck disable=SC2016 # expanded by eval
	busywait 10000 eval '[ "$(grep -c "$fn" $T/trace)" -ge "$N" ]' >/dev/null
	frees=$(grep -c "$fn" $T/trace)
	echo nop >$T/current_tracer
	info "frees of connection state during the $M new connections: $frees"
	check "leak: the state of the $N that lost the helper was freed ($frees frees)" \
		test "$frees" -ge "$N"
	check "leak: no more than that ($frees <= $N + 2: no live connection's)" \
		test "$frees" -le $((N + 2))
	check "leak: the new connections' SETUPs are expected" rb_expect_port 31000

	K=20
	rb_flood c --server "$SRV" --conns $K --setups 1 --port-base 32000
	n=$(helped "$DEC2_4")
	echo function >$T/current_tracer
	echo >$T/trace
	tuples "$DEC2_4" >"$W/idle.tuples"
	out=$(nse "$NS_RTR" "$PY" "$UNHELP" <"$W/idle.tuples")
	check_eq "idle: ctnetlink took the helper away from decoder 2's connections ($n with it)" \
		"ok $(wc -l <"$W/idle.tuples") failed 0" "$out"
	check_eq "idle: none has it any more" 0 "$(helped "$DEC2_4")"
	now_ms T1
	# shellcheck disable=SC2016 # expanded by eval
	busywait 40000 eval '[ "$(grep -c "$fn" $T/trace)" -ge "$n" ]' >/dev/null
	now_ms T2
	frees=$(grep -c "$fn" $T/trace)
	echo nop >$T/current_tracer
	echo >$T/set_ftrace_filter
	info "idle: $frees frees in $(((T2 - T1) / 1000)) s with no new connection"
	check "idle: the state of the $n that lost the helper was freed with no new connection ($frees frees)" \
		test "$frees" -ge "$n"
fi
touch "$W/a.stop" "$W/b.stop" "$W/c.stop"
nse "$NS_RTR" conntrack -D -p tcp -s "$DEC2_4" --dport 554 >/dev/null 2>&1
echo 32 >$P/max_per_host

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
