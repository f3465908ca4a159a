#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unloading and reloading the helpers under traffic.
#
# Two decoders set RTSP sessions up and tear them down in a loop (OPTIONS,
# SETUP, PLAY, TEARDOWN; decoder 2 asks for a port decoder 1 also uses,
# so NAT picks other ports), and the MPEG server sprays UDP at the
# router's media ports (each datagram a new flow, taking an expectation
# when there is one). Meanwhile nf_nat_rtsp and nf_conntrack_rtsp are
# unloaded and loaded again 100 times (roles/modcycle.py: the
# delete_module/finit_module system calls and libnftables, in one process,
# as starting modprobe and nft each cycle costs seconds under a loaded TCG
# host), then 2 more times with modprobe -r / modprobe and nft themselves.
# Past a time budget (UNLOAD_BUDGET, 120 s) the cycles stop: what was not
# done is a SKIP, not a FAIL.
#
# The helper rule: a ct helper object (nft "ct helper" or iptables "CT
# --helper") takes a reference on the helper's module, so neither module
# unloads while the rule exists; and the object cannot be created while
# nf_conntrack_rtsp is not loaded. So each cycle deletes the nft table
# holding the rule, unloads, loads, and adds the table again. Connections
# that began while the helper was away keep no helper (nft assigns one to
# new connections only); new ones get it again.
#
# Checks: every cycle succeeds; no WARNING/BUG/Oops; after stopping the
# traffic and unloading, no expectation is left and the nf_conntrack_expect
# slab is back to its baseline (needs slab_nomerge, else SKIP); the modules
# load again and a Movistar session works.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter modinfo "$PY"
load_rtsp_modules
now_ms T0

CYCLES=${UNLOAD_CYCLES:-100}
# Unloading nf_conntrack_rtsp waits for about ten RCU grace periods (its
# own exit and the kernel's unregistration of its IPv4 and IPv6 helpers):
# ~1 s per cycle under TCG on an idle host, 2-3 s on a loaded one. Past this budget the cycles stop and the shortfall is a
# SKIP, so that a busy CI machine does not make the VM time out.
BUDGET=${UNLOAD_BUDGET:-120}
W=$E2E_WORK
CHURN_SRV=172.26.22.11

rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$CHURN_SRV/24" dev eth0
check "raw RTSP server on $CHURN_SRV" eval "RB_SRV_BIND=$CHURN_SRV rb_server" || e2e_exit

# The rule attach_helper_nft adds, as a script the cycler can re-add.
cat >"$W/helper.nft" <<EOF
table inet e2e_helper {
	ct helper rtsp-helper {
		type "rtsp" protocol tcp;
		l3proto inet;
	}
	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		tcp dport 554 ct helper set "rtsp-helper"
	}
}
EOF

slab0=$(rb_slab nf_conntrack_expect) || slab0=
rb_kmemleak_start
info "nf_conntrack_expect slab baseline: ${slab0:-merged (no slab_nomerge)}"

# The cycler starts first (a Python start is slow once the traffic runs)
# and waits for $W/go.
KOS=("$(modinfo -n nf_conntrack_rtsp)" "$(modinfo -n nf_nat_rtsp)")
bg nse "$NS_RTR" "$PY" "$ROLES/modcycle.py" --ko "${KOS[0]}" --ko "${KOS[1]}" \
	--cycles "$CYCLES" --max-time "$BUDGET" --dwell 0.03 --ruleset "$W/helper.nft" \
	--start-file "$W/go" >"$W/cycle.json" 2>"$W/cycle.err"
CYC=$BG_PID

# --- traffic ---------------------------------------------------------------------
bg nse "$NS_DEC" "$PY" "$RAW" churn --server "$CHURN_SRV" --ports 27340,27342,27344 \
	--stop-file "$W/stop" --timeout 2 --pause 0.3 --max-time 600 >"$W/churn1.json"
CH1=$BG_PID
bg nse "$NS_DEC2" "$PY" "$RAW" churn --server "$CHURN_SRV" --ports 27340,27346 \
	--stop-file "$W/stop" --timeout 2 --hold 0.05 --pause 0.3 --max-time 600 >"$W/churn2.json"
