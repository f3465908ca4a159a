#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rtsp-conntrack-status during a Movistar VoD session through the NAT
# router, the helper attached by scripts/rtsp-attach (nftables): it exits 0
# without errors and shows the decoder's RTSP connection with helper=rtsp
# and, between the SETUP and the first media packet, the expectation for
# the decoder's port.  The decoder then receives the whole stream (so the
# rule rtsp-attach wrote carries a real session).
#
# Dynamic debug, the first way to see what the helper does: the normal
# build's pr_debug sites are off; turned on through
# /proc/dynamic_debug/control, they log the session's SETUP, its
# expectation and the NAT mapping.

# The decoder waits up to 300 s for the status run: it is slow on a
# sanitized kernel.

# The helpers below run through check, which shellcheck cannot see.
# shellcheck disable=SC2317

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

SCRIPTS=$(cd "$E2E_DIR/../../scripts" && pwd)
ATTACH=$SCRIPTS/rtsp-attach
STATUS=$SCRIPTS/rtsp-conntrack-status

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit

check "rtsp-attach -i $LAN_IF for the VoD session" \
	nsx "$NS_RTR" "$ATTACH" -i "$LAN_IF" || e2e_exit

# /proc/dynamic_debug/control; older kernels have it in debugfs only.
DDC=/proc/dynamic_debug/control
if [ ! -e "$DDC" ]; then
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	DDC=/sys/kernel/debug/dynamic_debug/control
fi
check "normal build: nf_conntrack_rtsp has pr_debug sites in $DDC, all off" \
	eval "grep -q '\[nf_conntrack_rtsp\]' $DDC && ! grep -q '\[nf_conntrack_rtsp\].* =p ' $DDC"
check "dynamic debug on for both modules (as the README says)" \
	eval "echo 'module nf_conntrack_rtsp +p; module nf_nat_rtsp +p' >$DDC"
dmesg -C
nsx "$NS_RTR" conntrack -F 2>/dev/null

w=$E2E_WORK
port=27336
count=60
bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$VOD4" --port 554 \
	--log "$w/server.log" --ready-file "$w/server.ready" \
	--media-done "$w/media.done" \
	--media-cmd "ip netns exec $NS_MPEG $PY $ROLES/media.py --to {addr} --port {port} --count $count --src-port 48440"
srv=$BG_PID
busywait 60000 file_or_dead "$w/server.ready" "$srv" >/dev/null
if [ ! -e "$w/server.ready" ]; then
	fail "RTSP server started for the VoD session"
	e2e_exit
fi

bg nsx "$NS_DEC" "$PY" "$ROLES/decoder.py" --server "$VOD4" \
	--transport "MP2T/H2221/UDP;unicast;client_port=$port" --listen "$port" \
	--count "$count" --timeout 60 --gate-timeout 300 --stop-file "$w/media.done" \
	--setup-done "$w/setup.done" --play-gate "$w/play.go" \
	>"$w/decoder.json" 2>"$w/decoder.err"
dec=$BG_PID
busywait 60000 file_or_dead "$w/setup.done" "$dec" >/dev/null

status_rc=0
nsx "$NS_RTR" "$STATUS" >"$w/session-status.out" 2>"$w/session-status.err" ||
	status_rc=$?
touch "$w/play.go"
wait "$dec"
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

session_status() {
	cat "$w/session-status.out" "$w/session-status.err"
	[ "$status_rc" -eq 0 ] && [ ! -s "$w/session-status.err" ]
}
check "rtsp-conntrack-status during a session: exit 0, no errors" session_status
check "rtsp-conntrack-status shows the decoder's connection with helper=rtsp" \
	grep -q "dport=554 .*helper=rtsp" "$w/session-status.out"
check "rtsp-conntrack-status shows the expectation for udp dport $port" \
	eval "sed -n '/^== Expectations/,/^== /p' '$w/session-status.out' | grep -Eq 'proto=17 .*dport=$port( |\$)'"
check_eq "decoder received all $count datagrams" "$count" "$(vod_received)" ||
	vod_dump
dmesg >"$w/dmesg.txt"
for trace in "nf_conntrack_rtsp: SETUP, Transport: MP2T/H2221/UDP;unicast;client_port=$port\$" \
	"nf_conntrack_rtsp: SETUP: udp transport, client ports $port-$port\$" \
	"nf_nat_rtsp: expect udp 0\.0\.0\.0/0\.0\.0\.0 -> $RTR_WAN4:[0-9]+ \(any source\)\$" \
	"nf_nat_rtsp: client port $port mapped to [0-9]+\$"; do
	check "dynamic debug trace: ${trace%\$}" grep -Eq "$trace" "$w/dmesg.txt"
done
echo 'module nf_conntrack_rtsp -p; module nf_nat_rtsp -p' >$DDC
info "rtsp-conntrack-status in the middle of the session:"
sed 's/^/      /' "$w/session-status.out"

check "rtsp-attach --remove" nsx "$NS_RTR" "$ATTACH" --remove

e2e_exit
