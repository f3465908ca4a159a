#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Limits on expectations, through the NAT router.
#
# A. max_outstanding (default 8): 20 SETUPs with different ports on one
#    control connection leave exactly the 8 newest expectations, each with
#    the default setup_timeout (~300 s).
# B. Reloaded with setup_timeout=5 max_outstanding=4: 6 SETUPs (in one
#    segment) leave the 4 newest, with a timeout of at most 5 s, and they
#    are gone a few seconds later without any traffic.
# C. Flood: decoder 2 opens 20 connections with 8 SETUPs each (160 ports
#    wanted): its expectations must stay within max_per_host (default 32 =
#    4 x max_outstanding). Then, from none, 31 single-port SETUPs and one
#    SETUP with 8 RTP/RTCP transport specs: still within the bound. The
#    other decoder must still get its expectation and its whole Movistar
#    stream (vod_session).
#    Control first: with max_per_host=0 (no bound) the same flood fills
#    the expectation table (nf_conntrack_expect_max) and a SETUP of the
#    other decoder gets no expectation.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

W=$E2E_WORK
FLOOD_SRV=172.26.22.11
U=rtsp://$FLOOD_SRV/vod
P=/sys/module/nf_conntrack_rtsp/parameters

rb_setup_nat
router_count_udp 27336
# The flood's server listens on a second address of the VoD manager, so
# that vod_session can have $VOD4:554.
ip -n "$NS_VOD" addr add "$FLOOD_SRV/24" dev eth0
check "raw RTSP server on $FLOOD_SRV" eval "RB_SRV_BIND=$FLOOD_SRV rb_server" || e2e_exit

setup() {	# setup CSEQ PORT: a SETUP as a JSON string
	printf '"SETUP %s RTSP/1.0\\r\\nCSeq: %s\\r\\nTransport: MP2T/H2221/UDP;unicast;client_port=%s\\r\\nUser-Agent: MICA-IP-STB\\r\\n\\r\\n"' \
		"$U" "$1" "$2"
}

{
	echo "[{\"connect\": \"$FLOOD_SRV\"},"
	for i in $(seq 0 19); do
		echo "{\"send\": [$(setup $((i + 1)) $((20000 + 2 * i)))]}, {\"recv\": 1},"
	done
	echo "{\"touch\": \"$W/a.done\"}, {\"wait\": \"$W/b.go\"}, {\"close\": 1},"
	echo "{\"connect\": \"$FLOOD_SRV\"},"
	# One send(): the 6 SETUPs are expected in the same instant.
	echo "{\"send\": [$(for i in $(seq 0 5); do printf '%s,' "$(setup $((i + 1)) $((21000 + 2 * i)))"; done | sed 's/,$//')]}, {\"recv\": 6},"
	echo "{\"touch\": \"$W/b.done\"}, {\"wait\": \"$W/c0.go\"}, {\"close\": 1},"
	echo "{\"connect\": \"$FLOOD_SRV\"},"
	echo "{\"send\": [$(setup 1 27400)]}, {\"recv\": 1, \"timeout\": 2, \"may_fail\": true},"
	echo "{\"touch\": \"$W/c0.done\"}, {\"wait\": \"$W/c1.go\"}, {\"close\": 1}]"
} >"$W/dec.json"

rb_client dec "$NS_DEC" ""
DEC=$RB_CLI_PID

mine() {	# mine HOST: expectations whose master comes from HOST
	rb_expect_count "master-src=$1 "
}
ports_of() {	# ports_of HOST: their UDP ports, sorted
	rb_expect | grep "master-src=$1 " |
		sed -n 's/.*proto=17 .* dport=\([0-9]*\) mask.*/\1/p' | sort -n | xargs
}
gate() {	# gate FILE [PID NAME]: client NAME (decoder 1's) reached FILE
	local pid=${2:-$DEC} name=${3:-dec}
	rb_gate "$W/$1" "$pid" 60000 && return 0
	fail "client $name reached $1" "$(cat "$W/$name.out" "$W/$name.err")"
	e2e_exit
}

