#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM basics: our modules load (and unload), the reference topology is built,
# traffic crosses the router with masquerade, and the helper-attach rules of
# lib.sh work (checked with the in-tree FTP helper, independent of ours).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft iptables conntrack modprobe "$PY"

# --- modules -------------------------------------------------------------------
if modinfo nf_conntrack_rtsp >/dev/null 2>&1 && modinfo nf_nat_rtsp >/dev/null 2>&1; then
	check "modprobe nf_nat_rtsp" modprobe nf_nat_rtsp
	check "nf_nat_rtsp pulled in nf_conntrack_rtsp" \
		grep -q '^nf_conntrack_rtsp ' /proc/modules
	check "modprobe -r nf_nat_rtsp nf_conntrack_rtsp" \
		modprobe -r nf_nat_rtsp nf_conntrack_rtsp
	check "modprobe nf_conntrack_rtsp" modprobe nf_conntrack_rtsp
	check "modprobe nf_nat_rtsp" modprobe nf_nat_rtsp
else
	skip "modprobe nf_conntrack_rtsp nf_nat_rtsp" "modules not built"
fi

# --- topology ----------------------------------------------------------------------
check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft
check "router: NAT66 masquerade" router_nat66_nft

check "ping decoder -> router (LAN)" nsx "$NS_DEC" "${PING[@]}" -c1 -W2 "$RTR_LAN4"
check "ping decoder2 -> router (LAN)" nsx "$NS_DEC2" "${PING[@]}" -c1 -W2 "$RTR_LAN4"
check "ping6 decoder -> router (LAN)" nsx "$NS_DEC" "${PING[@]}" -6 -c1 -W2 "$RTR_LAN6"
check "ping decoder -> VoD manager (masquerade)" \
	busywait 20000 nsx "$NS_DEC" "${PING[@]}" -c1 -W1 "$VOD4"
check "ping decoder -> MPEG server" nsx "$NS_DEC" "${PING[@]}" -c1 -W2 "$MPEG4"
check "ping6 decoder -> VoD manager (NAT66)" \
	busywait 20000 nsx "$NS_DEC" "${PING[@]}" -6 -c1 -W1 "$VOD6"
check "conntrack: VoD manager answered the router's WAN address" \
	eval "nsx \"$NS_RTR\" conntrack -L -p icmp -d $VOD4 2>/dev/null | grep -q 'dst=$RTR_WAN4'"
check "firewall: WAN cannot reach the LAN unsolicited" \
	eval "! nsx \"$NS_ISP\" ${PING[*]} -c1 -W1 $DEC4"

# --- helper attach rules (in-tree FTP helper as a stand-in) -----------------------
ftp_conn() {	# ftp_conn: one TCP connection decoder -> VoD manager port 21
	nsx "$NS_DEC" "$PY" -c '
import socket, sys
socket.create_connection((sys.argv[1], 21), timeout=5).close()' "$VOD4"
}
helper_on_21() {	# helper_on_21: conntrack shows helper=ftp on port 21
	# shellcheck disable=SC2317 # called through check and eval
	nsx "$NS_RTR" conntrack -L -p tcp --dport 21 2>/dev/null | grep -q 'helper=ftp'
}

bg nsx "$NS_VOD" "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 21)); s.listen(8)
open(sys.argv[2], "w").close()
while True: s.accept()[0].close()' "$VOD4" "$E2E_WORK/ftp.ready"
busywait 60000 test -e "$E2E_WORK/ftp.ready"

check "control: no helper rule" attach_helper_none
ftp_conn
check "control: no helper without a rule" eval '! helper_on_21'

nsx "$NS_RTR" conntrack -F 2>/dev/null
if check "nft: ct helper object + rule (ftp)" attach_helper_nft ftp 21; then
	ftp_conn
	check "nft rule attaches helper=ftp" helper_on_21
fi
nsx "$NS_RTR" nft delete table inet e2e_helper

nsx "$NS_RTR" conntrack -F 2>/dev/null
if check "iptables: raw CT --helper rule (ftp)" attach_helper_iptables ftp 21; then
	ftp_conn
	check "iptables rule attaches helper=ftp" helper_on_21
fi

if grep -q '^nf_conntrack_rtsp ' /proc/modules; then
	nsx "$NS_RTR" iptables -t raw -F PREROUTING
	nsx "$NS_RTR" ip6tables -t raw -F PREROUTING
	check "nft: ct helper object of type rtsp accepted" attach_helper_nft rtsp 554
fi

e2e_exit
