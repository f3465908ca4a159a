#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Transport "destination=": what the server is told, and that the media is
# only ever delivered to the host that sent the SETUP.
#
# Decoder 1 (192.168.1.200) sends
#   Transport: MP2T/H2221/UDP;unicast;destination=192.168.1.201;client_port=27336
# naming decoder 2 (192.168.1.201), which listens on 27336 too and must
# never get a datagram.
#   NAT router, nf_nat_rtsp destaction=auto (default): the server sees
#     destination=<router WAN address>; the stream reaches decoder 1.
#   destaction=auto stunaddr=198.51.100.7: destination=198.51.100.7.
#   destaction=strip: no destination= reaches the server.
#   destaction=none: destination=192.168.1.201 reaches the server
#     unchanged; the stream, sent to the router, still goes to decoder 1.
#   Routed router (no NAT): the MPEG server sends to 192.168.1.201 as the
#     SETUP asked: the expectation is for decoder 1 only, so nothing is let
#     in; control: the same stream to decoder 1 is let in.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

W=$E2E_WORK
PORT=27336
export VOD_TRANSPORT="MP2T/H2221/UDP;unicast;destination=$DEC2_4;client_port=$PORT"

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

# Decoder 2 counts what reaches its port 27336 until $W/dec2.stop exists.
dec2_listen() {
	rm -f "$W/dec2.count" "$W/dec2.stop" "$W/dec2.ready"
	bg nsx "$NS_DEC2" "$PY" -c '
import socket, sys, os, select
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
open(sys.argv[2] + ".ready", "w").close()
n = 0
while not os.path.exists(sys.argv[2] + ".stop"):
    if select.select([s], [], [], 0.2)[0]:
        s.recv(2048)
        n += 1
open(sys.argv[2] + ".count", "w").write(str(n))
' "$PORT" "$W/dec2"
	busywait 20000 test -e "$W/dec2.ready" >/dev/null
}
dec2_count() {
	touch "$W/dec2.stop"
	busywait 10000 test -s "$W/dec2.count" >/dev/null
	cat "$W/dec2.count" 2>/dev/null || echo "?"
}

# nat_case NAME WANT_DEST NF_NAT_RTSP_PARAMS...: one session; WANT_DEST is
# the destination= the server must see ("" for none).
nat_case() {
	local name=$1 want=$2 seen; shift 2

	check "$name: nf_nat_rtsp loaded with: ${*:-defaults}" \
		eval "modprobe -r nf_nat_rtsp && modprobe nf_nat_rtsp $*"
	dec2_listen
	router_count_udp "$PORT"
	vod_session
	check_eq "$name: decoder 1 (the SETUP's sender) got all 60 datagrams" 60 "$(vod_received)" ||
		vod_dump
	check_eq "$name: decoder 2 (named by destination=) got none" 0 "$(dec2_count)"
	seen=$(server_field SETUP transport | grep -o 'destination=[^;]*')
	check_eq "$name: the server saw '${want:-no destination=}'" "$want" "$seen"
}

nat_case "auto" "destination=$RTR_WAN4"
nat_case "auto+stunaddr" "destination=198.51.100.7" stunaddr=198.51.100.7
nat_case "strip" "" destaction=strip
nat_case "none" "destination=$DEC2_4" destaction=none

# --- routed: no NAT, the sender obeys destination= ------------------------------
check "routed: masquerade removed, ISP routes the LAN" \
	eval "nsx $NS_RTR nft flush ruleset && router_routed_nft && attach_helper_nft rtsp 554"
nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
dec2_listen
VOD_MEDIA_TO=$DEC2_4 VOD_TIMEOUT=8 vod_session
check_eq "routed: the server saw the SETUP from decoder 1 itself" "$DEC4" \
	"$(server_field SETUP peer)"
check_eq "routed: a stream sent to destination=$DEC2_4 is not let in" 0 "$(dec2_count)"
check_eq "routed: decoder 1 got none of it either" 0 "$(vod_received)"
dec2_listen
vod_session
check_eq "routed (control): the same stream sent to decoder 1 is let in" 60 "$(vod_received)" ||
	vod_dump
check_eq "routed (control): decoder 2 got none" 0 "$(dec2_count)"

e2e_exit
