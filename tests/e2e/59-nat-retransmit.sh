#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The port-owner scenario of 57-nat-port-owner (A streams on router port
# 27336 from the MPEG server's source port 5000, B asks client_port=27336
# meanwhile) when B's SETUP does not cross the router as one clean
# segment (issue 14, cases 5 and 8).
#
# retransmit: an nft rule in the ISP's forward path drops the first TCP
#   segment of B's connection that starts with "SETUP" (raw payload match,
#   ct mark: one drop per connection), armed once A's SETUP has passed; B's
#   TCP retransmits it. Correct: the VoD manager gets B's SETUP once, with a
#   router port other than A's; the retransmission got the same mapping as
#   the lost copy (one expectation, B's); PLAY and TEARDOWN after it are
#   answered (the TCP sequence numbers stayed right); each decoder receives
#   exactly its own stream. The drop rule's counter must be 1, so that the
#   case cannot pass without a retransmission.
# split-transport, split-before: B's SETUP is sent in two segments, 0.2 s
#   apart, cut inside the Transport value ("client_port=27|336") or just
#   before the Transport header. Safety: the VoD manager never gets B's
#   SETUP with A's router port and B's stream never reaches A. Liveness
#   (with the fix): B's SETUP arrives rewritten to another router port
#   (the router may drop segments so that B's TCP sends them again) and B
#   gets its stream. A router counter of segments that start with "SETUP"
#   but are shorter than B's SETUP shows that it really was split.
#
# Control: at c176a75 B's SETUP reaches the VoD manager with client_port=
# 27336 in all three cases and B's stream reaches A (the mapping and
# count checks fail); the drop counter and split checks pass there.

# shellcheck disable=SC2317 # the hooks of rn_owner are called through variables
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

rb_setup_nat
check "raw RTSP server on the VoD manager" rb_server || e2e_exit
# B's data segments towards port 554, before conntrack and the helper
# (b_seg), and those that start with "SETUP" but are shorter than B's whole
# SETUP (143 bytes + 52 of IPv4 and TCP headers with timestamps): a part of
# a split SETUP (b_part).
nse "$NS_RTR" nft -f - <<EOF
table inet e2e_bseg {
	counter b_seg { }
	counter b_part { }
	chain prerouting {
		type filter hook prerouting priority raw - 10; policy accept;
		ip saddr $DEC2_4 tcp dport 554 tcp flags & (syn | rst) == 0 ip length > 52 counter name "b_seg"
		ip saddr $DEC2_4 tcp dport 554 @ih,0,40 0x5345545550 ip length < 195 counter name "b_part"
	}
}
EOF

b_count() {	# b_count COUNTER: its packets since the last call (reset)
	nse "$NS_RTR" nft reset counter inet e2e_bseg "$1" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n1
}
b_segments() { b_count b_seg; }

# --- retransmit -----------------------------------------------------------------
# The WAN loses the first copy of B's SETUP: the first segment of a
# connection (from the router's WAN address, so A's and B's) whose payload
# starts with "SETUP" is dropped, once per connection (ct mark). Armed once
# A's SETUP is through, so only B's is hit.
arm_drop() {
	nse "$NS_ISP" nft -f - <<-EOF
	table inet e2e_loss {
		counter setup_drop { }
		chain forward {
			type filter hook forward priority filter; policy accept;
			ip saddr $RTR_WAN4 tcp dport 554 @ih,0,40 0x5345545550 ct mark 0 ct mark set 1 counter name "setup_drop" drop
		}
	}
	EOF
	b_segments >/dev/null
}
drop_count() {
	nse "$NS_ISP" nft list counter inet e2e_loss setup_drop 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n1
}

log_b_segments() {
	info "retransmit: B sent $(b_segments) data segments (SETUP + retransmission)"
}
RN_B_ADDR=$DEC2_4 RN_ARM=arm_drop RN_ON_B_SETUP=log_b_segments \
	rn_owner retransmit "$NS_DEC" "$NS_DEC2"
check_eq "retransmit: the ISP dropped exactly one segment, the first copy of B's SETUP" \
	1 "$(drop_count)"
nse "$NS_ISP" nft delete table inet e2e_loss
info "t=$(rb_elapsed "$T0") s: retransmit done"

# --- split SETUPs -----------------------------------------------------------------
reset_b_segments() { b_count b_seg >/dev/null; b_count b_part >/dev/null; }
read_b_segments() { SEGS=$(b_count b_seg); PART=$(b_count b_part); }
for c in 'split-transport ["client_port=|+14"]' 'split-before ["Transport:"]'; do
	read -r name cuts <<<"$c"
	nse "$NS_RTR" conntrack -D -p udp >/dev/null 2>&1
	SEGS='' PART=''
	RN_B_ADDR=$DEC2_4 RN_B_CUTS=$cuts RN_ARM=reset_b_segments RN_ON_B_SETUP=read_b_segments \
		rn_owner "$name" "$NS_DEC" "$NS_DEC2"
	info "$name: B's SETUP: $SEGS data segments at the router"
	if [ "${PART:-0}" -ge 1 ]; then
		pass "$name: a part of B's SETUP crossed the router alone ($PART segment(s) starting with SETUP, shorter than it)"
	else
		fail "$name: a part of B's SETUP crossed the router alone (0 segments starting with SETUP, shorter than it)" \
			"cuts coalesced: this case did not test a split SETUP"
	fi
	info "t=$(rb_elapsed "$T0") s: $name done"
done

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
