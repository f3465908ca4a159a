#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two routers, one picture (issue 19): RTSP VoD across a router failover,
# keepalived (VRRP) moving the gateway and the shared WAN address,
# conntrackd (FTFW, dedicated link) replicating the connections and, with
# ExpectationSync { rtsp }, our expectations. The configuration is that
# of docs/ha/ (docs/ha.md), read here as written. Topology: lib_ha.sh.
# Three decoders ask for the same client_port=27336; the MPEG server
# sends every stream from its source port 5000, one datagram every 40 ms.
#
#  1. dec streams when A's LAN and WAN links go down: its stream goes on
#     through B (the gap measured, in datagrams and ms).
#  2. dec3 has sent its SETUP (an expectation waits) when A fails; its
#     PLAY and media come after the switch: B forwards them to dec3.
#  3. dec2 streams on the same client_port (another router port) across
#     the failover: each decoder keeps its own stream; on B a new SETUP
#     for 27336 gets a router port none of the carried-over flows holds.
#  4. On B: PAUSE/PLAY (dec), TEARDOWN and a new SETUP (dec2) work; after
#     the failback to A: dec's stream goes on (gap measured), PAUSE/PLAY
#     and TEARDOWN, and a new SETUP (dec3).
#  5. Controls, asserted to fail: conntrackd without ExpectationSync
#     (dec3's media after the switch does not arrive; A is a namespace
#     that is gone this time) and no conntrackd at all (dec's stream
#     stops at the switch).
#
# Three pairs of routers, keepalived's 3.6 s takeovers: 4-6 min in TCG.
# e2e-timeout: 900

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
# shellcheck source=lib_ha.sh
. "$(dirname "$0")/lib_ha.sh"

require_cmd ip nft conntrack conntrackd keepalived nsenter "$PY"
load_rtsp_modules
now_ms T0
W=$E2E_WORK
CP=27336
IV=0.04

# client NAME NS STEPS...: the rtsp_raw.py client NAME in NS runs the JSON
# steps given (a list without its brackets), in the background.
client() {
	local name=$1 ns=$2 IFS=,
	shift 2
	echo "[$*]" >"$W/$name.json"
	rb_client "$name" "$ns" ""
	eval "PID_$name=$RB_CLI_PID"
}
setup() { echo "{\"send\": [$(rn_setup "MP2T/H2221/UDP;unicast;client_port=$CP" "$1")]}, {\"recv\": 1, \"timeout\": 20}"; }
req() { echo "{\"send\": [$(rn_req "$1" "$2")]}, {\"recv\": 1, \"timeout\": 20}"; }
gate() { echo "{\"touch\": \"$W/$1\"}"; }
await() { echo "{\"wait\": \"$W/$1\", \"timeout\": 200}"; }
conn() { echo "{\"connect\": \"$VOD4\"}"; }
# at NAME GATE: wait for the client's gate file (or its death).
at() { eval "rb_gate \"$W/$2\" \"\$PID_$1\" 60000"; }
# port_of: the router port of the newest SETUP the VoD manager got.
port_of() { rn_log_new | grep '"SETUP"' | ha_client_port; }
# settle: the last datagrams sent are delivered (a loaded host).
settle() { nap 2; }

check "topology: LAN and WAN segments, three decoders, VoD manager, MPEG server" ha_topo || e2e_exit
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

# === the full recipe =====================================================
check "run 1: routers A and B up, conntrackd and keepalived running, A primary" \
	ha_routers full full || e2e_exit
check "run 1: B is the backup (no shared address)" ha_no_vip "$NS_RB"

ha_sink dec "$NS_DEC" "$CP"
ha_sink dec2 "$NS_DEC2" "$CP"
ha_sink dec3 "$NS_DEC3" "$CP"

rn_log_mark
client dec "$NS_DEC" "$(conn)" "$(setup 1)" "$(req PLAY 2)" "$(gate dec.g1)" \
	"$(await dec.go1)" "$(req PAUSE 3)" "$(req PLAY 4)" "$(gate dec.g2)" \
	"$(await dec.go2)" "$(req PAUSE 5)" "$(req PLAY 6)" "$(req TEARDOWN 7)" \
	"$(gate dec.g3)" "$(await dec.end)"
at dec dec.g1
P1=$(port_of)
rn_media m1 "$P1" 100000 "$IV" "$W/m1.stop"
check "dec: SETUP through A, router port $P1, stream flows" \
	busywait 20000 ha_count_ge dec 25

