#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Slipstreaming through a TCP gap (issue 16, 3), through the NAT router.
#
# When a segment of the client is lost before it reaches the router, the
# next one arrives after a gap in the byte stream and may begin anywhere
# inside a message: in a POST body a browser was made to send, in the
# body of an RTSP request. A helper that takes it for the start of a
# message opens the port a SETUP-shaped body names. An nft rule in the
# router's prerouting, before conntrack, drops the first copy of one
# segment per connection (its payload's first bytes); the decoder's TCP
# sends it again. Each case is one control connection:
#
#   first    the connection's first data segment, "POST /submit ...", is
#            lost; the second begins with a SETUP for 40120 inside the
#            POST body, a third is a SETUP for 40121: neither is expected
#            (the segment after the gap waits for the lost one, which is
#            not RTSP: the client is not followed any more)
#   middle   after an OPTIONS, a GET_PARAMETER with a Content-Length body
#            whose first segment is lost; the second begins with a SETUP
#            for 40122 inside the body; after the reply, a real SETUP for
#            40124: only 40124 is expected (the connection is followed
#            again once the lost bytes came)
#   control  the same SETUP for 40126 on a clean connection: expected
#   pickup   after an OPTIONS the router's conntrack of the connection is
#            deleted: the next segment (a SETUP for 40128) would make a new
#            one (nf_conntrack_tcp_loose, the default) with no SYN seen,
#            where it could begin anywhere in a message: it is not
#            expected, and behind NAT (this router) it is dropped, as its
#            client_port would go out unrewritten (83-nat-own-ports
#            "unseen" has the control)
#
# Before the fix, "first" and "middle" FAIL: the segment after the gap
# was parsed as a message start and 40120 and 40122 were expected.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

W=$E2E_WORK
SRV=172.26.22.11
rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit

# The loss: before conntrack, the first copy of a segment whose payload
# begins with "POST " or "GET_P", once per connection (its source port).
check "router: nft rule losing the first copy of one segment per connection" \
	nse "$NS_RTR" nft -f - <<EOF || e2e_exit
table inet e2e_gap {
	set lost { type inet_service; flags dynamic; }
	counter gap_drop { }
	chain prerouting {
		type filter hook prerouting priority raw - 20; policy accept;
		ip saddr $DEC4 tcp dport 554 @ih,0,40 { 0x504f535420, 0x4745545f50 } tcp sport != @lost add @lost { tcp sport } counter name "gap_drop" drop
	}
}
EOF
gap_drops() {
	nse "$NS_RTR" nft list counter inet e2e_gap gap_drop 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n1
}

"$PY" - "$W" "$SRV" >"$W/dec.json" <<'EOF'
import json, sys
w, srv = sys.argv[1], sys.argv[2]
def setup(port, uri="rtsp://%s/vod" % srv, cseq=1):
    return ("SETUP %s RTSP/1.0\r\nCSeq: %d\r\nTransport: RTP/AVP;unicast;"
            "client_port=%d\r\nUser-Agent: MICA-IP-STB\r\n\r\n" % (uri, cseq, port))
steps = []
def gate(name):
    steps.extend([{"touch": "%s/gate.%s" % (w, name)},
                  {"wait": "%s/go.%s" % (w, name)}, {"close": 1}])
# first: the POST's first segment is lost; the next begins with a SETUP.
body = "q=" + "x" * 200 + setup(40120, "rtsp://x/gap")
post = ("POST /submit HTTP/1.1\r\nHost: %s:554\r\nContent-Type: text/plain\r\n"
        "Content-Length: %d\r\n\r\n%s" % (srv, len(body), body))
steps.extend([{"connect": srv},
              {"send": [post, setup(40121, cseq=2)], "gap": 0.05,
               "cuts": ["SETUP rtsp://x/gap", "SETUP rtsp://%s/vod" % srv]},
              {"recv": 1, "timeout": 3, "may_fail": True}])
