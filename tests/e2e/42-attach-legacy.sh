#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The router scripts against what older installs and guides leave behind,
# in the router namespace (split from 40-attach-scripts.sh, whose VM time
# they would push past the limit).
#
# rtsp-attach --remove lists the rules and nft helper objects of older
# guides that also hold the module, and --remove --all removes the
# iptables ones.  rtsp-conntrack-status names a second copy of the module
# in the module tree.  With ports=8554 (and dyndbg=+p on the modprobe
# line) the module still registers "rtsp", says so, and rtsp-attach works.

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

# A listener on the VoD manager's port 554 (only the TCP connection
# matters); the client closes first.
bg nsx "$NS_VOD" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 554)); s.listen(16)
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

conn554() {	# one TCP connection from the decoder to the VoD manager:554
	# shellcheck disable=SC2016 # $1 of the inner bash
	nsx "$NS_DEC" timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/554"' - "$VOD4"
}

helper_on_554() {
	nsx "$NS_RTR" conntrack -L -f ipv4 -p tcp --dport 554 2>/dev/null |
		grep -q 'helper=rtsp'
}

# An older guide's rules: an untagged iptables rule and an nft helper object
# of type "rtsp" in a table of its own.  They hold the module too.
helper_rules() {	# every iptables/ip6tables raw rule attaching "rtsp"
	{
		nsx "$NS_RTR" iptables -t raw -S
		nsx "$NS_RTR" ip6tables -t raw -S
	} 2>/dev/null | grep -c -- '--helper rtsp'
}
nsx "$NS_RTR" iptables -t raw -A PREROUTING -i "$LAN_IF" -p tcp --dport 554 -j CT --helper rtsp
nsx "$NS_RTR" nft -f - <<-'EOF'
	table inet oldguide {
		ct helper rtsp-554 {
			type "rtsp" protocol tcp
		}
		chain pre {
			type filter hook prerouting priority filter; policy accept;
			tcp dport 554 ct helper set "rtsp-554"
		}
	}
EOF
legacy_listed() {
	local err=$E2E_WORK/legacy.err
	nsx "$NS_RTR" "$ATTACH" --remove 2>"$err" || return 1
	cat "$err"
	grep -Eq -- "^    iptables -t raw -D PREROUTING -i $LAN_IF -p tcp (-m tcp )?--dport 554 -j CT --helper rtsp\$" "$err" &&
	grep -q 'table inet oldguide, ct helper rtsp-554 (type "rtsp")' "$err" &&
	grep -q 'they hold nf_conntrack_rtsp' "$err"
}
check "rtsp-attach --remove lists an older guide's iptables rule (with its -D command) and nft helper object" \
	legacy_listed
check_eq "rtsp-attach --remove left the untagged rule" 1 "$(helper_rules)"
check "rtsp-attach --remove --all" nsx "$NS_RTR" "$ATTACH" --remove --all
check_eq "--remove --all: no iptables rule attaches rtsp" 0 "$(helper_rules)"
# Whatever the checks above did: nothing of the older guide stays.
nsx "$NS_RTR" iptables -t raw -D PREROUTING -i "$LAN_IF" -p tcp --dport 554 -j CT --helper rtsp 2>/dev/null
nsx "$NS_RTR" nft delete table inet oldguide

# A second copy of the module (an older install's) in the module tree:
# rtsp-conntrack-status names it.  The tree is read-only here: updates/ is
# replaced by a copy holding one more.
dup_hinted() {
	local mdir copy=$E2E_WORK/updates out rc=0
	mdir=/lib/modules/$(uname -r)
	cp -a "$mdir/updates" "$copy" && mkdir -p "$copy/old" &&
		cp "$(modinfo -n nf_conntrack_rtsp)" "$copy/old/" || return 1
	mount --bind "$copy" "$mdir/updates" || return 1
	out=$(nsx "$NS_RTR" "$STATUS" 2>&1) || rc=$?
	umount "$mdir/updates"
	echo "$out"
	grep -q "2 copies of nf_conntrack_rtsp.ko for $(uname -r), modprobe loads $mdir/updates/nf_conntrack_rtsp.ko" <<<"$out" &&
	grep -q "^    $mdir/updates/old/nf_conntrack_rtsp.ko" <<<"$out"
}
check "rtsp-conntrack-status names a second copy of nf_conntrack_rtsp.ko" dup_hinted

# ports=8554 alone: "rtsp" still exists (on 554; "rtsp-0" on 8554, as
# rtsp-linux names it), the load message says both, and rtsp-attach
# attaches "rtsp".  dyndbg=+p on the modprobe line turns the normal
# build's pr_debug traces on.
nsx "$NS_RTR" "$ATTACH" --remove 2>/dev/null
DDC=/proc/dynamic_debug/control
if [ ! -e "$DDC" ]; then	# older kernels: in debugfs only
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	DDC=/sys/kernel/debug/dynamic_debug/control
fi
if check "modprobe -r, then nf_conntrack_rtsp ports=8554 dyndbg=+p" eval \
	'modprobe -r nf_nat_rtsp nf_conntrack_rtsp && dmesg -C &&
	 modprobe nf_conntrack_rtsp ports=8554 dyndbg=+p && modprobe nf_nat_rtsp'; then
	check "load message: helper \"rtsp-0\" on port 8554, \"rtsp\" on port 554" \
		eval "dmesg | grep -F 'nf_conntrack_rtsp: helper \"rtsp-0\" on port 8554, \"rtsp\" on port 554, media_source=any'"
	check "dyndbg=+p: nf_conntrack_rtsp's pr_debug sites are on" \
		eval "grep -q '\[nf_conntrack_rtsp\].* =p ' $DDC"
	nsx "$NS_RTR" conntrack -F 2>/dev/null
	if check "ports=8554: rtsp-attach -i $LAN_IF" nsx "$NS_RTR" "$ATTACH" -i "$LAN_IF"; then
		conn554 4
		check "ports=8554: helper=rtsp on the decoder's connection to 554" helper_on_554 4
	fi
	nsx "$NS_RTR" "$ATTACH" --remove
fi


e2e_exit
