#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NAT slipstreaming (issue 16, 3), through the NAT router.
#
# A browser on the LAN can be made to POST to an attacker's server on an
# attached port (554), with a body the attacker chose, cut into segments
# where the attacker wants (the server's MSS steers that). A helper that
# looks for a message at every new segment after bytes that are not RTSP
# takes a body segment that starts with "SETUP" for a request, and opens
# the port it names. Each case below is one control connection:
#
#   slip      "POST /submit HTTP/1.1" with a Content-Length body whose
#             second segment is a SETUP for 40100, then a third segment,
#             a SETUP for 40101: neither is expected (the connection
#             showed bytes that are not RTSP: it is not followed any more)
#   control   the same SETUP for 40102 on a clean connection: expected
#   body      SET_PARAMETER whose body has a segment starting with a SETUP
#             for 40104, then a real SETUP for 40106: only 40106 expected
#             (a body is skipped, and does not poison the connection)
#   frame     an interleaved '$' frame (RFC 2326 10.12) of 300 bytes in
#             three segments, the second starting with binary bytes, the
#             third with a SETUP for 40110 (inside the frame), then a real
#             SETUP for 40108: only 40108 expected
#
# The log names the client once ("client no longer followed").

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
# vod_session needs $VOD4:554: the raw server gets a second address.
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit

"$PY" - "$W" "$SRV" >"$W/dec.json" <<'EOF'
import json, sys
w, srv = sys.argv[1], sys.argv[2]
def setup(port, uri="rtsp://%s/vod" % srv, cseq=1):
    return ("SETUP %s RTSP/1.0\r\nCSeq: %d\r\nTransport: RTP/AVP;unicast;"
            "client_port=%d\r\nUser-Agent: MICA-IP-STB\r\n\r\n" % (uri, cseq, port))
steps = []
def conn(name, send, cuts):
    steps.extend([{"connect": srv},
                  {"send": send, "cuts": cuts, "gap": 0.3},
                  {"recv": 1, "timeout": 3, "may_fail": True},
                  {"touch": "%s/gate.%s" % (w, name)},
                  {"wait": "%s/go.%s" % (w, name)}, {"close": 1}])
# slip: the POST's body: padding, a SETUP; then another SETUP.
body = "q=" + "x" * 200 + setup(40100, "rtsp://x/slip")
post = ("POST /submit HTTP/1.1\r\nHost: %s:554\r\nContent-Type: text/plain\r\n"
        "Content-Length: %d\r\n\r\n%s" % (srv, len(body), body))
conn("slip", [post, setup(40101, cseq=2)],
     ["SETUP rtsp://x/slip", "SETUP rtsp://%s/vod" % srv])
conn("control", [setup(40102)], [])
# body: SET_PARAMETER, a segment of its body starts with a SETUP.
b = "position: 0\r\n" + setup(40104, "rtsp://x/trap")
sp = ("SET_PARAMETER rtsp://%s/vod RTSP/1.0\r\nCSeq: 1\r\nContent-Type: "
      "text/parameters\r\nContent-Length: %d\r\n\r\n%s" % (srv, len(b), b))
conn("body", [sp, setup(40106, cseq=2)],
     ["SETUP rtsp://x/trap", "SETUP rtsp://%s/vod" % srv])
# frame: '$', channel 1, 300 bytes; segment 2 starts with binary bytes,
# segment 3 with a SETUP inside the frame.
data = "\x00\x01\x80\xffbinary" + "y" * 40 + setup(40110, "rtsp://x/inframe")
data += "z" * (300 - len(data))
frame = "$\x01" + chr(300 >> 8) + chr(300 & 255) + data
conn("frame", [frame, setup(40108, cseq=2)],
     ["\x00\x01\x80\xffbinary", "SETUP rtsp://x/inframe",
      "SETUP rtsp://%s/vod" % srv])
print(json.dumps(steps))
EOF
rb_client dec "$NS_DEC" ""
DEC=$RB_CLI_PID
log0=$(dmesg | grep -c 'client no longer followed')


rb_case_snap slip "$DEC"
check "slip: the POST went out in 3 segments" test "$(rb_segments)" -ge 3
check "slip: the SETUP-shaped segment of the POST body opened nothing (40100)" \
	eval "! rb_snap_port 40100"
check "slip: nor a SETUP after it on that connection (40101)" \
	eval "! rb_snap_port 40101"
touch "$W/go.slip"

rb_case_snap control "$DEC"
check "control: the same SETUP on a clean connection is expected (40102)" \
	rb_snap_port 40102
touch "$W/go.control"

rb_case_snap body "$DEC"
check "body: the SETUP-shaped segment inside a Content-Length body opened nothing (40104)" \
	eval "! rb_snap_port 40104"
check "body: the SETUP after the body is expected (40106)" rb_snap_port 40106
touch "$W/go.body"

rb_case_snap frame "$DEC"
check "frame: the SETUP-shaped segment inside an interleaved frame opened nothing (40110)" \
	eval "! rb_snap_port 40110"
check "frame: the SETUP after the frame is expected (40108)" rb_snap_port 40108
touch "$W/go.frame"

busywait 20000 file_or_dead /nonexistent "$DEC" >/dev/null
n=$(($(dmesg | grep -c 'client no longer followed') - log0))
info "log: $(dmesg | grep 'client no longer followed' | tail -n 3)"
check_eq "the log names the poisoned connection once" 1 "$n"

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