rn_log_mark
client dec2 "$NS_DEC2" "$(conn)" "$(setup 1)" "$(req PLAY 2)" "$(gate dec2.g1)" \
	"$(await dec2.go1)" "$(req TEARDOWN 3)" "$(setup 4)" "$(req PLAY 5)" \
	"$(gate dec2.g2)" "$(await dec2.go2)" "$(req TEARDOWN 6)" "$(gate dec2.g3)" \
	"$(await dec2.end)"
at dec2 dec2.g1
P2=$(port_of)
rn_media m2 "$P2" 100000 "$IV" "$W/m2.stop"
check "dec2: the same client_port gets another router port ($P2, dec has $P1)" \
	test -n "$P2" -a "$P2" != "$P1"
check "dec2: its stream flows" busywait 20000 ha_count_ge dec2 25

rn_log_mark
client dec3 "$NS_DEC3" "$(conn)" "$(setup 1)" "$(gate dec3.g1)" \
	"$(await dec3.go1)" "$(req PLAY 2)" "$(gate dec3.g2)" \
	"$(await dec3.go2)" "$(conn)" "$(setup 3)" "$(req PLAY 4)" "$(gate dec3.g3)" \
	"$(await dec3.go3)" "$(req TEARDOWN 5)" "$(gate dec3.g4)" "$(await dec3.end)"
at dec3 dec3.g1
P3=$(port_of)
check "dec3: SETUP answered, router port $P3 (neither $P1 nor $P2), expected on A" \
	test -n "$P3" -a "$P3" != "$P1" -a "$P3" != "$P2"
# shellcheck disable=SC2317 # called through busywait
exp_synced() { ha_box b conntrackd -C /etc/conntrackd/conntrackd.conf -e expect 2>/dev/null | grep -q "dport=$1"; }
check "B's conntrackd has dec3's expectation (port $P3) in its external cache" \
	busywait 15000 exp_synced "$P3"
nsx "$NS_RA" "$PY" "$ROLES/ctnl_exp_list.py" >"$W/exp_a.txt"
nap 1

# --- A fails: its LAN and WAN links go down --------------------------------
n1=$(ha_count dec) n2=$(ha_count dec2)
now_ms T_FAIL
ha_links a down
check "failover: B takes both shared addresses" busywait 30000 ha_has_vip "$NS_RB"
now_ms T_VIP
info "B has the addresses $((T_VIP - T_FAIL)) ms after A's links went down"
check "case 1: dec's stream goes on through B" busywait 30000 ha_count_ge dec $((n1 + 50))
check "case 3: dec2's stream goes on through B" busywait 30000 ha_count_ge dec2 $((n2 + 50))

# case 2: dec3's PLAY, then its media, after the switch
# shellcheck disable=SC2317 # called through busywait
exp_adopted() { nsx "$NS_RB" "$PY" "$ROLES/ctnl_exp_list.py" | grep -q "^dport=$P3 fn=rtsp nat=$DEC3_4:$CP "; }
check "case 2: B's copy of dec3's expectation maps to dec3's own port again ($DEC3_4:$CP)" \
	busywait 10000 exp_adopted ||
	info "A's: $(xargs <"$W/exp_a.txt"); B's: $(nsx "$NS_RB" "$PY" "$ROLES/ctnl_exp_list.py" | xargs)"
touch "$W/dec3.go1"
check "case 2: dec3's PLAY answered through B" at dec3 dec3.g2
n3=$(ha_count dec3)
RN_MEDIA_TO=$HA_VIP_WAN rn_media m3 "$P3" 40 "$IV"
M3=$RN_MEDIA_PID
busywait 90000 rn_media_done m3 "$M3" >/dev/null
settle
check_eq "case 2: dec3's 40 datagrams, its media started on B, reach dec3" 40 $(($(ha_count dec3) - n3))
[ "$(($(ha_count dec3) - n3))" = 40 ] || { ha_dump b; dmesg | tail -n 20; }

# case 4 on B: PAUSE/PLAY of dec, TEARDOWN and a new SETUP of dec2
touch "$W/dec.go1"
check "case 4: dec's PAUSE and PLAY answered through B" at dec dec.g2
rn_log_mark
touch "$W/dec2.go1"
check "case 4: dec2's TEARDOWN, new SETUP (client_port=$CP) and PLAY answered through B" \
	at dec2 dec2.g2
