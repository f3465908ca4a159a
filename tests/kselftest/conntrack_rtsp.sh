#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test the RTSP connection tracking and NAT helpers:
# 1. the RTSP server and the media server are different hosts behind
#    different router interfaces (as IPTV video on demand): the stream of
#    a SETUP reaches the decoder behind a masquerading router.
# 2. two decoders ask for the same client_port: each gets its own router
#    port and its own stream.
# 3. TEARDOWN removes the expectation of the session.
# 4. control: without the helper rule, no expectation and no stream.
#
# Kselftest framework requirement - SKIP code is 4.

# The RTSP server, one connection on stdin/stdout (started by socat):
# answers every request with 200 and records the client_port of each
# SETUP, as it sees it, in $1/ports.
rtsp_server()
{
	local dir=$1 line method="" cseq="" transport="" port

	while IFS= read -r line; do
		line=${line%$'\r'}
		if [ -n "$line" ]; then
			case "$line" in
			[A-Z]*" rtsp://"*) method=${line%% *} ;;
			[Cc][Ss]eq:*) cseq=${line#*:}; cseq=${cseq# } ;;
			[Tt]ransport:*) transport=${line#*:}; transport=${transport# } ;;
			esac
			continue
		fi
		[ -n "$method" ] || continue
		printf 'RTSP/1.0 200 OK\r\nCSeq: %s\r\nSession: 4711\r\n' "$cseq"
		if [ "$method" = SETUP ]; then
			port=${transport#*client_port=}
			port=${port%%[!0-9]*}
			echo "$port" >> "$dir/ports"
			printf 'Transport: %s;server_port=6970-6971\r\n' "$transport"
		fi
		printf '\r\n'
		method=""
		cseq=""
		transport=""
	done
}

if [ "$1" = "--rtsp-server" ]; then
	rtsp_server "$2"
	exit 0
fi

source lib.sh

ret=0
N=10
CRLF=$'\r\n'
SELF=$(readlink -f "$0")

checktool "socat -h" "run test without socat"
checktool "conntrack --version" "run test without conntrack"
checktool "nft --version" "run test without nft"

DIR=$(mktemp -d)

cleanup()
{
	exec 7>&- 8>&- 2>/dev/null
	cleanup_all_ns
	rm -rf "$DIR"
}

trap cleanup EXIT

setup_ns dec1 dec2 rtr srv media

# dec1 -- lan1 \        / wan1 -- srv (RTSP server 10.0.2.10)
#               rtr (NAT)
# dec2 -- lan2 /        \ wan2 -- media (media server 10.0.4.20)
link()
{
	local ns=$1 dev=$2 net=$3 host=$4

	if ! ip link add "$dev" netns "$rtr" type veth \
	     peer name eth0 netns "$ns" > /dev/null 2>&1; then
		echo "SKIP: No virtual ethernet pair device support in kernel"
		exit $ksft_skip
	fi
	ip -net "$rtr" link set "$dev" up
	ip -net "$ns" link set eth0 up
	ip -net "$rtr" addr add "$net.1/24" dev "$dev"
	ip -net "$ns" addr add "$net.$host/24" dev eth0
	ip -net "$ns" route add default via "$net.1"
}

link "$dec1" lan1 10.0.1 2
link "$dec2" lan2 10.0.3 2
link "$srv" wan1 10.0.2 10
link "$media" wan2 10.0.4 20
ip netns exec "$rtr" sysctl -q net.ipv4.ip_forward=1

if ! ip netns exec "$rtr" nft -f - <<EOF
table inet filter {
	counter media1 { }
	counter media2 { }
	counter teardown { }
	counter control { }

	chain forward {
		type filter hook forward priority filter; policy drop;
		ip daddr 10.0.1.2 udp dport 5000 counter name "media1"
		ip daddr 10.0.3.2 udp dport 5000 counter name "media2"
		udp dport 5002 counter name "teardown"
		udp dport 5004 counter name "control"
		ct state established,related accept
		iifname "lan*" accept
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan*" masquerade
	}
}
EOF
then
	echo "SKIP: Could not load the nftables ruleset"
	exit $ksft_skip
fi

load_helper_rule()
{
	ip netns exec "$rtr" nft -f - <<EOF
table inet rtsp {
	ct helper rtsp {
		type "rtsp" protocol tcp
		l3proto inet
	}

	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		iifname "lan*" tcp dport 554 ct helper set "rtsp"
	}
}
EOF
}

if ! load_helper_rule; then
	echo "SKIP: Could not load the rtsp ct helper (CONFIG_NF_CONNTRACK_RTSP?)"
	exit $ksft_skip
fi

listener_ready()
{
	ss -N "$1" -lnt "sport = :554" | grep -q 554
}

ip netns exec "$srv" socat TCP-LISTEN:554,reuseaddr,fork EXEC:"$SELF --rtsp-server $DIR" &
busywait "$BUSYWAIT_TIMEOUT" listener_ready "$srv"

# recv NS PORT: count the datagrams to PORT in $DIR/NS-PORT, a line each.
recv()
{
	ip netns exec "$1" socat -u UDP4-RECV:"$2" OPEN:"$DIR/$1-$2",creat,append &
}

recv "$dec1" 5000
recv "$dec2" 5000
recv "$dec1" 5002
recv "$dec1" 5004

