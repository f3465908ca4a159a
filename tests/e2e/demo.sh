#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of "make demo" (see tests/e2e/demo): the Movistar VoD
# scenario of 10-movistar-nft.sh, narrated for a person.

# Run with --exec, this script is a copy outside the tree: lib.sh is in /src.
# shellcheck source=lib.sh
. /src/tests/e2e/lib.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { sed 's/^/    /' "$@"; }

require_cmd ip nft conntrack "$PY"
load_rtsp_modules

say "Kernel $(uname -r); modules loaded:"
grep -E '^nf_(conntrack|nat)_rtsp ' /proc/modules | cut -d' ' -f1 | show

topo_movistar || e2e_exit
router_nat_nft || e2e_exit
attach_helper_nft rtsp 554 || e2e_exit
router_count_udp 27336

say "Topology (all inside this VM, in network namespaces)"
cat <<-EOT | show
decoder  $DEC4 (LAN) -- router: LAN $RTR_LAN4, WAN $RTR_WAN4 (masquerade,
forward policy drop except established/related) -- ISP -- VoD manager
$VOD4:554 and, separately, MPEG server $MPEG4
EOT
say "The router attaches the helper by rule (kernels >= 6.0 need one):"
nsx "$NS_RTR" nft list table inet e2e_helper | show

dmesg -C
say "Decoder: OPTIONS, SETUP, PLAY; the MPEG server streams on PLAY"
vod_session
rc=$?

say "The SETUP as the VoD manager received it"
grep '"SETUP"' "$E2E_WORK/server.log" | "$PY" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("%s\nTransport: %s\n(from %s:%s: the router, after masquerade)"
          % (r["start"], r["transport"], r["peer"], r["port"]))' | show
say "conntrack -L expect (on the router, after SETUP, before PLAY)"
show "$E2E_WORK/expect.txt"
say "conntrack -L: the control connection carries the helper"
show "$E2E_WORK/ct.txt"
say "dmesg (debug build: what the helper did)"
dmesg | grep -E 'nf_(conntrack|nat)_rtsp' | tee "$E2E_WORK/trace.txt" | show
check "debug trace: the SETUP and its Transport" \
	grep -q 'nf_conntrack_rtsp: SETUP, Transport: MP2T/H2221/UDP;unicast;client_port=27336' "$E2E_WORK/trace.txt"
check "debug trace: the expectation tuple" \
	grep -q "nf_nat_rtsp: expect udp .* -> $RTR_WAN4:27336 (any source)" "$E2E_WORK/trace.txt"
check "debug trace: the NAT port choice" \
	grep -q 'nf_nat_rtsp: client port 27336 mapped to 27336' "$E2E_WORK/trace.txt"
got=$(vod_received)
say "Result: ${got:-0} of ${VOD_COUNT:-60} MPEG-TS datagrams (7 x 188 bytes) from $MPEG4 reached the decoder"
check_eq "stream reached the decoder through NAT with the helper" "${VOD_COUNT:-60}" "${got:-0}"

say "Control: the same session with no helper rule"
nsx "$NS_RTR" nft delete table inet e2e_helper
# The first session's server may linger: free port 554 for the second.
ip netns pids "$NS_VOD" | xargs -r kill 2>/dev/null
busywait 5000 eval "! ip netns pids $NS_VOD | grep -q ."
vod_session
rc2=$(json_get "$E2E_WORK/decoder.json" play_status)
got=$(vod_received)
say "Result without the helper: ${got:-0} datagrams reached the decoder (the router dropped the stream)"
# Zero only means something if the RTSP exchange itself worked.
check_eq "RTSP SETUP/PLAY answered without the helper" 200 "$rc2" || vod_dump
check_eq "no helper, no stream" 0 "${got:-0}"
check_eq "RTSP exchange with the helper" 0 "$rc"
echo
echo "$_n_pass passed, $_n_fail failed"
e2e_exit
