#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side smoke check of the sanitized kernel, run by
#   tests/e2e/run --kernel debug --exec tests/kernel-debug/smoke.sh
#   tests/e2e/run --kernel debug-rt --exec tests/kernel-debug/smoke.sh
# Checks that KASAN, lockdep and kmemleak are there, loads our modules,
# attaches them through nft and iptables-nft, unloads them and asks
# kmemleak for leaks. Exit 0 = all good.

# ok() never fails, so "A && ok || bad" is an if-then-else here.
# shellcheck disable=SC2015
rc=0
ok() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; rc=1; }

echo "kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime)s, $(nproc) cpu(s)"

mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -e /sys/kernel/debug/kmemleak ] && ok "kmemleak in debugfs" || bad "no /sys/kernel/debug/kmemleak"
[ -r /proc/lockdep_stats ] && ok "lockdep ($(grep -m1 'lock-classes' /proc/lockdep_stats | tr -s ' '))" ||
	bad "no /proc/lockdep_stats"
grep -q 'debug_locks: *1' /proc/lockdep_stats 2>/dev/null && ok "debug_locks still 1" ||
	bad "lockdep turned itself off (debug_locks 0)"
for c in KASAN_GENERIC KASAN_INLINE PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK; do
	zcat /proc/config.gz | grep -qx "CONFIG_$c=y" && ok "CONFIG_$c=y" || bad "CONFIG_$c not set"
done
# The RT variant (a -rt release): PREEMPT_RT must really be on.
case $(uname -r) in
*-rt)	zcat /proc/config.gz | grep -qx CONFIG_PREEMPT_RT=y && ok "CONFIG_PREEMPT_RT=y ($(uname -v))" ||
		bad "CONFIG_PREEMPT_RT not set in $(uname -r)" ;;
esac

echo clear >/sys/kernel/debug/kmemleak 2>/dev/null

if modprobe nf_nat_rtsp && modprobe nf_conntrack_rtsp; then
	ok "modprobe nf_nat_rtsp nf_conntrack_rtsp"
else
	bad "modprobe nf_nat_rtsp"
fi
lsmod | sed 's/^/    /'

nft -f - <<-'EOF' && ok "nft ct helper objects (rtsp, ftp) + masquerade" || bad "nft ruleset"
	table inet smoke {
		ct helper rtsp-helper { type "rtsp" protocol tcp; }
		ct helper ftp-helper { type "ftp" protocol tcp; }
		chain pre {
			type filter hook prerouting priority raw;
			tcp dport 554 ct helper set "rtsp-helper"
			tcp dport 21 ct helper set "ftp-helper"
		}
		chain post {
			type nat hook postrouting priority srcnat;
			oifname "wan0" counter masquerade
		}
	}
EOF
iptables -t raw -A PREROUTING -p tcp --dport 554 -j CT --helper rtsp &&
	iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE &&
	ip6tables -t raw -A PREROUTING -p tcp --dport 554 -j CT --helper rtsp &&
	ip6tables -t nat -A POSTROUTING -o wan0 -j MASQUERADE &&
	iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT &&
	ok "iptables/ip6tables raw CT, nat MASQUERADE, conntrack match" ||
	bad "iptables rules"
ip netns add smoke-a && ip link add va netns smoke-a type veth peer name vb &&
	ip link add br-smoke type bridge && ip link set vb master br-smoke &&
	ok "netns, veth, bridge" || bad "netns/veth/bridge"
conntrack -L >/dev/null 2>&1 && ok "conntrack -L (ctnetlink)" || bad "conntrack -L"

nft flush ruleset
ip -all netns delete
ip link del br-smoke 2>/dev/null
modprobe -r nf_nat_rtsp nf_conntrack_rtsp && ok "modprobe -r nf_nat_rtsp nf_conntrack_rtsp" ||
	bad "modprobe -r"

# kmemleak ignores objects younger than 5 s.
sleep 6
t0=$(date +%s.%N)
echo scan >/sys/kernel/debug/kmemleak
t1=$(date +%s.%N)
echo "kmemleak scan: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
leaks=$(cat /sys/kernel/debug/kmemleak)
if [ -z "$leaks" ]; then
	ok "kmemleak: no leaks"
else
	bad "kmemleak reports leaks"
	echo "$leaks" | head -n 80
fi
echo "done at $(cut -d' ' -f1 /proc/uptime)s of uptime"
exit $rc