touch "$W/m2.stop"
P4=$(port_of)
check "case 3: on B the new SETUP gets a router port no carried-over flow holds ($P4; dec $P1, dec3 $P3)" \
	test -n "$P4" -a "$P4" != "$P1" -a "$P4" != "$P3"
nap 0.5
nb=$(ha_count dec2) na=$(ha_count dec)
rn_media m4 "$P4" 40 "$IV"
busywait 90000 rn_media_done m4 "$RN_MEDIA_PID" >/dev/null
settle
check_eq "case 3: dec2's new stream (40 from port 5000, on B) reaches dec2" 40 $(($(ha_count dec2) - nb)) ||
	ha_dump b

# --- failback: A's links come up again, keepalived makes A primary ---------
n1=$(ha_count dec)
now_ms T_BACK
ha_links a up
check "failback: A holds both shared addresses again" busywait 30000 ha_has_vip "$NS_RA"
check "failback: B has given them up" busywait 30000 ha_no_vip "$NS_RB"
check "case 4: dec's stream goes on through A after the failback" \
	busywait 30000 ha_count_ge dec $((n1 + 75))
touch "$W/dec.go2"
check "case 4: dec's PAUSE, PLAY and TEARDOWN answered through A" at dec dec.g3 ||
	{ ha_dump a; ha_dump b; cat "$W/dec.out" "$W/dec.err"
	  echo "--- dec: neigh"; ip -n "$NS_DEC" neigh show
	  echo "--- A lan0, B lan0:"; ip -n "$NS_RA" link show lan0; ip -n "$NS_RB" link show lan0
	  grep -i 'arp' "$W/$HA_RUN/a/keepalived.log" | tail -n 12; }

# case 4 after the failback: a new session of dec3 (a new control
# connection: the one that went on through B is not followed by A any
# more), its media through A
rn_log_mark
touch "$W/dec3.go2"
check "case 4: dec3's new SETUP and PLAY answered through A" at dec3 dec3.g3 ||
	{ cat "$W/dec3.out" "$W/dec3.err"; echo "--- dec3: neigh"; ip -n "$NS_DEC3" neigh show
	  echo "--- A lan0, B lan0:"; ip -n "$NS_RA" link show lan0; ip -n "$NS_RB" link show lan0
	  ha_dump a; ha_dump b; grep -i 'arp' "$W/$HA_RUN/a/keepalived.log" | tail -n 12; }
P5=$(port_of)
check "case 4: on A the new SETUP gets a router port no live flow holds ($P5; dec $P1, dec3 $P3, dec2 $P4)" \
	test -n "$P5" -a "$P5" != "$P1" -a "$P5" != "$P3" -a "$P5" != "$P4"
n3=$(ha_count dec3)
rn_media m5 "$P5" 40 "$IV"
busywait 90000 rn_media_done m5 "$RN_MEDIA_PID" >/dev/null
settle
check_eq "case 4: dec3's new stream (40, on A after the failback) reaches dec3" 40 $(($(ha_count dec3) - n3)) ||
	ha_dump a
touch "$W/dec3.go3"
check "case 4: dec3's TEARDOWN answered through A" at dec3 dec3.g4
touch "$W/m1.stop"
nap 0.5
ha_sink_stop dec3
# dec3's second session's 40 repeat its first one's sequence numbers
check_eq "case 2/3: no datagram of another stream reached dec3" 40 "$(ha_sum dec3 dups)"
ha_sink_stop dec
ha_sink_stop dec2
check_eq "case 3: no datagram of another stream reached dec" 0 "$(ha_sum dec dups)"
# dec2's second session's 40 repeat its first one's sequence numbers
check_eq "case 3: no datagram of another stream reached dec2" 40 "$(ha_sum dec2 dups)"
# The failover's gap: the first silence after A's links went down; the
# failback's: the first after they came up.
read -r G1_N G1_MS < <(ha_gap dec "$T_FAIL")
read -r G2_N G2_MS < <(ha_gap dec2 "$T_FAIL")
read -r G3_N G3_MS < <(ha_gap dec "$T_BACK")
info "measured: failover (link down): dec lost $G1_N datagrams, $G1_MS ms; dec2 lost $G2_N, $G2_MS ms; failback: dec lost $G3_N, $G3_MS ms (one datagram every 40 ms)"
check "case 1: the failover gap is a few seconds (dec: $G1_MS ms, at most 15000)" \
	test "$G1_MS" -le 15000
