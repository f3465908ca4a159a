#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The smaller points of issue 16 (5), through the NAT router.
#
# A. A held message head completed by a segment longer than what the hold
#    buffer takes: a SET_PARAMETER whose head (~2000 bytes) comes in the
#    first segments, then one segment with the end of the head, its
#    100-byte body and a SETUP (40300), then a SETUP (40302) in the next
#    segment. Both are expected: the body ends in the segment, and the
#    next message starts there (before, the rest of the segment was lost
#    and what was left of the body was skipped in the next one).
# B. max_held_heads=2: three connections leave a message head unfinished;
#    the third cannot be held: its segment is dropped (TCP sends it again,
#    a buffer may be free by then), 4 times, then the log says so and
#    that client is no longer followed (its SETUP, 40304, is not
#    expected; those of the first two, 40314 and 40316, are). Back at its
#    default, a SETUP split in two segments (40306) is expected.
# C. nf_nat_rtsp not loaded, on the NAT router: a SETUP (40310) gets no
#    expectation (it would be at the router's own address, shared by
#    every client behind it), and the log says to load nf_nat_rtsp. With
#    it loaded again, the same SETUP (40312) is expected.
# D. stunaddr is used for connections of its family only: nf_nat_rtsp
#    with stunaddr=203.0.113.7; an IPv4 SETUP with destination= gets
#    destination=203.0.113.7, an IPv6 one (NAT66) the router's IPv6
#    address, not the IPv4 stunaddr.
# E. media_timeout=10000000 (more than fits in jiffies): a request of the
#    session refreshes its media flow to a week, not to an instant.

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
rb_setup_nat
check "router: NAT66" router_nat66_nft || e2e_exit
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit
rm -f "$W/raw6.ready"
bg nse "$NS_VOD" "$PY" "$RAW" server --bind "$VOD6" --log "$W/raw6.log" --ready "$W/raw6.ready"
busywait 60000 file_or_dead "$W/raw6.ready" "$BG_PID" >/dev/null
check "raw RTSP server on $VOD6" test -e "$W/raw6.ready" || e2e_exit

# The clients' scripts: A, B (three connections), C, E on $SRV; D on both.
"$PY" - "$W" "$SRV" "$VOD6" <<'EOF'
import json, sys
w, srv, srv6 = sys.argv[1:4]
def setup(port, cseq=1, extra="", host=srv):
    return ("SETUP rtsp://%s/vod RTSP/1.0\r\nCSeq: %d\r\nTransport: RTP/AVP;unicast;"
            "%sclient_port=%d\r\nUser-Agent: MICA-IP-STB\r\n\r\n" % (host, cseq, extra, port))
def gate(name):
    return [{"touch": "%s/gate.%s" % (w, name)}, {"wait": "%s/go.%s" % (w, name)}]
def out(name, steps):
    with open("%s/%s.json" % (w, name), "w") as f:
        json.dump(steps, f)
may = {"timeout": 3, "may_fail": True}
# A
body = "b" * 100
head = ("SET_PARAMETER rtsp://%s/vod RTSP/1.0\r\nCSeq: 1\r\nX-Pad: %s\r\n"
        "Content-Length: %d\r\n\r\n" % (srv, "p" * 1950, len(body)))
out("a", [{"connect": srv},
          {"send": [head + body, setup(40300, 2), setup(40302, 3)],
           "cuts": ["\r\nContent-Length", "SETUP rtsp://%s/vod RTSP/1.0\r\nCSeq: 3" % srv],
           "gap": 0.4},
          dict(recv=3, **may)] + gate("a") + [{"close": 1}])
# B: three unfinished heads; the third then sends a SETUP.
part = "OPTIONS rtsp://%s/vod RTSP/1.0\r\nCSeq: 1\r\n" % srv
for i, port in ((1, 40314), (2, 40316), (3, 40304)):
    st = [{"connect": srv}, {"send": [part]}, {"touch": "%s/b%d.sent" % (w, i)},
          {"wait": "%s/b.go" % w}, {"send": ["\r\n", setup(port, 2)], "cuts": ["SETUP"], "gap": 0.3},
          dict(recv=2, **may), {"touch": "%s/b%d.done" % (w, i)}, {"wait": "%s/b.end" % w},
          {"close": 1}]
    out("b%d" % i, st)
out("b4", [{"connect": srv}, {"send": [setup(40306)], "cuts": ["CSeq"], "gap": 0.3},
           dict(recv=1, **may)] + gate("b4") + [{"close": 1}])
# C
out("c", [{"connect": srv}, {"send": [setup(40310)]}, dict(recv=1, **may)] + gate("c1") +
         [{"close": 1}, {"connect": srv}, {"send": [setup(40312)]}, dict(recv=1, **may)] +
         gate("c2") + [{"close": 1}])
# D
out("d", [{"connect": srv}, {"send": [setup(40320, extra="destination=192.168.1.200;")]},
          dict(recv=1, **may), {"close": 1},
          {"connect": srv6},
          {"send": [setup(40322, extra="destination=fd00:1::200;", host="[%s]" % srv6)]},
          dict(recv=1, **may)] + gate("d") + [{"close": 1}])
# E: SETUP, (media), GET_PARAMETER.
out("e", [{"connect": srv}, {"send": [setup(40330)]}, dict(recv=1, **may)] + gate("e1") +
         [{"send": ["GET_PARAMETER rtsp://%s/vod RTSP/1.0\r\nCSeq: 2\r\nSession: {S0}\r\n\r\n" % srv]},
          dict(recv=1, **may)] + gate("e2") + [{"close": 1}])
