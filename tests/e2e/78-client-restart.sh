#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A decoder restarts its control connection on the same ports (issue 16),
# through the NAT router.
#
# A set-top box that reboots may connect again from the source port it
# used before, while the router's conntrack of the old connection is still
# established (its end never reached the router). Conntrack ignores the
# new SYN, and follows the new connection once the server's SYN/ACK
# acknowledges it (tcp_packet(): "resync"); the helper must follow it too,
# from its first byte: the new connection's SETUP opens its port. Both
# ends lose the old connection silently here: nft in the decoder and in
# the server drops their FIN and RST, and each resets its socket.
#
#   plain      SETUP client_port=40130 (its stream delivered) and 40134
#              (no media: pending) from source port 40500; both ends lose
#              the connection; a new one from port 40500 (the same
#              conntrack, no new one) sends SETUP client_port=40132:
#              expected, and its stream reaches the decoder; 40134 is no
#              longer expected (the old connection's SETUPs went with it)
#   rewritten  the same, 5 times in a row from port 40600, with
#              destination=192.168.1.200 in each SETUP: the router writes
#              its own address there (a byte shorter), and the old
#              connection's sequence adjustment would move the new SYN
#              whenever the offset for its random ISN is not 0 (about one
#              time in two here): conntrack would not follow the new
#              connection. The helper moves the SYN back, and drops the
#              adjustment once conntrack follows: each SETUP is answered,
#              its port expected, its stream delivered
#
# Without the restart path the helper takes the new connection's first
# segment for a retransmission or for bytes after a gap: the SETUP for
# 40132 is not expected ("plain" FAILs).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

W=$E2E_WORK
SRV=172.26.22.11
ROUNDS=5

rb_setup_nat
router_count_udp 27336
ip -n "$NS_VOD" addr add "$SRV/24" dev eth0
check "raw RTSP server on $SRV" eval "RB_SRV_BIND=$SRV rb_server" || e2e_exit
rb_sender "$NS_MPEG"

# lose_ends on|off: the decoder's and the server's FIN and RST on port 554
# do not leave them (the router never sees the old connection end).
lose_ends() {
	if [ "$1" = on ]; then
		nse "$NS_DEC" nft -f - <<-EOF &&
		table inet e2e_lose {
			chain output {
				type filter hook output priority 0; policy accept;
				tcp dport 554 tcp flags & (fin | rst) != 0 drop
			}
		}
		EOF
		nse "$NS_VOD" nft -f - <<-EOF
		table inet e2e_lose {
			chain output {
				type filter hook output priority 0; policy accept;
				tcp sport 554 tcp flags & (fin | rst) != 0 drop
			}
		}
		EOF
	else
		nse "$NS_DEC" nft delete table inet e2e_lose &&
			nse "$NS_VOD" nft delete table inet e2e_lose
	fi
}
ctid() {	# ctid SPORT: "ID STATE" of the router's conntrack from DEC4:SPORT to 554
	nse "$NS_RTR" conntrack -L -p tcp --orig-src "$DEC4" --orig-port-src "$1" \
		--orig-port-dst 554 -o id 2>/dev/null |
		sed -En 's/.* (ESTABLISHED|SYN_RECV|SYN_SENT|CLOSE|TIME_WAIT|FIN_WAIT|CLOSE_WAIT|LAST_ACK) .*id=([0-9]+).*/\2 \1/p' |
		head -n1
}
last_dest() {	# last_dest: destination= of the last SETUP the server got
	grep '"method": "SETUP"' "$W/raw.log" | tail -n1 | grep -o 'destination=[0-9.]*' |
		cut -d= -f2
}
aborts() {	# aborts: requests the server answered by a reset
	grep -c '"method": "GET_PARAMETER"' "$W/raw.log" 2>/dev/null
}

