# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the robustness tests (tests/e2e/5x-*.sh), sourced after lib.sh.
# They use the NAT topology of lib.sh (topo_movistar) and the roles
# roles/rtsp_raw.py (raw RTSP client/server, flood, churn) and
# roles/storm.py (malformed-input storm). Reading state avoids starting
# Python where a shell builtin will do: every exec costs under TCG.

# shellcheck disable=SC2034 # used by the test scripts
RAW=$ROLES/rtsp_raw.py
# shellcheck disable=SC2034
STORM=$ROLES/storm.py

# nse NS CMD...: CMD in NS's network namespace only. Much cheaper than
# "ip netns exec" (no mount namespace, no /sys remount: ~1 s under a loaded
# TCG host), and enough for conntrack, nft, sysctl and the roles.
nse() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# rb_setup_nat: topology, nft firewall + masquerade, nft helper rule, and a
# counter of the decoder's TCP data segments towards port 554 (rb_segments).
rb_setup_nat() {
	check "topology built" topo_movistar || e2e_exit
	check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
	check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit
	# Data segments only: no SYN/RST, an IP length above the 52 bytes of
	# an IPv4 + TCP header with timestamps (Linux's default) carries data.
	nse "$NS_RTR" nft -f - <<-EOF
	table inet e2e_rb {
		counter dec_seg { }
		chain prerouting {
			type filter hook prerouting priority raw - 10; policy accept;
			ip saddr $DEC4 tcp dport 554 tcp flags & (syn | rst) == 0 ip length > 52 counter name "dec_seg"
		}
	}
	EOF
}

# rb_segments: data segments the decoder sent to port 554 since the last
# call (the counter is reset by each read).
rb_segments() {
	nse "$NS_RTR" nft reset counter inet e2e_rb dec_seg 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n1
}

# rb_server [ARGS...]: the raw RTSP server on the VoD manager (log in
# $E2E_WORK/raw.log); sets RB_SRV_PID. Extra args go to rtsp_raw.py server.
rb_server() {
	rm -f "$E2E_WORK/raw.ready"
	bg nse "$NS_VOD" "$PY" "$RAW" server --bind "${RB_SRV_BIND:-$VOD4}" \
		--log "$E2E_WORK/raw.log" --ready "$E2E_WORK/raw.ready" "$@"
	RB_SRV_PID=$BG_PID
	busywait 60000 file_or_dead "$E2E_WORK/raw.ready" "$RB_SRV_PID" >/dev/null
	[ -e "$E2E_WORK/raw.ready" ]
}

# rb_client NAME NS LISTEN_PORTS: run the client script $E2E_WORK/NAME.json
# in NS, in the background; output in NAME.out, UDP counts in NAME.udp;
# sets RB_CLI_PID.
rb_client() {
	local name=$1 ns=$2 listen=$3
	bg nse "$ns" "$PY" "$RAW" client --script "$E2E_WORK/$name.json" \
		--listen "$listen" --udp-status "$E2E_WORK/$name.udp" \
		>"$E2E_WORK/$name.out" 2>"$E2E_WORK/$name.err"
	# shellcheck disable=SC2034 # for the caller
	RB_CLI_PID=$BG_PID
}

# rb_flood TAG ARGS...: decoder 2 floods (rtsp_raw.py flood ARGS, output in
# TAG.out), keeping its connections until TAG.stop exists; waits until it
# is done sending.
rb_flood() {
	rm -f "$E2E_WORK/$1.ready"
	bg nse "$NS_DEC2" "$PY" "$RAW" flood --settle 1 \
		--ready "$E2E_WORK/$1.ready" --hold-file "$E2E_WORK/$1.stop" \
		"${@:2}" >"$E2E_WORK/$1.out"
	rb_gate "$E2E_WORK/$1.ready" "$BG_PID" 120000
}