# rtsp_connect FD NS: a control connection from NS, requests written to FD.
rtsp_connect()
{
	local fd=$1 ns=$2

	mkfifo "$DIR/in-$fd"
	ip netns exec "$ns" socat -t 30 STDIO TCP:10.0.2.10:554 \
		< "$DIR/in-$fd" > "$DIR/out-$fd" &
	eval "exec $fd>\"$DIR/in-$fd\""
}

replies()
{
	test "$(grep -c '^RTSP/1.0 200' "$DIR/out-$1" 2>/dev/null)" -ge "$2"
}

cseq=0
# rtsp_request FD METHOD [HEADER]: send, wait for the reply.
rtsp_request()
{
	local fd=$1 method=$2 header=$3 n

	cseq=$((cseq + 1))
	n=$(grep -c '^RTSP/1.0 200' "$DIR/out-$fd" 2>/dev/null)
	printf '%s rtsp://10.0.2.10/vod RTSP/1.0\r\nCSeq: %d\r\n%s\r\n' \
		"$method" "$cseq" "${header:+$header$CRLF}" >&"$fd"
	busywait "$BUSYWAIT_TIMEOUT" replies "$fd" $((n + 1))
}

# setup FD CLIENT_PORT: SETUP; $port: the client_port the server saw.
setup()
{
	port=""
	rtsp_request "$1" SETUP "Transport: RTP/AVP;unicast;client_port=$2-$(($2 + 1))" || return 1
	port=$(tail -n 1 "$DIR/ports")
}

# send PORT TAG: N datagrams from the media server to the router's port.
send()
{
	local i

	for i in $(seq 1 $N); do
		echo "$2 $i" | ip netns exec "$media" \
			socat -u STDIN UDP4-SENDTO:10.0.2.1:"$1",sourceport=6970
	done
}

# received NS PORT TAG: datagrams with TAG that reached NS on PORT.
received()
{
	local n

	n=$(grep -c "^$3 " "$DIR/$1-$2" 2>/dev/null)
	echo "${n:-0}"
}

counter()
{
	ip netns exec "$rtr" nft list counter inet filter "$1" | awk '/packets/ { print $2 }'
}

expected()
{
	ip netns exec "$rtr" conntrack -L expect 2>/dev/null | grep -c "dport=$1 "
}

no_expectation()
{
	test "$(expected "$1")" -eq 0
}

check()
{
	local what=$1 want=$2 got=$3

	if [ "$got" = "$want" ]; then
		echo "PASS: $what"
	else
		echo "FAIL: $what: $got, expected $want"
		ret=1
	fi
}

# 1. The RTSP server and the media server are different hosts.
rtsp_connect 7 "$dec1"
setup 7 5000
p1=$port
check "dec1 SETUP client_port=5000: expectation for router port $p1" 1 "$(expected "$p1")"
send "$p1" one
busywait "$BUSYWAIT_TIMEOUT" until_counter_is ">= $N" received "$dec1" 5000 one > /dev/null
check "dec1 got the stream from the media server" "$N" "$(received "$dec1" 5000 one)"
check "router forwarded it to dec1 (nft counter)" "$N" "$(counter media1)"

# 2. Another decoder asks for the same port while dec1's stream holds it.
rtsp_connect 8 "$dec2"
setup 8 5000
p2=$port
if [ -n "$p2" ] && [ "$p2" != "$p1" ]; then
	echo "PASS: dec2 SETUP client_port=5000: router port $p2, not dec1's $p1"
else
	echo "FAIL: dec2 SETUP client_port=5000: router port '$p2', dec1's is $p1"
	ret=1
fi
send "$p2" two
send "$p1" one
busywait "$BUSYWAIT_TIMEOUT" until_counter_is ">= $N" received "$dec2" 5000 two > /dev/null
busywait "$BUSYWAIT_TIMEOUT" until_counter_is ">= $((2 * N))" received "$dec1" 5000 one > /dev/null
check "dec2 got its own stream" "$N" "$(received "$dec2" 5000 two)"
check "dec1 got its own stream" "$((2 * N))" "$(received "$dec1" 5000 one)"
check "dec1 got none of dec2's" 0 "$(received "$dec1" 5000 two)"
check "dec2 got none of dec1's" 0 "$(received "$dec2" 5000 one)"
check "router forwarded dec2's to dec2 (nft counter)" "$N" "$(counter media2)"

# 3. TEARDOWN ends the expectation of a session.
setup 7 5002
p3=$port
check "dec1 SETUP client_port=5002: expectation for router port $p3" 1 "$(expected "$p3")"
rtsp_request 7 TEARDOWN "Session: 4711"
busywait "$BUSYWAIT_TIMEOUT" no_expectation "$p3"
check "TEARDOWN removed the expectation for router port $p3" 0 "$(expected "$p3")"
send "$p3" three
check "no datagram after TEARDOWN reached dec1 (nft counter)" 0 "$(counter teardown)"
check "dec1 got no datagram after TEARDOWN" 0 "$(received "$dec1" 5002 three)"

# 4. Control: the same without the helper rule.
ip netns exec "$rtr" nft delete table inet rtsp
exec 7>&-
rtsp_connect 9 "$dec1"
setup 9 5004
p4=$port
check "control: SETUP client_port=5004 unchanged without the helper" 5004 "$p4"
check "control: no expectation without the helper" 0 "$(expected 5004)"
send 5004 four
check "control: no datagram forwarded without the helper (nft counter)" 0 "$(counter control)"
check "control: dec1 got no datagram without the helper" 0 "$(received "$dec1" 5004 four)"

exit $ret