# The decoder's script (gen.py SPORT DEST PORT...): per port, connect
# from SPORT, SETUP (destination=DEC4 if DEST is 1), wait for the shell;
# between two, a request the server answers with a reset, and a reset.
cat >"$W/gen.py" <<'EOF'
import json, sys
w, srv, dec, name, sport, dest = sys.argv[1:7]
ports = sys.argv[7:]
steps = []
for i, pp in enumerate(ports):
    steps.append({"connect": srv, "sport": int(sport)})
    # "P+Q": a second SETUP, for Q, on the same connection.
    for k, p in enumerate(pp.split("+")):
        tr = "MP2T/H2221/UDP;unicast;"
        if dest == "1":
            tr += "destination=%s;" % dec
        tr += "client_port=%s" % p
        steps += [{"send": ["SETUP rtsp://%s/vod RTSP/1.0\r\nCSeq: %d\r\n"
                            "Transport: %s\r\n\r\n" % (srv, k + 1, tr)]},
                  {"recv": 1, "timeout": 20}]
    p = pp.split("+")[0]
    steps += [{"touch": "%s/gate.%s.%s" % (w, name, p)},
              {"wait": "%s/go.%s.%s" % (w, name, p)}]
    if i + 1 < len(ports):
        steps += [{"send": ["GET_PARAMETER rtsp://%s/vod RTSP/1.0\r\n"
                            "CSeq: 99\r\nX-Abort: 1\r\n\r\n" % srv]},
                  {"sleep": 0.5}, {"close": 1, "abort": True}]
steps.append({"close": 1})
print(json.dumps(steps))
EOF

# restart_case NAME SPORT DEST PORT...: one connection per PORT, each a
# restart of the one before on the same ports.
restart_case() {
	local name=$1 sport=$2 dest=$3 port prev='' id n=0 extra pending=''
	shift 3
	"$PY" "$W/gen.py" "$W" "$SRV" "$DEC4" "$name" "$sport" "$dest" "$@" \
		>"$W/$name.json"
	rb_client "$name" "$NS_DEC" "$(IFS=,; echo "$*" | tr + ,)"
	for port; do
		extra=${port#*+}
		[ "$extra" = "$port" ] && extra=
		port=${port%%+*}
		if [ -n "$prev" ]; then
			# The server reset the old connection, then the decoder.
			# shellcheck disable=SC2016 # expanded by eval
			busywait 10000 eval '[ "$(aborts)" -gt "$n" ]' >/dev/null
			nap 1
			lose_ends off
		fi
		if ! rb_gate "$W/gate.$name.$port" "$RB_CLI_PID" 60000; then
			fail "$name/$port: SETUP answered" \
				"$(cat "$W/$name.out" "$W/$name.err" 2>/dev/null)"
			return 1
		fi
		pass "$name/$port: SETUP answered"
		check "$name/$port: $port expected" rb_expect_port "$port"
		[ -z "$extra" ] || check "$name/$port: $extra expected (no media: pending)" \
			rb_expect_port "$extra"
		[ -z "$pending" ] ||
			check "$name/$port: the old connection's pending $pending ended with the restart" \
				eval "! rb_expect_port $pending"
		pending=$extra
		id=$(ctid "$sport")
		[ -z "$prev" ] ||
			check_eq "$name/$port: the old connection's conntrack follows the new one" \
				"${prev%% *}" "${id%% *}"
		rb_burst "$NS_MPEG" "$RTR_WAN4" "$port" 20
		check "$name/$port: the stream to $port reaches the decoder" \
			busywait 10000 rb_udp_ge "$W/$name.udp" "$port" 20
		[ "$dest" = 0 ] ||
			check_eq "$name/$port: the server sees destination=$RTR_WAN4" \
				"$RTR_WAN4" "$(last_dest)"
		# Then both ends lose the connection, unseen by the router.
		if [ "$port" != "${*: -1}" ] && [ "$port+$extra" != "${*: -1}" ]; then
			lose_ends on || fail "$name/$port: nft rules losing the ends"
			n=$(aborts)
		fi
		prev=$id
		touch "$W/go.$name.$port"
	done
	wait "$RB_CLI_PID" 2>/dev/null
	return 0
}

restart_case plain 40500 0 40130+40134 40132
info "rewritten: destination=$DEC4 becomes $RTR_WAN4 ($(( ${#RTR_WAN4} - ${#DEC4} )) bytes)"
ports=
for ((i = 0; i < ROUNDS; i++)); do
	ports="$ports $((40140 + 2 * i))"
done
# shellcheck disable=SC2086 # a list of ports
restart_case rewritten 40600 1 $ports
check "no 'not followed' in the kernel log" eval "! dmesg | grep -q 'no longer followed'"

vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
