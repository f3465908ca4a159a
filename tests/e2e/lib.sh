# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers of the e2e test scripts (tests/e2e/NN-*.sh), which run as
# root inside the QEMU guest booted by tests/e2e/run. In the style of the
# kernel's selftests/net/netfilter/lib.sh and WireGuard's netns.sh:
# uniquely named namespaces, busywait instead of sleeps, cleanup on EXIT,
# one PASS/FAIL/SKIP line per check and SKIP (never PASS) for what cannot
# be tested.
#
# The reference topology (topo_movistar) is all inside the VM:
#
#   dec  192.168.1.200/24 fd00:1::200/64 --.
#                                          br-lan [rtr] wan0 ---- isp0 [isp] -- vod  172.26.22.10/24   2001:db8:22::10/64
#   dec2 192.168.1.201/24 fd00:1::201/64 --'  192.168.1.1   10.214.10.20/16  |   10.214.0.1/16     |- mpeg 172.26.83.137/24  2001:db8:83::137/64
#                                             fd00:1::1     2001:db8:1::20   |   2001:db8:1::1     '- out  10.99.0.5/24      2001:db8:99::5/64
#
# rtr is the router under test (forwarding, firewall, NAT, helper). isp is
# a plain router between rtr's WAN and the three server namespaces, each on
# its own /24 (/64) with isp at .1 (::1): vod is the RTSP VoD manager, mpeg
# the MPEG server that sends the stream, out an unrelated "outsider" sender
# for source-policy tests. isp has no route back to the LAN unless the
# routed (no NAT) variant is set up.
# topo_mpeg2 adds a second MPEG server, mpeg2 172.26.84.10/24
# 2001:db8:84::10/64, behind isp (the seek tests).

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

_lib=${BASH_SOURCE[0]}
[[ $_lib == */* ]] || _lib=./$_lib
E2E_DIR=${E2E_DIR:-$(cd "${_lib%/*}" && pwd)}
ROLES=$E2E_DIR/roles
PY=/usr/bin/python3
TEST_NAME=${TEST_NAME:-${0##*/}}
TEST_NAME=${TEST_NAME%.sh}

E2E_WORK=$(mktemp -d "/tmp/${TEST_NAME}.XXXXXX")

# --- reporting ---------------------------------------------------------------

_n_pass=0
_n_fail=0
_n_skip=0

pass() {	# pass NAME
	echo "PASS: $1"
	_n_pass=$((_n_pass + 1))
}

fail() {	# fail NAME [DETAIL...]: details are indented under the FAIL line
	echo "FAIL: $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | sed '/^$/d; s/^/    /'
	_n_fail=$((_n_fail + 1))
	return 0
}

skip() {	# skip NAME [REASON]
	echo "SKIP: $1${2:+ ($2)}"
	_n_skip=$((_n_skip + 1))
}

info() {	# info MESSAGE: context, not a check
	echo "    $*"
}

# check NAME CMD...: PASS iff CMD succeeds; its output is shown on FAIL. CMD
# runs in this shell (not a subshell), so it may set variables.
check() {
	local name=$1 out=$E2E_WORK/.check.out rc
	shift
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "command failed ($rc): $*" "$(cat "$out")"
	fi
	return $rc
}

check_eq() {	# check_eq NAME WANT GOT
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "want '$2', got '$3'"
		return 1
	fi
}

e2e_exit() {	# exit with the overall result: FAIL > PASS > SKIP
	if [ $_n_fail -gt 0 ]; then
		exit $KSFT_FAIL
	elif [ $_n_pass -gt 0 ]; then
		exit $KSFT_PASS
	fi
	exit $KSFT_SKIP
}

skip_all() {	# skip_all REASON: the whole script cannot run
	skip "$TEST_NAME" "$1"
	e2e_exit
}

require_cmd() {	# require_cmd TOOL...: SKIP the script if one is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "missing tool: $c"
	done
}

# --- waiting ---------------------------------------------------------------------

