# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the router failover test (77-ha-failover.sh), sourced after
# lib.sh, lib_robust.sh and lib_nat.sh. Two routers, A and B, share the
# LAN and the WAN segments (bridges in the namespaces lan and isp) and a
# dedicated link (sync0) for conntrackd; keepalived moves the gateway
# address 192.168.1.1 and the shared WAN address 10.214.10.20 between
# them. The configuration files are those of docs/ha/ (docs/ha.md), each
# router seeing its own as /etc/keepalived/keepalived.conf,
# /etc/conntrackd/conntrackd.conf and /etc/conntrackd/primary-backup.sh
# (bind mounts in the router's own mount namespace, with its own /run and
# /var).
#
#   dec  .200 -.                                   .-- vod  172.26.22.10
#   dec2 .201 -+- br0 [lan] -+- lan0 [ra] wan0 -+- br0 [isp] 10.214.0.1
#   dec3 .202 -'  192.168.1/24 '- lan0 [rb] wan0 -'  '-- mpeg 172.26.83.137
#                                 ra sync0 10.255.0.1 -- rb sync0 10.255.0.2

HA_CONF=$E2E_DIR/../../docs/ha
HA_VIP_LAN=192.168.1.1
HA_VIP_WAN=10.214.10.20
# shellcheck disable=SC2034 # used by the test
DEC3_4=192.168.1.202

# ha_topo: the shared part: the LAN and WAN segments, the decoders, the
# VoD manager and the MPEG server; sets NS_LAN NS_ISP NS_VOD NS_MPEG
# NS_DEC NS_DEC2 NS_DEC3.
ha_topo() {
	local d i
	setup_ns NS_LAN NS_ISP NS_VOD NS_MPEG NS_DEC NS_DEC2 NS_DEC3 || return 1
	ip -n "$NS_LAN" link add br0 type bridge || return 1
	ip -n "$NS_ISP" link add br0 type bridge || return 1
	ip -n "$NS_LAN" link set br0 up && ip -n "$NS_ISP" link set br0 up || return 1
	i=0
	for d in "$NS_DEC" "$NS_DEC2" "$NS_DEC3"; do
		ip link add "d$i" netns "$NS_LAN" type veth peer name eth0 netns "$d" || return 1
		ip -n "$NS_LAN" link set "d$i" master br0 up || return 1
		ip -n "$d" link set eth0 up || return 1
		addr "$d" eth0 "192.168.1.$((200 + i))/24" || return 1
		ip -n "$d" route add default via "$HA_VIP_LAN" || return 1
		i=$((i + 1))
	done
	addr "$NS_ISP" br0 10.214.0.1/16 || return 1
	ip -batch - <<-EOF || return 1
	link add vod netns $NS_ISP type veth peer name eth0 netns $NS_VOD
	link add mpeg netns $NS_ISP type veth peer name eth0 netns $NS_MPEG
	EOF
	for d in vod mpeg; do ip -n "$NS_ISP" link set "$d" up || return 1; done
	ip -n "$NS_VOD" link set eth0 up && ip -n "$NS_MPEG" link set eth0 up || return 1
	addr "$NS_ISP" vod 172.26.22.1/24 && addr "$NS_ISP" mpeg 172.26.83.1/24 || return 1
	addr "$NS_VOD" eth0 "$VOD4/24" && addr "$NS_MPEG" eth0 "$MPEG4/24" || return 1
	ip -n "$NS_VOD" route add default via 172.26.22.1 || return 1
	ip -n "$NS_MPEG" route add default via 172.26.83.1 || return 1
	nsx "$NS_ISP" sysctl -qw net.ipv4.ip_forward=1
}