for d in dec dec2 dec3; do touch "$W/$d.end"; done

# === controls ================================================================
ha_down() {	# ha_down: the routers of the last run go away
	local ns
	for ns in "$NS_RA" "$NS_RB"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	nap 0.5
	ip netns delete "$NS_RA" 2>/dev/null
	ip netns delete "$NS_RB" 2>/dev/null
	return 0
}

# ctl RUN: dec streams through A (sink RUN.dec), dec3 has set up; sets CP1
# (dec's router port) and CP3 (dec3's).
ctl() {
	local run=$1
	ha_sink "$run.dec" "$NS_DEC" "$CP"
	ha_sink "$run.dec3" "$NS_DEC3" "$CP"
	rn_log_mark
	client "${run}_a" "$NS_DEC" "$(conn)" "$(setup 1)" "$(req PLAY 2)" "$(gate "${run}_a.g1")" \
		"$(await "$run.end")"
	at "${run}_a" "${run}_a.g1"
	CP1=$(port_of)
	rn_media "$run.m1" "$CP1" 100000 "$IV" "$W/$run.m1.stop"
	check "$run: dec streams through A (router port $CP1)" \
		busywait 20000 ha_count_ge "$run.dec" 25
	rn_log_mark
	client "${run}_c" "$NS_DEC3" "$(conn)" "$(setup 1)" "$(gate "${run}_c.g1")" \
		"$(await "${run}_c.go")" "$(req PLAY 2)" "$(gate "${run}_c.g2")" "$(await "$run.end")"
	at "${run}_c" "${run}_c.g1"
	CP3=$(port_of)
}

ha_down
# shellcheck disable=SC2317 # called through busywait
ct_synced() { ha_box b conntrackd -C /etc/conntrackd/conntrackd.conf -e ct 2>/dev/null | grep -q "dport=$1"; }
check "control 1 (conntrackd without ExpectationSync): routers up, A primary" \
	ha_routers noexp noexp || e2e_exit
ctl noexp
busywait 15000 ct_synced "$CP1" >/dev/null
nap 1
n1=$(ha_count noexp.dec)
now_ms T_FAIL
# A's namespace is gone this time (its daemons killed, its links with it)
ha_down_a() {
	ip netns pids "$NS_RA" | xargs -r kill -9 2>/dev/null
	ip netns delete "$NS_RA"
}
ha_down_a
check "control 1: B takes both shared addresses once A is gone" busywait 30000 ha_has_vip "$NS_RB"
check "control 1: case 1 holds: dec's stream goes on through B" \
	busywait 30000 ha_count_ge noexp.dec $((n1 + 50))
touch "$W/noexp_c.go"
at noexp_c noexp_c.g2
n3=$(ha_count noexp.dec3)
RN_MEDIA_TO=$HA_VIP_WAN rn_media noexp.m3 "$CP3" 40 "$IV"
busywait 90000 rn_media_done noexp.m3 "$RN_MEDIA_PID" >/dev/null
settle
check_eq "control 1: case 2 fails without ExpectationSync: dec3's media after the switch, 0 of 40 reach it" \
	0 $(($(ha_count noexp.dec3) - n3))
touch "$W/noexp.m1.stop" "$W/noexp.end"
ha_sink_stop noexp.dec
ha_sink_stop noexp.dec3
read -r G4_N G4_MS < <(ha_gap noexp.dec "$T_FAIL")
info "measured: failover (namespace gone): dec lost $G4_N datagrams, $G4_MS ms"

ha_down
check "control 2 (no conntrackd): routers up, A primary" ha_routers none none || e2e_exit
ctl none
nap 1
now_ms T_FAIL
ha_links a down
check "control 2: B takes both shared addresses" busywait 30000 ha_has_vip "$NS_RB"
nap 1
n1=$(ha_count none.dec)
nap 4
check_eq "control 2: case 1 fails without conntrackd: no datagram reaches dec through B" \
	"$n1" "$(ha_count none.dec)"
touch "$W/none.m1.stop" "$W/none.end"
ha_sink_stop none.dec
ha_sink_stop none.dec3

info "wall time in the VM: $(rb_elapsed "$T0") s"
check "kernel log clean" rb_dmesg_clean
e2e_exit
