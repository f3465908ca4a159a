#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our expectfn on a master that another helper owns (issue 16, 1).
#
# ctnetlink lets CAP_NET_ADMIN create an expectation with any registered
# expectfn, "rtsp" (nf_nat_rtsp's, which calls nf_ct_rtsp_media_started())
# included, on any master that has a helper. Here the master is an FTP
# control connection through the NAT router, with nf_conntrack_ftp: once
# the client has sent a line, the FTP helper's data (where ours would keep
# its state pointer) holds TCP sequence numbers. An expectation for UDP
# from the MPEG server to the router's port 40000, expectfn "rtsp", mapped
# to the decoder's 40000, is created with raw ctnetlink
# (roles/ctnl_expect.py), then the MPEG server sends a datagram there.
#
# Checks: the expectation is accepted; the datagram makes a flow mapped
# to the decoder (the expectfn ran); the kernel survives and its log is
# clean (a helper reading the FTP data as its own state writes through a
# garbage pointer: an oops, or KASAN on the sanitized kernel); the FTP
# connection still carries data; an RTSP session still works.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
modprobe nf_conntrack_ftp 2>/dev/null || skip_all "no nf_conntrack_ftp module"

W=$E2E_WORK
rb_setup_nat
router_count_udp 27336
check "router: nft ct helper rule for ftp on tcp/21" nse "$NS_RTR" nft -f - <<-EOF || e2e_exit
	table inet e2e_ftp {
		ct helper ftp-helper {
			type "ftp" protocol tcp;
			l3proto inet;
		}
		chain prerouting {
			type filter hook prerouting priority filter; policy accept;
			tcp dport 21 ct helper set "ftp-helper"
		}
	}
EOF

# An FTP-ish server on the VoD manager: greets, logs each line it reads.
# shellcheck disable=SC2016 # python source
bg nse "$NS_VOD" "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 21)); s.listen(1)
open(sys.argv[2] + ".tmp", "w").close()
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
c, _ = s.accept(); c.sendall(b"220 ready\r\n")
f = c.makefile("rb")
with open(sys.argv[3], "a") as log:
    try:
        for line in f:
            log.write(line.decode(errors="replace")); log.flush()
            c.sendall(b"331 ok\r\n")
    except OSError:
        pass
' "$VOD4" "$W/ftp.ready" "$W/ftp.log"
busywait 30000 test -e "$W/ftp.ready" >/dev/null
check "FTP server listening on $VOD4:21" test -e "$W/ftp.ready" || e2e_exit

# The client keeps its connection open until $W/stop, one line per $W/lineN.
# shellcheck disable=SC2016 # expanded by the inner bash
bg nse "$NS_DEC" bash -c '
	exec 3<>"/dev/tcp/$1/21" || exit 1
	printf "USER anonymous\r\n" >&3
	while [ ! -e "$2/stop" ]; do
		[ -e "$2/line2" ] && [ ! -e "$2/line2.sent" ] &&
			printf "PASS x\r\n" >&3 && touch "$2/line2.sent"
		sleep 0.1
	done' ftpc "$VOD4" "$W"
busywait 20000 grep -q USER "$W/ftp.log" >/dev/null
check "FTP client sent its first line" grep -q USER "$W/ftp.log" || e2e_exit

ftp_ct=$(nse "$NS_RTR" conntrack -L -p tcp --dport 21 2>/dev/null | grep "src=$DEC4 ")
info "FTP conntrack: $ftp_ct"
check "the FTP connection has the ftp helper" eval "grep -q 'helper=ftp' <<<\"\$ftp_ct\""
sport=$(sed -n 's/.*src=[^ ]* dst=[^ ]* sport=\([0-9]*\) dport=21 .*/\1/p' <<<"$ftp_ct" | head -n1)

out=$(nse "$NS_RTR" "$PY" "$ROLES/ctnl_expect.py" --master "$DEC4:${sport:-1}-$VOD4:21" \
	--expect "$MPEG4-$RTR_WAN4:40000" --fn rtsp --nat "$DEC4:40000" 2>&1)
info "ctnetlink: $out"
check_eq "ctnetlink: expectation with expectfn rtsp on the FTP master accepted" ok "$out"
check "the expectation is in the table, master the FTP connection" \
	eval "rb_expect | grep -q 'dport=40000 .*master-src=$DEC4 .*dport=21 '"

nse "$NS_MPEG" bash -c "printf media >/dev/udp/$RTR_WAN4/40000"
busywait 5000 eval "nse '$NS_RTR' conntrack -L -p udp --orig-port-dst 40000 2>/dev/null | grep -q 'src=$DEC4 dst=$MPEG4 sport=40000'" >/dev/null
check "the datagram made a flow mapped to the decoder's 40000 (the expectfn ran)" \
	eval "nse '$NS_RTR' conntrack -L -p udp --orig-port-dst 40000 2>/dev/null | grep -q 'src=$DEC4 dst=$MPEG4 sport=40000'"
check "kernel log clean after the flow" rb_dmesg_clean

touch "$W/line2"
busywait 10000 grep -q PASS "$W/ftp.log" >/dev/null
check "the FTP connection still carries data" grep -q PASS "$W/ftp.log"
touch "$W/stop"

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
e2e_exit