CH2=$BG_PID
# shellcheck disable=SC2016 # expanded by the inner bash
bg nse "$NS_MPEG" bash -c '
	exec 5<> <(:)
	while [ ! -e "$1" ]; do
		for p in 27340 27341 27342 27343 27344 27345 27346 27347; do
			printf "media" 2>/dev/null >"/dev/udp/$2/$p"
		done
		read -rt 0.2 -u 5 _
	done' spray "$W/stop" "$RTR_WAN4"
SPRAY=$BG_PID

# Let sessions start with the helper in place.
busywait 60000 grep -q '"method": "TEARDOWN"' "$W/raw.log" >/dev/null
info "traffic running: $(rb_expect_total) expectations now"

# --- cycles ----------------------------------------------------------------------
now_ms C0
touch "$W/go"
wait "$CYC"
crc=$?
csecs=$(rb_elapsed "$C0")
info "cycler: $(cat "$W/cycle.json" "$W/cycle.err")"
done_cycles=$(sed -n 's/.*"cycles": \([0-9]*\).*/\1/p' "$W/cycle.json")
check "unload/load cycles under traffic without an error: ${done_cycles:-0} in ${csecs}s" \
	test "$crc" -eq 0 -a "${done_cycles:-0}" -ge 10
if [ "${done_cycles:-0}" -lt "$CYCLES" ] && [ "$crc" -eq 0 ]; then
	skip "$CYCLES unload/load cycles" "only ${done_cycles:-0} within the ${BUDGET}s budget: slow host"
elif [ "$crc" -eq 0 ]; then
	pass "$CYCLES unload/load cycles"
fi
check "kernel log clean after the cycles" rb_dmesg_clean

# shellcheck disable=SC2317 # called through check
mp_cycle() {	# one cycle with the real tools
	nse "$NS_RTR" nft delete table inet e2e_helper &&
	modprobe -r nf_nat_rtsp nf_conntrack_rtsp &&
	! grep -q '^nf_conntrack_rtsp ' /proc/modules &&
	modprobe nf_nat_rtsp &&
	grep -q '^nf_conntrack_rtsp ' /proc/modules &&
	nse "$NS_RTR" nft -f "$W/helper.nft"
}
for i in 1 2; do
	now_ms M0
	check "cycle with nft delete / modprobe -r / modprobe / nft -f ($i)" mp_cycle
	info "($(rb_elapsed "$M0")s)"
done
n_under=$(rb_expect_total)

# --- stop, unload, look for leaks -------------------------------------------------
touch "$W/stop"
wait "$CH1" "$CH2" "$SPRAY" 2>/dev/null
info "decoder 1 churn: $(cat "$W/churn1.json")"
info "decoder 2 churn: $(cat "$W/churn2.json")"
check "sessions were set up and torn down during the cycles" \
	eval "grep -Eq '\"ok\": [1-9]' '$W/churn1.json' && grep -Eq '\"ok\": [1-9]' '$W/churn2.json'"
info "expectations right after stopping the traffic: $n_under"

check "unload both modules after the traffic" \
	eval "nse '$NS_RTR' nft delete table inet e2e_helper && modprobe -r nf_nat_rtsp nf_conntrack_rtsp"
check_eq "no expectation left after unloading" 0 "$(rb_expect_total)"
if [ -n "$slab0" ]; then
	got=$(busywait 10000 rb_slab_le nf_conntrack_expect "$slab0" | tail -n1)
	check_eq "nf_conntrack_expect slab back to its baseline (active objects)" "$slab0" "$got"
else
	skip "nf_conntrack_expect slab back to its baseline" \
		"cache merged with others: boot with slab_nomerge (RTSP_E2E_APPEND=slab_nomerge)"
fi

# --- and they still work -----------------------------------------------------------
check "modules load again" modprobe nf_nat_rtsp
check "helper rule added again" nse "$NS_RTR" nft -f "$W/helper.nft"
vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
rb_check_kmemleak "kmemleak: no leak in netfilter code"
info "cycles done: $done_cycles + 2 with modprobe; wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