# rb_case_snap NAME PID: wait for the gate of case NAME of the client "dec"
# (PID), then snapshot the expectations (rb_snap); the test ends if the
# client died first.
rb_case_snap() {
	if ! rb_gate "$E2E_WORK/gate.$1" "$2" 60000; then
		fail "$1: client reached its gate" \
			"$(cat "$E2E_WORK/dec.out" "$E2E_WORK/dec.err")"
		e2e_exit
	fi
	rb_snap
}

# rb_gate FILE PID [MS]: wait for FILE (written by a role) or PID's death.
rb_gate() {
	busywait "${3:-30000}" file_or_dead "$1" "$2" >/dev/null
	[ -e "$1" ]
}

# rb_udp FILE PORT: datagrams counted on PORT in a client's NAME.udp file.
rb_udp() {
	local p n
	while read -r p n; do
		[ "$p" = "$2" ] && { echo "$n"; return 0; }
	done <"$1" 2>/dev/null
	echo 0
}

rb_udp_ge() {	# rb_udp_ge FILE PORT N: at least N datagrams on PORT
	[ "$(rb_udp "$1" "$2")" -ge "$3" ]
}

# rb_sender NS: start a UDP sender in NS, a bash loop fed through a FIFO
# (no process start per burst). It keeps one socket per ADDR:PORT, so that
# every burst to a destination is the same flow (same source port): a
# flow the helper killed is then really that flow, not a new one.
rb_sender() {
	local in=$E2E_WORK/sender.in ack=$E2E_WORK/sender.ack
	mkfifo "$in" "$ack" || return 1
	# shellcheck disable=SC2016 # expanded by the inner bash
	bg nse "$1" bash -c '
		declare -A fd
		exec 4<>"$2"
		while read -r addr port n; do
			k=$addr/$port
			if [ -z "${fd[$k]}" ]; then
				exec {f}>"/dev/udp/$addr/$port" && fd[$k]=$f
			fi
			for ((i = 0; i < n; i++)); do
				printf "media %05d" "$i" >&"${fd[$k]}" 2>/dev/null
			done
			echo done >&4
		done <"$1"' rb_sender "$in" "$ack"
	exec {RB_SND_IN}<>"$in" {RB_SND_ACK}<>"$ack"
	RB_SND_NS=$1
}

# rb_burst NS ADDR PORT COUNT: COUNT datagrams from NS to ADDR:PORT, through
# the rb_sender of NS if there is one (same flow each time), else from a
# new socket.
rb_burst() {
	if [ "${RB_SND_NS:-}" = "$1" ]; then
		echo "$2 $3 $4" >&"$RB_SND_IN"
		read -r -t 20 -u "$RB_SND_ACK" _
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner bash
	nse "$1" bash -c 'exec 3>"/dev/udp/$1/$2" || exit 1
		for ((i = 0; i < $3; i++)); do
			printf "media %05d" "$i" >&3 2>/dev/null
		done' rb_burst "$2" "$3" "$4"
}

# rb_expect: the router's expectation table (one line per expectation). A
# netlink dump can be interrupted while the table changes: try again.
rb_expect() {
	local out _
	for _ in 1 2 3 4 5; do
		out=$(nse "$NS_RTR" conntrack -L expect 2>/dev/null) && break
		nap 0.1
	done
	[ -n "$out" ] && echo "$out"
	return 0
}

# rb_expect_port PORT: an expectation for UDP dport PORT exists.
rb_expect_port() {
	rb_expect | grep -Eq "proto=17 .*dport=$1 "
}

# rb_snap: the expectation table into RB_SNAP (one conntrack run); then
# rb_snap_has REGEX tests it without starting a process.
rb_snap() {
	RB_SNAP=$(rb_expect)
}
rb_snap_has() {
	[[ $RB_SNAP =~ $1 ]]
}
rb_snap_port() {	# rb_snap_port PORT: an expectation for UDP dport PORT
	rb_snap_has "proto=17 [^
]*dport=$1 "
}

rb_expect_count() {	# rb_expect_count REGEX: expectations matching REGEX
	rb_expect | grep -cE "$1"
}

rb_expect_total() {	# rb_expect_total: expectations in the table
	rb_expect_count proto=
}

