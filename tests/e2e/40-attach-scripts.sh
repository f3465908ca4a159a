#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The router scripts on a real kernel, in the router namespace.
#
# scripts/rtsp-attach -i br-lan, with nftables and then with iptables:
# the decoder's control connection to port 554 (IPv4 and IPv6) gets
# helper=rtsp; a second run adds nothing; --remove takes the rules away
# and new connections get no helper.  A rule on the WAN interface attaches
# nothing (the control connection enters by the LAN: the documented choice
# of interface), --local covers the router's own connections, and --sysctl
# is refused on a kernel >= 6.0.
#
# rtsp-attach warns about a rule on the WAN side.
#
# scripts/rtsp-conntrack-status runs without errors, shows the loaded
# modules and the attach rule, and diagnoses a missing rule.  During a VoD
# session: 41-status-session.sh; older installs' leftovers and ports=:
# 42-attach-legacy.sh.

# The helpers below run through check and eval, which shellcheck cannot see.
# shellcheck disable=SC2317
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft iptables ip6tables conntrack "$PY"
load_rtsp_modules

SCRIPTS=$(cd "$E2E_DIR/../../scripts" && pwd)
ATTACH=$SCRIPTS/rtsp-attach
STATUS=$SCRIPTS/rtsp-conntrack-status

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: NAT66 masquerade" router_nat66_nft || e2e_exit

# A dual-stack listener on the VoD manager's port 554 (not RTSP: only the
# TCP connection matters here).  The client closes first, so that no
# TIME_WAIT socket keeps the port from the RTSP server started later.
bg nsx "$NS_VOD" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 554)); s.listen(16)
open(sys.argv[1], "w").close()
while True:
    c = s.accept()[0]
    c.settimeout(10)
    try:
        while c.recv(64): pass
    except OSError:
        pass
    c.close()' "$E2E_WORK/listen.ready"
busywait 60000 test -e "$E2E_WORK/listen.ready" >/dev/null

# conn554 4|6 [NS]: one TCP connection to the VoD manager:554 (bash's
# /dev/tcp: starting python for each costs seconds under TCG).
conn554() {
	local dst=$VOD4
	[ "$1" = 6 ] && dst=$VOD6
	# shellcheck disable=SC2016 # $1 of the inner bash
	nsx "${2:-$NS_DEC}" timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/554"' - "$dst"
}

ct554() {	# ct554 4|6: the router's conntrack entries to port 554
	nsx "$NS_RTR" conntrack -L -f "ipv$1" -p tcp --dport 554 2>/dev/null
}

helper_on_554() {	# helper_on_554 4|6
	ct554 "$1" | grep -q 'helper=rtsp'
}

# no_helper_on_554 4|6: a connection to 554 is tracked, without the helper.
no_helper_on_554() {
	local out
	out=$(ct554 "$1")
	grep -q 'dport=554' <<<"$out" && ! grep -q 'helper=' <<<"$out"
}

rule_count() {	# rule_count nft|iptables: our attach rules in the router
	if [ "$1" = nft ]; then
		nsx "$NS_RTR" nft list ruleset 2>/dev/null | grep -c 'ct helper set "rtsp"'
	else
		{
			nsx "$NS_RTR" iptables -t raw -S 2>/dev/null
			nsx "$NS_RTR" ip6tables -t raw -S 2>/dev/null
		} | grep -c -- '--comment rtsp-conntrack'
	fi
}

# status_ok MODE: rtsp-conntrack-status exits 0, writes nothing on stderr,
# and shows both modules loaded and our rule.
status_ok() {
	local mode=$1 out=$E2E_WORK/status.out err=$E2E_WORK/status.err rc=0
	nsx "$NS_RTR" "$STATUS" >"$out" 2>"$err" || rc=$?
	cat "$out" "$err"
	[ "$rc" -eq 0 ] && [ ! -s "$err" ] &&
	grep -q '^nf_conntrack_rtsp: loaded' "$out" &&
	grep -q '^nf_nat_rtsp: loaded' "$out" &&
	if [ "$mode" = nft ]; then
		grep -q 'inet rtsp_conntrack chain prerouting: iifname "br-lan"' "$out"
	else
		grep -q -- "-i $LAN_IF .*--helper rtsp" "$out"
	fi
}

# status_no_rule: exit 1 and the diagnosis that no rule attaches the helper.
status_no_rule() {
	local out=$E2E_WORK/status.out rc=0
	nsx "$NS_RTR" "$STATUS" >"$out" 2>&1 || rc=$?
	cat "$out"
	[ "$rc" -eq 1 ] && grep -Eq '(no rule|nothing) attaches the helper' "$out"
}