info "t=$(rb_elapsed "$T0")s"
# --- A: max_outstanding -------------------------------------------------------------
gate a.done
check_eq "max_outstanding=8: 20 SETUPs on one connection leave 8 expectations" \
	8 "$(mine "$DEC4")"
check_eq "max_outstanding: the 8 newest ports remain (oldest evicted)" \
	"$(seq -s ' ' 20024 2 20038)" "$(ports_of "$DEC4")"
t=$(rb_expect | awk '/dport=20038 /{ print $1; exit }')
check "default setup_timeout: expectation timeout ~300 s (${t}s)" \
	test "${t:-0}" -gt 250

info "t=$(rb_elapsed "$T0")s"
# --- B: setup_timeout expiry --------------------------------------------------------
check "reload: setup_timeout=5 max_outstanding=4" \
	rb_reload_modules setup_timeout=5 max_outstanding=4
check_eq "reload removed every expectation" 0 "$(rb_expect_total)"
touch "$W/b.go"
gate b.done
now_ms B0
rb_expect >"$W/b.txt"
check_eq "max_outstanding=4: 6 SETUPs leave the 4 newest ports" \
	"21004 21006 21008 21010" \
	"$(grep "master-src=$DEC4 " "$W/b.txt" | sed -n 's/.*dport=\([0-9]*\) mask.*/\1/p' | sort -n | xargs)"
t=$(awk '{ print $1; exit }' "$W/b.txt")
check "setup_timeout=5: expectation timeout at most 5 s (${t:-none})" \
	test "${t:-99}" -le 5
busywait 15000 rb_expect_zero >/dev/null
life=$(rb_elapsed "$B0")
check "setup_timeout=5: the expectations expired without traffic (${life}s after SETUP)" \
	rb_expect_zero

info "t=$(rb_elapsed "$T0")s"
# --- C0: control without max_per_host ----------------------------------------------
# The table's size follows the VM's memory (1 GiB: 128, 2 GiB: 1024):
# fix it, so that the flood below fills it whatever the memory.
sysctl -qw net.netfilter.nf_conntrack_expect_max=128
EXPECT_MAX=$(sysctl -n net.netfilter.nf_conntrack_expect_max)
check "reload with defaults, then max_per_host=0 (no bound)" \
	eval "rb_reload_modules && echo 0 >$P/max_per_host"
flood() {	# flood TAG ARGS...: decoder 2 floods $FLOOD_SRV; waits for it
	rm -f "$W/$1.ready"
	bg nse "$NS_DEC2" "$PY" "$RAW" flood --server "$FLOOD_SRV" --settle 1.5 \
		--ready "$W/$1.ready" --hold-file "$W/$1.stop" "${@:2}" >"$W/$1.out"
	rb_gate "$W/$1.ready" "$BG_PID" 90000
}
flood f0 --conns 20 --setups 8 --port-base 30000
held=$(mine "$DEC2_4")
info "control flood: $(cat "$W/f0.out"); decoder 2 holds $held expectations, table $(rb_expect_total)/$EXPECT_MAX"
check "control: without max_per_host the flood fills the table ($held >= $EXPECT_MAX - 1)" \
	test "$held" -ge $((EXPECT_MAX - 1))
touch "$W/c0.go"
gate c0.done
check "control: the other decoder's SETUP gets no expectation (table full)" \
	eval "! rb_expect_port 27400"
touch "$W/f0.stop"

info "t=$(rb_elapsed "$T0")s"
# --- C1/C2: flood within max_per_host ---------------------------------------------------
check "reload with defaults (max_per_host back to its default)" \
	eval "rb_reload_modules && [ \"\$(cat $P/max_per_host)\" -gt 0 ]"
BOUND=$(cat $P/max_per_host)
MAXOUT=$(cat $P/max_outstanding)
check_eq "max_per_host is 4 x max_outstanding" $((4 * MAXOUT)) "$BOUND"
flood f1 --conns 20 --setups 8 --port-base 30000
held=$(mine "$DEC2_4")
info "flood 1: $(cat "$W/f1.out"); decoder 2 holds $held expectations, table $(rb_expect_total)/$EXPECT_MAX"
check "flood of 160 single-port SETUPs: decoder 2 holds $held <= $BOUND expectations" \
	test "$held" -le "$BOUND"