rb_expect_zero() {	# rb_expect_zero: the table is empty
	[ "$(rb_expect_total)" -eq 0 ]
}

# rb_flow PORT: a UDP conntrack whose original destination port is PORT.
rb_flow() {
	nse "$NS_RTR" conntrack -L -p udp --orig-port-dst "$1" 2>/dev/null | grep -q .
}

# rb_log_count REGEX: lines of the raw server's request log matching REGEX.
rb_log_count() {
	grep -cE "$1" "$E2E_WORK/raw.log" 2>/dev/null
}

# rb_reload_modules ARGS...: unload our modules (dropping the helper rule
# that pins them), load nf_conntrack_rtsp with ARGS and nf_nat_rtsp, and
# put the helper rule back.
rb_reload_modules() {
	nse "$NS_RTR" nft delete table inet e2e_helper 2>/dev/null
	modprobe -r nf_nat_rtsp nf_conntrack_rtsp || return 1
	modprobe nf_conntrack_rtsp "$@" || return 1
	modprobe nf_nat_rtsp || return 1
	attach_helper_nft rtsp 554
}

# rb_slab NAME: active objects of slab cache NAME after flushing the
# per-CPU slabs (kmem_cache_shrink), so that freed objects are not counted;
# empty when the cache is merged into another one (boot with slab_nomerge).
rb_slab() {
	local d=/sys/kernel/slab/$1 name active _
	[ -d "$d" ] && [ ! -L "$d" ] || return 1
	echo 1 >"$d/shrink" 2>/dev/null
	while read -r name active _; do
		[ "$name" = "$1" ] && { echo "$active"; return 0; }
	done </proc/slabinfo
	return 1
}

rb_slab_le() {	# rb_slab_le NAME N: at most N active objects (after shrink)
	local n
	n=$(rb_slab "$1") || return 1
	echo "$n"
	[ "$n" -le "$2" ]
}

# rb_elapsed START_MS: seconds since START_MS (from now_ms), one decimal.
rb_elapsed() {
	local now
	now_ms now
	printf '%d.%d' $(((now - $1) / 1000)) $(((now - $1) % 1000 / 100))
}

# rb_dmesg_clean: no splat in the kernel log (the harness checks it too,
# this makes it a check of the script and shows where it happened).
rb_dmesg_clean() {
	! dmesg | grep -E 'WARNING:|BUG:|Oops|KASAN|general protection|list_del corruption|refcount_t'
}

# kmemleak (the sanitized kernel of tests/kernel-debug has it, with its
# automatic scan off). rb_kmemleak_start forgets what was allocated so
# far; rb_kmemleak_check lists the leaks found since, whose backtrace
# names netfilter code (nf_*: ours and conntrack's), and fails if any.
# Both return 2 when the kernel has no kmemleak.
rb_kmemleak_start() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	[ -w /sys/kernel/debug/kmemleak ] || return 2
	echo clear >/sys/kernel/debug/kmemleak
}

rb_kmemleak_check() {
	[ -w /sys/kernel/debug/kmemleak ] || return 2
	# Objects younger than 5 s are never reported; two scans cut down
	# false positives (pointers in flight during the first).
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$E2E_WORK/kmemleak.txt"
	info "kmemleak: $(grep -c '^unreferenced object' "$E2E_WORK/kmemleak.txt") unreferenced objects in all"
	! awk '/^unreferenced object/ { if (o ~ /nf_/) print o; o = "" } { o = o $0 "\n" }
		END { if (o ~ /nf_/) print o }' "$E2E_WORK/kmemleak.txt" | grep .
}

# rb_check_kmemleak NAME: a check of rb_kmemleak_check, SKIP without kmemleak.
rb_check_kmemleak() {
	local rc=0 out
	out=$(rb_kmemleak_check) || rc=$?
	case $rc in
	0) pass "$1"; [ -z "$out" ] || echo "$out" ;;
	2) skip "$1" "no kmemleak in this kernel (tests/e2e/run --kernel debug has it)" ;;
	*) fail "$1" "$out" ;;
	esac
}
