#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SMP stress (issue 16, 6): meant for 2 vCPUs and the sanitized kernel,
#   RTSP_E2E_STRESS_SECS=600 RTSP_E2E_MEM=2048 \
#   tests/e2e/run --kernel debug --smp 2 --timeout 1200 73-smp-stress.sh
# and short (E2E_STRESS_SECS, default 60 s) in the normal suite.
#
# For the whole duration, through the NAT router, at once:
#   - churn: three clients (two on decoder 1, one on decoder 2, asking for
#     ports the others also ask for) set sessions up and tear them down
#     in a loop (OPTIONS, SETUP, PLAY, TEARDOWN), and the MPEG server
#     sprays UDP at the router's media ports (flows take expectations);
#   - conntrack -D of the control connections and of the media flows,
#     and conntrack -F, in a loop on the router, which also switches
#     max_per_host between 0 and 32 (with 0, a SETUP is expected even
#     without connection state, as while the module unloads);
#   - nf_nat_rtsp and nf_conntrack_rtsp unloaded and loaded again in a
#     loop (roles/modcycle.py), the helper rule deleted and re-added.
# Then: the traffic stops, the modules unload; no expectation is left, the
# nf_conntrack_expect slab is back to its baseline (slab_nomerge), no
# kernel report (KASAN, lockdep, list debugging: the harness's log check),
# no kmemleak report (sanitized kernel); the modules load again and a
# Movistar session works.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter modinfo "$PY"
load_rtsp_modules
now_ms T0

SECS=${E2E_STRESS_SECS:-60}
W=$E2E_WORK
SRV=172.26.22.11

rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit

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
info "$(nproc) CPU(s), $SECS s; nf_conntrack_expect slab baseline: ${slab0:-merged (no slab_nomerge)}"

KOS=("$(modinfo -n nf_conntrack_rtsp)" "$(modinfo -n nf_nat_rtsp)")
bg nse "$NS_RTR" "$PY" "$ROLES/modcycle.py" --ko "${KOS[0]}" --ko "${KOS[1]}" \
	--cycles 100000 --max-time "$SECS" --dwell 1 --ruleset "$W/helper.nft" \
	--start-file "$W/go" >"$W/cycle.json" 2>"$W/cycle.err"
CYC=$BG_PID

PIDS=()
churn() {	# churn NAME NS PORTS ARGS...
	bg nse "$2" "$PY" "$RAW" churn --server "$SRV" --ports "$3" \
		--stop-file "$W/stop" --timeout 2 --max-time $((SECS + 120)) "${@:4}" >"$W/$1.json"
	PIDS+=("$BG_PID")
}
churn c1 "$NS_DEC" 27340,27342,27344 --pause 0.1
churn c2 "$NS_DEC" 27346,27340 --hold 0.05 --pause 0.1
churn c3 "$NS_DEC2" 27340,27346,27348 --pause 0.1
# shellcheck disable=SC2016 # expanded by the inner bash
bg nse "$NS_MPEG" bash -c '
	exec 5<> <(:)
	while [ ! -e "$1" ]; do
		for p in 27340 27341 27342 27343 27344 27345 27346 27347 27348; do
			printf "media" 2>/dev/null >"/dev/udp/$2/$p"
		done
		read -rt 0.2 -u 5 _
	done' spray "$W/stop" "$RTR_WAN4"
PIDS+=("$BG_PID")
# shellcheck disable=SC2016 # expanded by the inner bash
bg nse "$NS_RTR" bash -c '
	exec 5<> <(:)
	n=0 d=0 f=0
	while [ ! -e "$1" ]; do
		n=$((n + 1))
		# Half the time without max_per_host: a SETUP then expects
		# even without connection state (as while unloading).
		echo $((n % 2 ? 0 : 32)) 2>/dev/null >/sys/module/nf_conntrack_rtsp/parameters/max_per_host
		conntrack -D -p tcp --dport 554 >/dev/null 2>&1 && d=$((d + 1))
		read -rt 0.3 -u 5 _
		conntrack -D -p udp >/dev/null 2>&1 && d=$((d + 1))
		read -rt 0.3 -u 5 _
		if [ $((n % 8)) -eq 0 ]; then
			conntrack -F >/dev/null 2>&1 && f=$((f + 1))
		fi
		echo "$n $d $f" >"$2.tmp" && mv "$2.tmp" "$2"
	done' ctdel "$W/stop" "$W/ctdel.txt"
PIDS+=("$BG_PID")

busywait 60000 grep -q '"method": "TEARDOWN"' "$W/raw.log" >/dev/null
info "traffic running: $(rb_expect_total) expectations now"
now_ms C0
touch "$W/go"
wait "$CYC"
crc=$?
info "cycler: $(cat "$W/cycle.json" "$W/cycle.err")"
cycles=$(sed -n 's/.*"cycles": \([0-9]*\).*/\1/p' "$W/cycle.json")
check "module unload/load cycles for ${SECS}s under churn without an error: ${cycles:-0}" \
	test "$crc" -eq 0 -a "${cycles:-0}" -ge 2
touch "$W/stop"
wait "${PIDS[@]}" 2>/dev/null
secs=$(rb_elapsed "$C0")
setups=0
for c in c1 c2 c3; do
	info "$c: $(cat "$W/$c.json")"
	n=$(sed -n 's/.*"ok": \([0-9]*\).*/\1/p' "$W/$c.json")
	setups=$((setups + ${n:-0}))
done
read -r loops dels flushes <"$W/ctdel.txt"
sent=$(grep -c '"method": "SETUP"' "$W/raw.log")
info "stress: ${secs}s, $sent SETUPs at the server, $setups whole sessions, ${cycles:-0} unload/load cycles, conntrack -D/-F loops: $loops (deletions that found something: $dels, flushes: $flushes)"
check "sessions completed during the stress: $setups" test "$setups" -ge 3
check "kernel log clean after the stress" rb_dmesg_clean

# Whatever the last cycle left: the helper rule pins the modules.
nse "$NS_RTR" nft delete table inet e2e_helper 2>/dev/null
check "modules unload after the stress" modprobe -r nf_nat_rtsp nf_conntrack_rtsp
check_eq "no expectation left" 0 "$(rb_expect_total)"
if [ -n "$slab0" ]; then
	got=$(busywait 10000 rb_slab_le nf_conntrack_expect "$slab0" | tail -n1)
	check_eq "nf_conntrack_expect slab back to its baseline (active objects)" "$slab0" "$got"
else
	skip "nf_conntrack_expect slab back to its baseline" \
		"cache merged with others: boot with slab_nomerge"
fi
rb_check_kmemleak "kmemleak: no leak in netfilter code"

check "modules load again" modprobe nf_nat_rtsp
check "helper rule added again" nse "$NS_RTR" nft -f "$W/helper.nft"
vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