check "flood: decoder 2 still got expectations (the bound is not zero): $held" \
	test "$held" -ge $((BOUND / 2))
# Just under the bound, then one SETUP with 8 RTP/RTCP specs: every port
# of every spec counts, so the SETUP may add at most one port (none: behind
# NAT a SETUP whose specs cannot all be taken is dropped).
nse "$NS_RTR" conntrack -D -p tcp -s "$DEC2_4" --dport 554 >/dev/null 2>&1
check_eq "flood 1's connections deleted: decoder 2 holds no expectation" 0 "$(mine "$DEC2_4")"
flood f2 --conns $((BOUND - 1)) --setups 1 --final-specs 8 --port-base 40000
held=$(mine "$DEC2_4")
info "flood 2: $(cat "$W/f2.out"); decoder 2 holds $held expectations, table $(rb_expect_total)/$EXPECT_MAX"
check "$((BOUND - 1)) SETUPs then one with 8 RTP/RTCP specs: decoder 2 holds $held <= $BOUND" \
	test "$held" -le "$BOUND"

# --- C3: at the bound, a connection that goes takes its share with it ----------------
# Decoder 2 fills up to the bound on a new connection, one more SETUP gets
# nothing; then one flood connection is deleted, and the next SETUP is
# expected.
fill=$((BOUND - held))
{
	echo "[{\"connect\": \"$FLOOD_SRV\"},"
	for i in $(seq 1 "$fill"); do
		echo "{\"send\": [$(setup "$i" $((27500 + 2 * i)))]}, {\"recv\": 1},"
	done
	echo "{\"touch\": \"$W/d1.done\"}, {\"wait\": \"$W/d2.go\"},"
	echo "{\"send\": [$(setup 100 27600)]}, {\"recv\": 1, \"timeout\": 8, \"may_fail\": true},"
	echo "{\"touch\": \"$W/d2.done\"}, {\"wait\": \"$W/d3.go\"},"
	echo "{\"recv\": 1, \"timeout\": 100},"
	echo "{\"touch\": \"$W/d3.done\"}, {\"wait\": \"$W/c1.go\"}, {\"close\": 1}]"
} >"$W/dec2.json"
rb_client dec2 "$NS_DEC2" ""
DEC2=$RB_CLI_PID
gate d1.done "$DEC2" dec2
check_eq "decoder 2 filled up to max_per_host on one more connection" \
	"$BOUND" "$(mine "$DEC2_4")"
touch "$W/d2.go"
gate d2.done "$DEC2" dec2
check "at the bound: one more SETUP gets no expectation" eval "! rb_expect_port 27600"
# Behind NAT it is not passed on either (its port would not be the
# session's): the client's TCP sends it again until it is.
# The flood connection whose SETUP asked for port 40000 holds one.
sport=$(rb_expect | sed -n 's/.* dport=40000 .*master-dst=[^ ]* sport=\([0-9]*\) .*/\1/p')
check "found the flood connection holding port 40000 (sport ${sport:-none})" \
	test -n "$sport"
nse "$NS_RTR" conntrack -D -p tcp -s "$DEC2_4" --sport "${sport:-1}" --dport 554 >/dev/null 2>&1
check_eq "that connection deleted: decoder 2 holds one less" \
	$((BOUND - 1)) "$(mine "$DEC2_4")"
touch "$W/d3.go"
gate d3.done "$DEC2" dec2
check "then that SETUP, sent again, is answered and expected (the share went with the connection)" \
	rb_expect_port 27600
touch "$W/c1.go"

info "t=$(rb_elapsed "$T0")s: vod_session"
vod_session
vod_checks stream
info "decoder 2 held $(mine "$DEC2_4") expectations during the session; expect_max $EXPECT_MAX"
touch "$W/f1.stop" "$W/f2.stop"
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