EOF

gate() {	# gate FILE PID NAME
	rb_gate "$W/$1" "$2" 60000 && return 0
	fail "client $3 reached $1" "$(cat "$W/$3.out" "$W/$3.err")"
	e2e_exit
}

# --- A ---------------------------------------------------------------------------------
rb_client a "$NS_DEC" ""
gate gate.a "$RB_CLI_PID" a
rb_snap
check "A: the SETUP in the segment that completed a held head is expected (40300)" rb_snap_port 40300
check "A: the SETUP in the next segment is expected (40302)" rb_snap_port 40302
touch "$W/go.a"

# --- B ---------------------------------------------------------------------------------
log0=$(dmesg | grep -c 'max_held_heads')
check "B: max_held_heads=2" eval "echo 2 >$P/max_held_heads"
for i in 1 2 3; do
	rb_client "b$i" "$NS_DEC" ""
	eval "B$i=\$RB_CLI_PID"
	gate "b$i.sent" "$RB_CLI_PID" "b$i"
done
# shellcheck disable=SC2016 # expanded by eval
check "B: the third unfinished head is refused (after 4 drops), and logged" \
	busywait 30000 eval '[ "$(($(dmesg | grep -c max_held_heads) - log0))" -ge 1 ]'

info "B: $(dmesg | grep 'max_held_heads' | tail -n 1)"
touch "$W/b.go"
for i in 1 2 3; do gate "b$i.done" "$(eval echo "\$B$i")" "b$i"; done
rb_snap
check "B: the clients whose heads were held are followed (40314, 40316 expected)" \
	eval "rb_snap_port 40314 && rb_snap_port 40316"
check "B: the client whose head was refused is not followed (40304 not expected)" \
	eval "! rb_snap_port 40304"
touch "$W/b.end"
echo 4096 >$P/max_held_heads
rb_client b4 "$NS_DEC" ""
gate gate.b4 "$RB_CLI_PID" b4
check "B: back at the default, a split SETUP is expected (40306)" rb_expect_port 40306
touch "$W/go.b4"

# --- C ---------------------------------------------------------------------------------
log0=$(dmesg | grep -c 'modprobe nf_nat_rtsp')
check "C: nf_nat_rtsp unloaded" modprobe -r nf_nat_rtsp
rb_client c "$NS_DEC" ""
gate gate.c1 "$RB_CLI_PID" c
check "C: NATed SETUP without nf_nat_rtsp: no expectation (40310)" eval "! rb_expect_port 40310"
check "C: the log says to load nf_nat_rtsp" \
	test "$(($(dmesg | grep -c 'modprobe nf_nat_rtsp') - log0))" -ge 1
info "C: $(dmesg | grep 'modprobe nf_nat_rtsp' | tail -n 1)"
check "C: nf_nat_rtsp loaded again" modprobe nf_nat_rtsp
touch "$W/go.c1"
gate gate.c2 "$RB_CLI_PID" c
check "C: with nf_nat_rtsp, the SETUP is expected (40312)" rb_expect_port 40312
touch "$W/go.c2"

# --- D ---------------------------------------------------------------------------------
check "D: nf_nat_rtsp reloaded with stunaddr=203.0.113.7" \
	eval "modprobe -r nf_nat_rtsp && modprobe nf_nat_rtsp stunaddr=203.0.113.7"
rb_client d "$NS_DEC" ""
gate gate.d "$RB_CLI_PID" d
t4=$(grep -o 'client_port=40320[^"]*\|destination=[^;"]*;[^"]*client_port=40320' "$W/raw.log" | head -n1)
t6=$(grep -o 'destination=[^;"]*;[^"]*client_port=40322' "$W/raw6.log" | head -n1)
info "D: IPv4 server got: $t4; IPv6 server got: $t6"
check "D: IPv4: destination=203.0.113.7 (stunaddr)" eval "grep -q 'destination=203.0.113.7;' <<<\"\$t4\""
check "D: IPv6: destination=$RTR_WAN6 (the router's), not the IPv4 stunaddr" \
	eval "grep -q 'destination=$RTR_WAN6;' <<<\"\$t6\""
touch "$W/go.d"
check "D: nf_nat_rtsp reloaded without stunaddr" \
	eval "modprobe -r nf_nat_rtsp && modprobe nf_nat_rtsp"

# --- E ---------------------------------------------------------------------------------
echo 10000000 >$P/media_timeout
rb_client e "$NS_DEC" ""
gate gate.e1 "$RB_CLI_PID" e
nse "$NS_MPEG" bash -c "printf media >/dev/udp/$RTR_WAN4/40330"
busywait 5000 rb_flow 40330 >/dev/null
check "E: the media flow started" rb_flow 40330
touch "$W/go.e1"
gate gate.e2 "$RB_CLI_PID" e
t=$(nse "$NS_RTR" conntrack -L -p udp --orig-port-dst 40330 2>/dev/null | awk '{ print $3; exit }')
info "E: media flow timeout after the request: ${t:-none} s"
check "E: media_timeout=10000000 refreshed the flow to about a week (${t:-none} s)" \
	test "${t:-0}" -gt 600000
touch "$W/go.e2"
echo 600 >$P/media_timeout

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