for mode in nft iptables; do
	nsx "$NS_RTR" conntrack -F 2>/dev/null
	check "$mode: rtsp-attach --$mode -i $LAN_IF" \
		nsx "$NS_RTR" "$ATTACH" "--$mode" -i "$LAN_IF"
	want=1
	[ "$mode" = iptables ] && want=2	# iptables and ip6tables
	check_eq "$mode: $want attach rule(s) in the router" "$want" "$(rule_count "$mode")"
	check "$mode: rtsp-attach again succeeds" \
		nsx "$NS_RTR" "$ATTACH" "--$mode" -i "$LAN_IF"
	check_eq "$mode: still $want rule(s) (idempotent)" "$want" "$(rule_count "$mode")"

	conn554 4
	check "$mode: helper=rtsp on the decoder's IPv4 connection to port 554" helper_on_554 4
	conn554 6
	check "$mode: helper=rtsp on the decoder's IPv6 connection to port 554" helper_on_554 6
	check "$mode: rtsp-conntrack-status: exit 0, modules loaded, rule shown" \
		status_ok "$mode"

	check "$mode: rtsp-attach --$mode --remove" \
		nsx "$NS_RTR" "$ATTACH" "--$mode" --remove
	check_eq "$mode: no attach rule left" 0 "$(rule_count "$mode")"
	check "$mode: rtsp-attach --remove again succeeds" \
		nsx "$NS_RTR" "$ATTACH" "--$mode" --remove
	nsx "$NS_RTR" conntrack -F 2>/dev/null
	conn554 4
	conn554 6
	check "$mode: no helper on new IPv4 connections after --remove" no_helper_on_554 4
	check "$mode: no helper on new IPv6 connections after --remove" no_helper_on_554 6
done

check "rtsp-conntrack-status without a rule: exit 1, says so" status_no_rule

# The rule must name the interface the decoders are on: on the WAN (IPTV)
# side it never sees the control connection come in.
nsx "$NS_RTR" conntrack -F 2>/dev/null
wan_warned() {	# it carries the default route: warned, still done
	nsx "$NS_RTR" "$ATTACH" -i "$WAN_IF" 2>"$E2E_WORK/wan.err" || return 1
	cat "$E2E_WORK/wan.err"
	grep -q "warning: $WAN_IF carries the default route" "$E2E_WORK/wan.err"
}
if check "rtsp-attach -i $WAN_IF (the wrong side): done, with a warning" wan_warned; then
	conn554 4
	check "a rule on $WAN_IF attaches nothing to the decoder's connection" \
		no_helper_on_554 4
fi

# --local: connections the router itself opens (output hook).
nsx "$NS_RTR" conntrack -F 2>/dev/null
if check "rtsp-attach -i $LAN_IF --local" nsx "$NS_RTR" "$ATTACH" -i "$LAN_IF" --local; then
	conn554 4 "$NS_RTR"
	check "--local: helper=rtsp on the router's own connection" helper_on_554 4
fi
check "rtsp-attach --remove (both kinds)" nsx "$NS_RTR" "$ATTACH" --remove
check_eq "no rule of either kind left" 0 \
	"$(( $(rule_count nft) + $(rule_count iptables) ))"

sysctl_refused() {	# the automatic assignment sysctl is gone since 6.0
	local out rc=0
	out=$(nsx "$NS_RTR" "$ATTACH" --sysctl 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -ne 0 ] && grep -q 'removed in 6.0' <<<"$out"
}
if printf '%s\n' 6.0 "$(uname -r)" | sort -V -C; then
	check "rtsp-attach --sysctl refused on kernel $(uname -r) (>= 6.0)" sysctl_refused
else
	# Kernels < 6.0 can still attach helpers by port: the sysctl alone.
	nsx "$NS_RTR" conntrack -F 2>/dev/null
	check "rtsp-attach --sysctl on kernel $(uname -r) (< 6.0)" \
		nsx "$NS_RTR" "$ATTACH" --sysctl
	check_eq "net.netfilter.nf_conntrack_helper=1 in the router" 1 \
		"$(nsx "$NS_RTR" sysctl -n net.netfilter.nf_conntrack_helper)"
	conn554 4
	check "--sysctl: helper=rtsp on the decoder's connection, no rule" \
		helper_on_554 4
	check "rtsp-attach --remove --sysctl" nsx "$NS_RTR" "$ATTACH" --remove --sysctl
	check_eq "net.netfilter.nf_conntrack_helper=0 again" 0 \
		"$(nsx "$NS_RTR" sysctl -n net.netfilter.nf_conntrack_helper)"
fi

e2e_exit