gate("first")
# middle: OPTIONS, then a GET_PARAMETER whose body's second segment
# begins with a SETUP; then a real SETUP.
b = "position\r\n" + setup(40122, "rtsp://x/gap2")
gp = ("GET_PARAMETER rtsp://%s/vod RTSP/1.0\r\nCSeq: 2\r\nContent-Type: "
      "text/parameters\r\nContent-Length: %d\r\n\r\n%s" % (srv, len(b), b))
steps.extend([{"connect": srv},
              {"send": ["OPTIONS rtsp://%s/vod RTSP/1.0\r\nCSeq: 1\r\n\r\n" % srv]},
              {"recv": 1, "timeout": 5},
              {"send": [gp], "cuts": ["SETUP rtsp://x/gap2"], "gap": 0.05},
              {"recv": 1, "timeout": 10},
              {"send": [setup(40124, cseq=3)]},
              {"recv": 1, "timeout": 10}])
gate("middle")
steps.extend([{"connect": srv}, {"send": [setup(40126)]},
              {"recv": 1, "timeout": 10}])
gate("control")
# pickup: the conntrack goes after the OPTIONS.
steps.extend([{"connect": srv},
              {"send": ["OPTIONS rtsp://%s/vod RTSP/1.0\r\nCSeq: 1\r\n\r\n" % srv]},
              {"recv": 1, "timeout": 5},
              {"touch": "%s/gate.pickup1" % w}, {"wait": "%s/go.pickup1" % w},
              {"send": [setup(40128, cseq=2)]},
              {"recv": 1, "timeout": 4, "may_fail": True}])
gate("pickup")
print(json.dumps(steps))
EOF
rb_client dec "$NS_DEC" ""
DEC=$RB_CLI_PID
log0=$(dmesg | grep -c 'not RTSP (client no longer followed)')


rb_case_snap first "$DEC"
check_eq "first: the POST's first segment was lost once before the router" 1 "$(gap_drops)"
check "first: the SETUP-shaped segment after the gap opened nothing (40120)" \
	eval "! rb_snap_port 40120"
check "first: nor the SETUP after it on that connection (40121)" \
	eval "! rb_snap_port 40121"
touch "$W/go.first"

rb_case_snap middle "$DEC"
check_eq "middle: the GET_PARAMETER's first segment was lost once" 2 "$(gap_drops)"
check "middle: the SETUP-shaped body segment after the gap opened nothing (40122)" \
	eval "! rb_snap_port 40122"
check "middle: the SETUP after the body is expected (40124)" rb_snap_port 40124
check_eq "middle: the server got OPTIONS, GET_PARAMETER and SETUP, whole" 3 \
	"$(grep -c '"conn": 2' "$W/raw.log")"
touch "$W/go.middle"

rb_case_snap control "$DEC"
check "control: a SETUP on a clean connection is expected (40126)" rb_snap_port 40126
touch "$W/go.control"

if ! rb_gate "$W/gate.pickup1" "$DEC" 60000; then
	fail "pickup: client reached its gate" "$(cat "$W/dec.out" "$W/dec.err")"
	e2e_exit
fi
UNF_MSG="client_port= from a client not followed, behind NAT (dropped)"
pick0=$(dmesg | grep -cF "$UNF_MSG")
check "pickup: the router's conntrack of the connection deleted" \
	nse "$NS_RTR" conntrack -D -p tcp -s "$DEC4" --dport 554
touch "$W/go.pickup1"
rb_case_snap pickup "$DEC"
check "pickup: the SETUP that would make a conntrack without SYN is not expected (40128)" \
	eval "! rb_snap_port 40128"
check_eq "pickup: behind NAT it never reaches the server (its router port is not its session's)" 0 \
	"$(grep -c 'client_port=40128' "$W/raw.log")"
check "pickup: the log says \"$UNF_MSG\"" test "$(dmesg | grep -cF "$UNF_MSG")" -gt "$pick0"
touch "$W/go.pickup"

busywait 20000 file_or_dead /nonexistent "$DEC" >/dev/null
n=$(($(dmesg | grep -c 'not RTSP (client no longer followed)') - log0))
info "log: $(dmesg | grep 'client no longer followed' | tail -n 3)"
check_eq "the log names the POST's connection once" 1 "$n"

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
