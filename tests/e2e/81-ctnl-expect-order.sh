#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ctnetlink creates, updates and deletes our expectations, in any order
# (issue 19), through the NAT router.
#
# conntrackd re-creates expectations on a backup router through ctnetlink;
# an administrator deletes them with conntrack -D expect. None of that
# goes through our SETUP parsing, and our per-connection state must cope
# with expectations it did not make, and with its own going away:
#
#   create   an expectation with expectfn "rtsp" and a NAT target on the
#            decoder's RTSP connection: the media reaches the decoder
#   plain    one with expectfn "rtsp" and no NAT target (conntrackd 1.4.7
#            sends none), then deleted: it is gone, its media goes nowhere
#   update   the helper's own expectation (a SETUP's) updated: still
#            there, its media reaches the decoder
#   delete   the helper's expectation of a second SETUP deleted: its media
#            goes nowhere; the same SETUP again is expected (at another
#            router port: the first SETUP's session still holds its own)
#            and its media reaches the decoder
#   master   one more created, then the RTSP connection's conntrack
#            deleted: every expectation goes with it; creating one on the
#            gone master is refused
#   unload   the modules unload and load again; no splat, no leak
#            (kmemleak on the sanitized kernel)

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0
rb_kmemleak_start

W=$E2E_WORK
SRV=172.26.22.11
CTNL=$ROLES/ctnl_expect.py

rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit

"$PY" - "$W" "$SRV" >"$W/d.json" <<'EOF'
import json, sys
w, srv = sys.argv[1:3]
steps = [{"connect": srv}]
for gate, cseq, port in (("a", 1, 27400), ("b", 2, 27406), ("c", 3, 27406)):
    msg = ("SETUP rtsp://%s/vod RTSP/1.0\r\nCSeq: %d\r\nTransport: "
           "MP2T/H2221/UDP;unicast;client_port=%d\r\n\r\n" % (srv, cseq, port))
    steps += [{"send": [msg]}, {"recv": 1, "timeout": 20},
              {"touch": "%s/gate.%s" % (w, gate)}, {"wait": "%s/go.%s" % (w, gate)}]
steps.append({"close": 1})
print(json.dumps(steps))
EOF
rb_client d "$NS_DEC" 27400,27402,27404,27406,27408
D=$RB_CLI_PID
gate() {	# gate NAME: the decoder reached gate NAME
	rb_gate "$W/gate.$1" "$D" 60000 || {
		fail "decoder reached gate $1" "$(cat "$W/d.out" "$W/d.err")"
		e2e_exit
	}
}
ctnl() {	# ctnl OP PORT [ARGS...]: ctnetlink OP on an expectation for RTR_WAN4:PORT
	local op=$1 port=$2
	shift 2
	nse "$NS_RTR" "$PY" "$CTNL" --op "$op" --master "$DEC4:$SPORT-$SRV:554" \
		--expect "$MPEG4-$RTR_WAN4:$port" --fn rtsp "$@" 2>&1
}
media() {	# media PORT: 10 datagrams from the MPEG server to RTR_WAN4:PORT
	rb_burst "$NS_MPEG" "$RTR_WAN4" "$1" 10
}
# shellcheck disable=SC2317 # called through check and eval
got() {	# got PORT N: the decoder got at least N datagrams on PORT
	busywait 5000 rb_udp_ge "$W/d.udp" "$1" "$2" >/dev/null
	rb_udp_ge "$W/d.udp" "$1" "$2"
}
rb_sender "$NS_MPEG"

gate a
SPORT=$(nse "$NS_RTR" conntrack -L -p tcp --orig-src "$DEC4" --orig-port-dst 554 2>/dev/null |
	sed -n 's/.* sport=\([0-9]*\) dport=554 .*/\1/p' | head -n1)
info "the decoder's RTSP connection: $DEC4:$SPORT -> $SRV:554"
check "helper's expectation for 27400" rb_expect_port 27400

# --- create ---
check_eq "create: with expectfn rtsp and a NAT target" ok "$(ctnl create 27402 --nat "$DEC4:27402")"
check "create: in the table" rb_expect_port 27402
media 27402
check "create: its media reaches the decoder" got 27402 10

# --- plain ---
check_eq "plain: with expectfn rtsp, no NAT target" ok "$(ctnl create 27404)"
check "plain: in the table" rb_expect_port 27404
check_eq "plain: deleted" ok "$(ctnl delete 27404)"
check "plain: gone" eval "! rb_expect_port 27404"
media 27404
check "plain: its media goes nowhere" eval "! got 27404 1"

# --- update ---
check_eq "update: the helper's expectation updated" ok "$(ctnl update 27400 --timeout 120)"
check "update: still there" rb_expect_port 27400
media 27400
check "update: its media reaches the decoder" got 27400 10

# --- delete ---
touch "$W/go.a"
gate b
check "delete: helper's expectation for 27406" rb_expect_port 27406
check_eq "delete: deleted" ok "$(ctnl delete 27406)"
check "delete: gone" eval "! rb_expect_port 27406"
media 27406
check "delete: its media goes nowhere" eval "! got 27406 1"
touch "$W/go.b"
gate c
# The router port of the deleted expectation is still held for that
# SETUP's session (until setup_timeout): the new one gets another.
P=$(grep '"method": "SETUP"' "$W/raw.log" | tail -n1 | grep -o 'client_port=[0-9]*' | cut -d= -f2)
info "delete: the same SETUP again: router port ${P:-none}"
check "delete: the same SETUP again is expected (router port $P)" rb_expect_port "${P:-0}"
media "${P:-0}"
check "delete: and its media reaches the decoder's 27406" got 27406 10

# --- master ---
check_eq "master: one more created" ok "$(ctnl create 27408 --nat "$DEC4:27408")"
nse "$NS_RTR" conntrack -D -p tcp --orig-src "$DEC4" --orig-port-src "$SPORT" \
	--orig-port-dst 554 >/dev/null 2>&1
busywait 5000 eval "[ \"\$(rb_expect_count \"master-src=$DEC4 \")\" -eq 0 ]" >/dev/null
check_eq "master: its expectations went with its conntrack" 0 \
	"$(rb_expect_count "master-src=$DEC4 ")"
out=$(ctnl create 27410 --nat "$DEC4:27410")
check "master: creating one on the gone master is refused ($out)" eval "[ \"$out\" != ok ]"
touch "$W/go.c"
wait "$D" 2>/dev/null
check "kernel log clean before unload" rb_dmesg_clean

# --- unload ---
check "unload: the modules unload and load again" rb_reload_modules
check "unload: kernel log clean" rb_dmesg_clean
rb_check_kmemleak "unload: no leak (kmemleak)"

vod_session
vod_checks stream
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