# ha_box R CMD...: run CMD in router R's (a or b) network namespace, with
# its configuration files and its own /run and /var.
ha_box() {
	local r=$1 ns
	shift
	[ "$r" = a ] && ns=$NS_RA || ns=$NS_RB
	# shellcheck disable=SC2016 # expanded by the inner sh
	ip netns exec "$ns" sh -c '
		d=$0
		mount --bind "$d/etc/conntrackd" /etc/conntrackd &&
		mount --bind "$d/etc/keepalived" /etc/keepalived &&
		mount --bind "$d/run" /run && mount --bind "$d/var" /var ||
		exit 125
		exec "$@"' "$E2E_WORK/$HA_RUN/$r" "$@"
}

# ha_routers RUN MODE: a new pair of routers for run RUN: MODE full
# (conntrackd as in docs/ha/), noexp (conntrackd without its
# ExpectationSync block) or none (no conntrackd). Both load the modules'
# nft ruleset docs/ha/rtsp-ha.nft and start keepalived; A becomes the
# primary. Sets NS_RA NS_RB HA_RUN.
ha_routers() {
	local run=$1 mode=$2 r ns lan wan sync d
	HA_RUN=$run
	unset NS_RA NS_RB
	setup_ns NS_RA NS_RB || return 1
	ip link add sync0 netns "$NS_RA" type veth peer name sync0 netns "$NS_RB" || return 1
	for r in a b; do
		if [ "$r" = a ]; then
			ns=$NS_RA lan=192.168.1.2 wan=10.214.10.21 sync=10.255.0.1
		else
			ns=$NS_RB lan=192.168.1.3 wan=10.214.10.22 sync=10.255.0.2
		fi
		ip link add "$run$r" netns "$NS_LAN" type veth peer name lan0 netns "$ns" || return 1
		ip link add "$run$r" netns "$NS_ISP" type veth peer name wan0 netns "$ns" || return 1
		ip -n "$NS_LAN" link set "$run$r" master br0 up || return 1
		ip -n "$NS_ISP" link set "$run$r" master br0 up || return 1
		for d in lan0 wan0 sync0; do ip -n "$ns" link set "$d" up || return 1; done
		addr "$ns" lan0 "$lan/24" && addr "$ns" wan0 "$wan/16" &&
			addr "$ns" sync0 "$sync/30" || return 1
		ip -n "$ns" route add default via 10.214.0.1 || return 1
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
		nsx "$ns" nft -f "$HA_CONF/rtsp-ha.nft" || return 1
		d=$E2E_WORK/$run/$r
		mkdir -p "$d/etc/conntrackd" "$d/etc/keepalived" "$d/run" \
			"$d/var/lock" "$d/var/log" "$d/var/run" || return 1
		cp "$HA_CONF/keepalived-$r.conf" "$d/etc/keepalived/keepalived.conf" &&
			cp "$HA_CONF/primary-backup.sh" "$d/etc/conntrackd/" || return 1
		case $mode in
		full) cp "$HA_CONF/conntrackd-$r.conf" "$d/etc/conntrackd/conntrackd.conf" ;;
		noexp) sed '/ExpectationSync {/,/}/d' "$HA_CONF/conntrackd-$r.conf" \
			>"$d/etc/conntrackd/conntrackd.conf" ;;
		none) : ;;
		esac || return 1
		if [ "$mode" != none ]; then
			ha_box "$r" conntrackd -d -C /etc/conntrackd/conntrackd.conf || return 1
		fi
	done
	for r in a b; do
		bg ha_box "$r" keepalived -n -l -D -P -f /etc/keepalived/keepalived.conf \
			>"$E2E_WORK/$run/$r/keepalived.log" 2>&1
		echo "$BG_PID" >"$E2E_WORK/$run/$r.keepalived"
	done
	busywait 30000 ha_has_vip "$NS_RA" >/dev/null
}

# ha_has_vip NS: that router holds both shared addresses.
ha_has_vip() {
	ip -n "$1" -4 addr show dev lan0 2>/dev/null | grep -q " $HA_VIP_LAN/" &&
		ip -n "$1" -4 addr show dev wan0 2>/dev/null | grep -q " $HA_VIP_WAN/"
}