# Time and sleeps without spawning processes (every exec costs ~0.1 s
# under TCG): a millisecond clock from $EPOCHREALTIME and a sleep that is a
# read timeout on a pipe that never gets data.
now_ms() {	# now_ms VAR: milliseconds since the epoch into VAR
	local t=${EPOCHREALTIME//[.,]/}
	printf -v "$1" '%s' $((t / 1000))
}
exec {_SLEEP_FD}<> <(:)
nap() {	# nap SECONDS: sleep (fractions allowed)
	read -rt "$1" -u "$_SLEEP_FD" _ || true
}

# busywait TIMEOUT_MS CMD...: run CMD until it succeeds or TIMEOUT_MS passes;
# prints CMD's last output, returns its last status.
busywait() {
	local timeout=$1 start now out rc
	shift
	now_ms start
	while :; do
		out=$("$@")
		rc=$?
		if [ $rc -eq 0 ]; then
			[ -n "$out" ] && echo "$out"
			return 0
		fi
		now_ms now
		if [ $((now - start)) -gt "$timeout" ]; then
			[ -n "$out" ] && echo "$out"
			return $rc
		fi
		nap 0.05
	done
}

# PING: iputils' ping if installed, else busybox's (use as "${PING[@]}").
# shellcheck disable=SC2034 # used by the test scripts
if command -v ping >/dev/null 2>&1; then
	PING=(ping)
else
	PING=(busybox ping)
fi

file_or_dead() {	# file_or_dead FILE PID: FILE exists or PID has exited
	[ -e "$1" ] || ! kill -0 "$2" 2>/dev/null
}

# --- cleanup -----------------------------------------------------------------

_NS_LIST=()
_BG_PIDS=()
_ON_EXIT=()

on_exit() {	# on_exit CMD...: run at exit (last registered first)
	_ON_EXIT+=("$*")
}

bg() {	# bg CMD...: run CMD in the background, killed at exit; sets BG_PID
	# nsx is a function: run "ip netns exec" itself, which execs the
	# command, so that BG_PID is the command and killing it stops it.
	if [ "$1" = nsx ]; then
		shift
		set -- ip netns exec "$@"
	fi
	"$@" &
	BG_PID=$!
	_BG_PIDS+=("$BG_PID")
}

_cleanup() {
	local i ns pid

	for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_ON_EXIT[i]}" || true
	done
	for pid in "${_BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${_BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	# Strays (e.g. a media sender a killed server started), then the
	# namespaces: one ip process each way.
	if [ ${#_NS_LIST[@]} -gt 0 ]; then
		ip -force -batch - 2>/dev/null <<<"$(printf 'netns pids %s\n' "${_NS_LIST[@]}")" |
			xargs -r kill 2>/dev/null
		ip -force -batch - 2>/dev/null <<<"$(printf 'netns delete %s\n' "${_NS_LIST[@]}")"
	fi
	rm -rf "$E2E_WORK"
}
trap _cleanup EXIT

# --- namespaces ---------------------------------------------------------------

# New namespaces copy the IPv4/IPv6 settings of this (the VM's initial)
# one: no duplicate address detection, no router advertisements.
_sysctl() { echo "$2" >"/proc/sys/${1//.//}"; }
_sysctl net.core.devconf_inherit_init_net 1
for _c in all default; do
	_sysctl "net.ipv6.conf.$_c.accept_dad" 0
	_sysctl "net.ipv6.conf.$_c.accept_ra" 0
done

# setup_ns VAR...: create one namespace per VAR, named after it with a random
# suffix (e.g. NS_DEC -> dec-3fa9c2), store the name in VAR and bring lo up.
setup_ns() {
	local var name batch=
	for var in "$@"; do
		name=${var#NS_}
		name=${name,,}
		printf -v name '%s-%04x%02x' "$name" "$RANDOM" $((RANDOM % 256))
		[ -e "/run/netns/$name" ] && { setup_ns "$var"; continue; }
		batch+="netns add $name"$'\n'
		_NS_LIST+=("$name")
		printf -v "$var" '%s' "$name"
	done
	[ -n "$batch" ] || return 0
	ip -batch - <<<"$batch" || return 1
	for var in "$@"; do
		ip -n "${!var}" link set lo up || return 1
	done
}

nsx() {	# nsx NS CMD...: ip netns exec, shorter
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

veth() {	# veth NS_A IF_A NS_B IF_B: a veth pair between two namespaces, up
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

addr() {	# addr NS IF ADDR/LEN...: add addresses (IPv6 without DAD)
	local ns=$1 ifc=$2 a
	shift 2
	for a in "$@"; do
		if [[ $a == *:* ]]; then
			ip -n "$ns" -6 addr add "$a" dev "$ifc" nodad || return 1
		else
			ip -n "$ns" addr add "$a" dev "$ifc" || return 1
		fi
	done
}

# --- the reference topology -------------------------------------------------

RTR_LAN4=192.168.1.1
RTR_LAN6=fd00:1::1
DEC4=192.168.1.200
DEC6=fd00:1::200
DEC2_4=192.168.1.201
DEC2_6=fd00:1::201
RTR_WAN4=10.214.10.20
RTR_WAN6=2001:db8:1::20
ISP_WAN4=10.214.0.1
ISP_WAN6=2001:db8:1::1
VOD4=172.26.22.10
VOD6=2001:db8:22::10
MPEG4=172.26.83.137
MPEG6=2001:db8:83::137
OUT4=10.99.0.5
OUT6=2001:db8:99::5
MPEG2_4=172.26.84.10
MPEG2_6=2001:db8:84::10
LAN_IF=br-lan
WAN_IF=wan0

# topo_movistar: build the namespaces and links drawn at the top of this
# file; sets NS_DEC NS_DEC2 NS_RTR NS_ISP NS_VOD NS_MPEG NS_OUT. The router
# forwards but has no firewall, NAT or helper yet: see router_* and
# attach_helper_*.
topo_movistar() {
	local ns
	setup_ns NS_DEC NS_DEC2 NS_RTR NS_ISP NS_VOD NS_MPEG NS_OUT || return 1

	# veth pairs, created from here straight into their namespaces
	ip -batch - <<-EOF || return 1
	link add lan-dec netns $NS_RTR type veth peer name eth0 netns $NS_DEC
	link add lan-dec2 netns $NS_RTR type veth peer name eth0 netns $NS_DEC2
	link add $WAN_IF netns $NS_RTR type veth peer name isp0 netns $NS_ISP
	link add vod netns $NS_ISP type veth peer name eth0 netns $NS_VOD
	link add mpeg netns $NS_ISP type veth peer name eth0 netns $NS_MPEG
	link add out netns $NS_ISP type veth peer name eth0 netns $NS_OUT
	EOF

	# The router: a bridge for the LAN, its IPTV (WAN) side facing the ISP.
	ip -n "$NS_RTR" -batch - <<-EOF || return 1
	link add $LAN_IF type bridge forward_delay 0 stp_state 0
	link set lan-dec master $LAN_IF
	link set lan-dec2 master $LAN_IF
	link set $LAN_IF up
	link set lan-dec up
	link set lan-dec2 up
	link set $WAN_IF up
	addr add $RTR_LAN4/24 dev $LAN_IF
	addr add $RTR_LAN6/64 dev $LAN_IF nodad
	addr add $RTR_WAN4/16 dev $WAN_IF
	addr add $RTR_WAN6/64 dev $WAN_IF nodad
	route add default via $ISP_WAN4
	route add ::/0 via $ISP_WAN6
	EOF

	_topo_host "$NS_DEC" "$DEC4/24" "$RTR_LAN4" "$DEC6/64" "$RTR_LAN6" || return 1
	_topo_host "$NS_DEC2" "$DEC2_4/24" "$RTR_LAN4" "$DEC2_6/64" "$RTR_LAN6" || return 1

	# The ISP: one subnet per server.
	ip -n "$NS_ISP" -batch - <<-EOF || return 1
	link set isp0 up
	link set vod up
	link set mpeg up
	link set out up
	addr add $ISP_WAN4/16 dev isp0
	addr add $ISP_WAN6/64 dev isp0 nodad
	addr add 172.26.22.1/24 dev vod
	addr add 2001:db8:22::1/64 dev vod nodad
	addr add 172.26.83.1/24 dev mpeg
	addr add 2001:db8:83::1/64 dev mpeg nodad
	addr add 10.99.0.1/24 dev out
	addr add 2001:db8:99::1/64 dev out nodad
	EOF
	_topo_host "$NS_VOD" "$VOD4/24" 172.26.22.1 "$VOD6/64" 2001:db8:22::1 || return 1
	_topo_host "$NS_MPEG" "$MPEG4/24" 172.26.83.1 "$MPEG6/64" 2001:db8:83::1 || return 1
	_topo_host "$NS_OUT" "$OUT4/24" 10.99.0.1 "$OUT6/64" 2001:db8:99::1 || return 1

	for ns in "$NS_RTR" "$NS_ISP"; do
		nsx "$ns" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward &&
			echo 1 >/proc/sys/net/ipv6/conf/all/forwarding' || return 1
	done
}

# topo_mpeg2: after topo_movistar, a second MPEG server NS_MPEG2 on its own
# subnet behind isp: 172.26.84.10/24 and 2001:db8:84::10/64, isp at .1/::1
# (inside 172.26.0.0/16 and 2001:db8:80::/44, like the first one). The
# servers a decoder meets after a seek.
topo_mpeg2() {
	setup_ns NS_MPEG2 || return 1
	ip link add mpeg2 netns "$NS_ISP" type veth peer name eth0 netns "$NS_MPEG2" || return 1
	ip -n "$NS_ISP" -batch - <<-EOF || return 1
	link set mpeg2 up
	addr add 172.26.84.1/24 dev mpeg2
	addr add 2001:db8:84::1/64 dev mpeg2 nodad
	EOF
	_topo_host "$NS_MPEG2" "$MPEG2_4/24" 172.26.84.1 "$MPEG2_6/64" 2001:db8:84::1
}

_topo_host() {	# _topo_host NS ADDR4/LEN GW4 ADDR6/LEN GW6: eth0 of an end host
	ip -n "$1" -batch - <<-EOF
	link set eth0 up
	addr add $2 dev eth0
	addr add $4 dev eth0 nodad
	route add default via $3
	route add ::/0 via $5
	EOF
}

# --- router variants --------------------------------------------------------------

# router_fw_nft: forward policy drop, except established/related and what
# the LAN starts (IPv4 and IPv6). A counter on the drop shows what it ate.
router_fw_nft() {
	nsx "$NS_RTR" nft -f - <<-EOF
	table inet e2e_fw {
		chain forward {
			type filter hook forward priority filter; policy drop;
			ct state established,related accept
			iifname "$LAN_IF" accept
			counter comment "dropped"
		}
	}
	EOF
}

# router_nat_nft: firewall + IPv4 masquerade on the WAN (nftables).
router_nat_nft() {
	router_fw_nft || return 1
	nsx "$NS_RTR" nft -f - <<-EOF
	table ip e2e_nat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "$WAN_IF" masquerade
		}
	}
	EOF
}

# router_nat66_nft: IPv6 masquerade (NAT66) on the WAN; adds the firewall
# if it is not there yet.
router_nat66_nft() {
	nsx "$NS_RTR" nft list table inet e2e_fw >/dev/null 2>&1 || router_fw_nft || return 1
	nsx "$NS_RTR" nft -f - <<-EOF
	table ip6 e2e_nat6 {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "$WAN_IF" masquerade
		}
	}
	EOF
}

# router_routed_nft: firewall only, no NAT; the ISP routes the LAN prefixes
# to the router's WAN address.
router_routed_nft() {
	router_fw_nft || return 1
	_isp_routes_lan
}

_isp_routes_lan() {
	ip -n "$NS_ISP" route add 192.168.1.0/24 via "$RTR_WAN4" &&
	ip -n "$NS_ISP" -6 route add fd00:1::/64 via "$RTR_WAN6"
}

# router_fw_iptables / router_nat_iptables / router_nat66_iptables /
# router_routed_iptables: the same with iptables and ip6tables (iptables-nft
# on Debian 12).
router_fw_iptables() {
	local ipt
	for ipt in iptables ip6tables; do
		nsx "$NS_RTR" "$ipt" -P FORWARD DROP &&
		nsx "$NS_RTR" "$ipt" -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT &&
		nsx "$NS_RTR" "$ipt" -A FORWARD -i "$LAN_IF" -j ACCEPT || return 1
	done
}

router_nat_iptables() {
	router_fw_iptables &&
	nsx "$NS_RTR" iptables -t nat -A POSTROUTING -o "$WAN_IF" -j MASQUERADE
}

router_nat66_iptables() {
	nsx "$NS_RTR" ip6tables -S FORWARD | grep -q ESTABLISHED || router_fw_iptables || return 1
	nsx "$NS_RTR" ip6tables -t nat -A POSTROUTING -o "$WAN_IF" -j MASQUERADE
}

router_routed_iptables() {
	router_fw_iptables && _isp_routes_lan
}

# --- attaching the helper -----------------------------------------------------

# attach_helper_nft [HELPER [PORT]]: the explicit rule kernels >= 6.0 need:
# a ct helper object and "tcp dport PORT ct helper set" in a prerouting
# chain after conntrack, for IPv4 and IPv6 (inet table).
attach_helper_nft() {
	local helper=${1:-rtsp} port=${2:-554}
	nsx "$NS_RTR" nft -f - <<-EOF
	table inet e2e_helper {
		ct helper ${helper}-helper {
			type "$helper" protocol tcp;
			l3proto inet;
		}
		chain prerouting {
			type filter hook prerouting priority filter; policy accept;
			tcp dport $port ct helper set "${helper}-helper"
		}
	}
	EOF
}

# attach_helper_iptables [HELPER [PORT]]: the same with the raw table's CT
# target, IPv4 and IPv6.
attach_helper_iptables() {
	local helper=${1:-rtsp} port=${2:-554} ipt
	for ipt in iptables ip6tables; do
		nsx "$NS_RTR" "$ipt" -t raw -A PREROUTING -p tcp --dport "$port" \
			-j CT --helper "$helper" || return 1
	done
}

# attach_helper_none: the control: no rule assigns a helper (kernels >= 6.0
# have no automatic assignment). Fails if some rule does.
attach_helper_none() {
	! nsx "$NS_RTR" nft list ruleset 2>/dev/null | grep -qE 'ct helper|CT --helper'
}

# router_count_udp PORT: count UDP packets to PORT arriving on the WAN, before
# conntrack and NAT (read with router_udp_count); calling it again resets
# the count.
router_count_udp() {
	nsx "$NS_RTR" nft -f - <<-EOF
	table inet e2e_count
	delete table inet e2e_count
	table inet e2e_count {
		chain prerouting {
			type filter hook prerouting priority raw - 10; policy accept;
			iifname "$WAN_IF" udp dport $1 counter
		}
	}
	EOF
}

router_udp_count() {	# router_udp_count: packets seen by router_count_udp
	nsx "$NS_RTR" nft list chain inet e2e_count prerouting |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n1
}

# --- our modules ----------------------------------------------------------------

# load_rtsp_modules: SKIP the script if our modules are not in the guest's
# module tree; FAIL (and exit) if they are there but do not load.
load_rtsp_modules() {
	modinfo nf_conntrack_rtsp nf_nat_rtsp >/dev/null 2>&1 ||
		skip_all "nf_conntrack_rtsp.ko/nf_nat_rtsp.ko not built (make, or tests/e2e/run --modules-dir)"
	if ! modprobe -a nf_nat_rtsp nf_conntrack_rtsp; then
		fail "$TEST_NAME: load modules" "$(dmesg | tail -n 5)"
		e2e_exit
	fi
}

# --- the VoD session scenario -------------------------------------------------

# json_get FILE KEY[.KEY...]...: values from the first JSON line of FILE,
# one line per KEY (empty if missing). Several keys cost one python start:
#   { read -r a; read -r b; } < <(json_get FILE a b)
json_get() {
	"$PY" - "$@" <<-'EOF'
	import json, sys
	try:
	    with open(sys.argv[1]) as f:
	        d = json.loads(f.readline())
	except (OSError, ValueError):
	    d = None
	for key in sys.argv[2:]:
	    v = d
	    for k in key.split("."):
	        v = v.get(k) if isinstance(v, dict) else None
	    print("" if v is None else v)
	EOF
}

# vod_session: one Movistar VoD session through the router. Settings (all
# optional): VOD_FAMILY (4|6), VOD_TRANSPORT, VOD_PORT (client port the
# stream goes to), VOD_COUNT, VOD_DEC_NS, VOD_SENDER_NS, VOD_TIMEOUT,
# VOD_MEDIA_TO (address the MPEG server sends to; default: the client's
# address as the VoD manager saw it).
#
# The decoder binds its port, does OPTIONS and SETUP, and waits; meanwhile
# the router's conntrack table and expectations are captured ($E2E_WORK/
# ct.txt, expect.txt). Then PLAY: the VoD manager has the MPEG server send
# VOD_COUNT datagrams to the address and port it saw. Results:
#   $E2E_WORK/decoder.json   decoder's summary (json_get)
#   $E2E_WORK/server.log     requests as received by the server
#   $E2E_WORK/media.done     the media sender's outcome
# Returns the decoder's status (0: the RTSP exchange itself worked).
vod_session() {
	local fam=${VOD_FAMILY:-4} port=${VOD_PORT:-27336} count=${VOD_COUNT:-60}
	local transport=${VOD_TRANSPORT:-"MP2T/H2221/UDP;unicast;client_port=${VOD_PORT:-27336}"}
	local dec_ns=${VOD_DEC_NS:-$NS_DEC} sender_ns=${VOD_SENDER_NS:-$NS_MPEG}
	local timeout=${VOD_TIMEOUT:-30} server w=$E2E_WORK dec_pid srv_pid rc

	server=$VOD4
	[ "$fam" = 6 ] && server=$VOD6
	rm -f "$w"/server.* "$w"/decoder.* "$w"/media.done "$w"/setup.done "$w"/play.go

	bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$server" --port 554 \
		--log "$w/server.log" --ready-file "$w/server.ready" \
		--media-done "$w/media.done" \
		--media-cmd "ip netns exec $sender_ns $PY $ROLES/media.py --to ${VOD_MEDIA_TO:-{addr\}} --port {port} --count $count --src-port 48440"
	srv_pid=$BG_PID
	if ! busywait 60000 file_or_dead "$w/server.ready" "$srv_pid" ||
	   [ ! -e "$w/server.ready" ]; then
		echo "    rtsp_server.py did not start"
		return 1
	fi

	bg nsx "$dec_ns" "$PY" "$ROLES/decoder.py" --server "$server" \
		--transport "$transport" --listen "$port" --count "$count" \
		--timeout "$timeout" --stop-file "$w/media.done" \
		--setup-done "$w/setup.done" --play-gate "$w/play.go" \
		>"$w/decoder.json" 2>"$w/decoder.err"
	dec_pid=$BG_PID

	busywait 60000 file_or_dead "$w/setup.done" "$dec_pid"
	# Mid-session view of the router (before PLAY: an expectation is used
	# up by the first datagram that matches it).
	nsx "$NS_RTR" conntrack -L -f "ipv$fam" -p tcp --dport 554 >"$w/ct.txt" 2>/dev/null
	nsx "$NS_RTR" conntrack -L expect -f "ipv$fam" >"$w/expect.txt" 2>/dev/null
	touch "$w/play.go"

	wait "$dec_pid"
	rc=$?
	# The decoder can be done before the server has written media.done:
	# give the media sender its time to report, then stop the server.
	busywait 15000 file_or_dead "$w/media.done" "$srv_pid"
	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	return $rc
}

# vod_received: datagrams the decoder counted on VOD_PORT.
vod_received() {
	json_get "$E2E_WORK/decoder.json" "received.${VOD_PORT:-27336}"
}

# vod_dump: what a failed VoD check needs to be understood.
vod_dump() {
	local f
	for f in decoder.json decoder.err server.log media.done ct.txt expect.txt; do
		[ -s "$E2E_WORK/$f" ] || continue
		echo "--- $f"
		cat "$E2E_WORK/$f"
	done
	echo "--- router ruleset counters"
	nsx "$NS_RTR" nft list ruleset 2>/dev/null | grep -E 'counter|helper'
	echo "--- dmesg (tail)"
	dmesg | tail -n 20
}

# server_field METHOD FIELD...: FIELDs (start, transport, peer, ...) of the
# first METHOD request the RTSP server logged, one line each.
server_field() {
	"$PY" - "$E2E_WORK/server.log" "$@" <<-'EOF'
	import json, sys
	try:
	    lines = open(sys.argv[1]).read().splitlines()
	except OSError:
	    lines = []
	req = {}
	for line in lines:
	    r = json.loads(line)
	    if r.get("method") == sys.argv[2]:
	        req = r
	        break
	for field in sys.argv[3:]:
	    print(req.get(field) or "")
	EOF
}

# vod_checks stream|none: the checks of one Movistar VoD session, after
# vod_session. "stream": the helper is attached and every datagram must
# reach the decoder; "none": the no-helper control, the RTSP exchange must
# work and the stream must reach the router, but not one datagram the
# decoder. The server must see the client as VOD_PEER (default: the
# router's WAN address of VOD_FAMILY, i.e. masquerade/NAT66).
vod_checks() {
	local want=$1 w=$E2E_WORK port=${VOD_PORT:-27336} count=${VOD_COUNT:-60}
	local wan=$RTR_WAN4 fam=${VOD_FAMILY:-4}
	[ "$fam" = 6 ] && wan=$RTR_WAN6
	wan=${VOD_PEER:-$wan}
	local got setup play teardown peer transport sent to routed ok=1

	{ read -r setup; read -r play; read -r teardown; read -r got; } < <(json_get \
		"$w/decoder.json" setup_status play_status teardown_status "received.$port")
	{ read -r peer; read -r transport; } < <(server_field SETUP peer transport)
	{ read -r sent; read -r to; } < <(json_get "$w/media.done" sent to)

	if [ "$setup $play $teardown" = "200 200 200" ]; then
		pass "RTSP OPTIONS/SETUP/PLAY/TEARDOWN answered 200"
	else
		fail "RTSP OPTIONS/SETUP/PLAY/TEARDOWN answered 200" \
			"decoder: $(cat "$w/decoder.json" "$w/decoder.err" 2>/dev/null)"
		ok=0
	fi
	check_eq "VoD manager saw the SETUP from $wan" "$wan" "$peer" || ok=0
	check "VoD manager received client_port=$port" \
		grep -Eq "client_port=$port([^0-9]|$)" <<<"$transport" || ok=0
	check_eq "MPEG server sent $count datagrams to $wan:$port" \
		"$count $wan:$port" "$sent $to" || ok=0
	routed=$(router_udp_count)
	check_eq "router got the $count datagrams on its WAN side" "$count" "$routed" || ok=0

	if [ "$want" = stream ]; then
		check "conntrack: helper=rtsp on the RTSP connection" \
			grep -q 'helper=rtsp' "$w/ct.txt" || ok=0
		check "conntrack: expectation for udp dport $port during the session" \
			grep -Eq "proto=17 .*dport=$port( |$)" "$w/expect.txt" || ok=0
		check_eq "decoder received all $count datagrams" "$count" "$got" || ok=0
	else
		check "conntrack: no helper on the RTSP connection" \
			eval "! grep -q 'helper=' '$w/ct.txt'" || ok=0
		check "conntrack: no expectation" \
			eval "! grep -q 'proto=17' '$w/expect.txt'" || ok=0
		check_eq "decoder received 0 datagrams (no helper, no stream)" 0 "$got" || ok=0
	fi
	[ $ok -eq 1 ] || vod_dump | sed 's/^/    /'
}