ha_no_vip() { ! ip -n "$1" -4 addr show 2>/dev/null | grep -qE " ($HA_VIP_LAN|$HA_VIP_WAN)/"; }

# ha_links R up|down: router R's (a or b) LAN and WAN links, as a cable
# pulled: their switch ports go down (the router keeps its routes, which
# an administrative "ip link set lan0 down" would delete); the dedicated
# link stays.
ha_links() {
	ip -n "$NS_LAN" link set "$HA_RUN$1" "$2" &&
		ip -n "$NS_ISP" link set "$HA_RUN$1" "$2"
}

# ha_sink NAME NS PORT: a decoder's media socket (roles/ha_sink.py) in
# the background; status in NAME.sink, summary in NAME.sum once
# NAME.stop exists.
ha_sink() {
	bg nse "$2" "$PY" "$ROLES/ha_sink.py" --port "$3" \
		--status "$E2E_WORK/$1.sink" --stop-file "$E2E_WORK/$1.stop" \
		>"$E2E_WORK/$1.sum"
	busywait 10000 test -s "$E2E_WORK/$1.sink" >/dev/null
}

# ha_count NAME: datagrams the sink NAME has received so far.
ha_count() { local n _; read -r n _ <"$E2E_WORK/$1.sink" 2>/dev/null; echo "${n:-0}"; }
ha_count_ge() { [ "$(ha_count "$1")" -ge "$2" ]; }

# ha_sum NAME KEY...: values from the sink's summary (after ha_sink_stop).
ha_sink_stop() {
	touch "$E2E_WORK/$1.stop"
	busywait 5000 test -s "$E2E_WORK/$1.sum" >/dev/null
}
ha_sum() { json_get "$E2E_WORK/$1.sum" "${@:2}"; }

# ha_gap NAME FROM_MS: "LOST MS" of sink NAME's first silence (at least
# --gap-ms, 300) that began after FROM_MS, less a second
# (the last datagram before a failure may come just before it).
ha_gap() {
	"$PY" - "$E2E_WORK/$1.sum" "$2" <<-'EOF'
	import json, sys
	try:
	    s = json.loads(open(sys.argv[1]).readline())
	except (OSError, ValueError):
	    print("? ?")
	    sys.exit(0)
	after = [g for g in s.get("gaps") or [] if g["start_ms"] >= int(sys.argv[2]) - 1000
	         and g["lost"] > 0]
	g = after[0] if after else {"ms": 0, "lost": 0}
	print(g["lost"], g["ms"])
	EOF
}

# ha_router_port OUT: the router port the VoD manager was given in the
# last SETUP of the raw server's log lines on stdin (client_port=P).
ha_client_port() { sed -n 's/.*client_port=\([0-9]*\).*/\1/p' | tail -n1; }

# ha_dump R: router R's view, for a failed check: its expectations, its
# conntrack entries, conntrackd's caches and log, keepalived's log.
ha_dump() {
	local ns
	[ "$1" = a ] && ns=$NS_RA || ns=$NS_RB
	echo "--- router $1: conntrack -L expect"
	nsx "$ns" conntrack -L expect 2>&1
	echo "--- router $1: conntrack -L"
	nsx "$ns" conntrack -L 2>&1 | grep -v 'dport=3780'
	echo "--- router $1: conntrackd -i / -e expect"
	ha_box "$1" conntrackd -C /etc/conntrackd/conntrackd.conf -i expect 2>&1
	ha_box "$1" conntrackd -C /etc/conntrackd/conntrackd.conf -e expect 2>&1
	echo "--- router $1: conntrackd.log"
	tail -n 30 "$E2E_WORK/$HA_RUN/$1/var/log/conntrackd.log" 2>&1
	echo "--- router $1: keepalived.log"
	grep -v 'gratuitous ARP' "$E2E_WORK/$HA_RUN/$1/keepalived.log" | tail -n 15
}
