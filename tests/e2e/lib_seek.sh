# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the seek tests (tests/e2e/61-68, issue 15: "the stream follows
# the session: a seek, rewind, pause or new sender never loses the
# picture"), sourced after lib.sh, lib_robust.sh and lib_nat.sh.
#
# What the tests assert is the PLAY re-arm (README, "How it works"): the
# SETUP expects the media, and each PLAY of a session whose media flowed
# (a seek, a rewind, the end of a PAUSE) expects them again, on the same
# router port towards the same decoder port, for 120 s (at most
# setup_timeout); the first new flow uses that expectation up, the flow
# of the sender before it stays until the session ends. A new sender
# without a PLAY is not let in.
#
# A session is an rtsp_raw.py client (the decoder) talking to the raw
# RTSP server on the VoD manager (rb_server): OPTIONS and SETUP with
# client_port=PORT, then the acts the test lists (PLAY with a Range, i.e.
# a seek; PAUSE; TEARDOWN; closing the connection), each one when the test
# asks for it (sk_act). The client counts the datagrams on PORT until the
# test ends it, also after TEARDOWN. The test sends the media itself
# (media.py, from a chosen host and source port) to the address and port
# the VoD manager saw in the SETUP (the router's WAN address and router
# port behind NAT, the decoder's own when routed), and checks how many of
# them reach the decoder.

SK_URI=${SK_URI:-rtsp://$VOD4/vod}
SK_SERVER=${SK_SERVER:-$VOD4}
declare -A SK_PID SK_LPORT SK_DST SK_PORT SK_STEP SK_ACTS SK_MARK SK_CONN

# sk_msg METHOD CSEQ [HEADER...]: a request of session {S0} (none for
# OPTIONS and SETUP) as a JSON string; its URI is $SK_URI, or for a SETUP
# $SK_SETUP_URI when set (a SETUP to another host than the TCP peer).
sk_msg() {
	local m=$1 cseq=$2 h out uri=$SK_URI
	shift 2
	[ "$m" = SETUP ] && uri=${SK_SETUP_URI:-$SK_URI}
	out="$m $uri RTSP/1.0\\r\\nCSeq: $cseq\\r\\n"
	case $m in OPTIONS|SETUP) ;; *) out+="Session: {S0}\\r\\n" ;; esac
	for h in "$@"; do
		out+="$h\\r\\n"
	done
	printf '"%sUser-Agent: MICA-IP-STB\\r\\n\\r\\n"' "$out"
}

# sk_client NAME NS PORT ACT...: start decoder NAME in NS, asking for
# client_port=PORT; returns once its SETUP is answered (FAIL and 1 if not).
# Each ACT is done by one sk_act call, in order:
#   play:NPT   PLAY with "Range: npt=NPT-end" (a seek when not the first)
#   badplay:NPT  the same with a header line without ':' (the router then
#              no longer follows the client)
#   pause      PAUSE
#   get        GET_PARAMETER (a keep-alive)
#   teardown   TEARDOWN
#   close      close the control connection (no TEARDOWN)
# Sets SK_DST[NAME] and SK_PORT[NAME]: the address and port the VoD
# manager was given (where the media goes). Files: $E2E_WORK/NAME.*.
# The client keeps counting until sk_end (or the end of the test).
sk_client() {
	sk_client_start "$@" && sk_setup_wait "$1" 60000
}

# sk_client_start NAME NS PORT [ACT...]: as sk_client, without waiting for
# the SETUP's answer (its client waits up to 120 s for it): for a SETUP the
# router holds back (dropped, so that TCP sends it again) until it may pass.
sk_client_start() {
	local name=$1 ns=$2 port=$3 d=$E2E_WORK/$1 i=0 act cseq=3 hint=0.0.0.0
	shift 3
	[[ $SK_SERVER == *:* ]] && hint=::
	{
		echo '['
		echo "{\"connect\": \"$SK_SERVER\"},"
		echo "{\"send\": [$(sk_msg OPTIONS 1)]}, {\"recv\": 1}, {\"touch\": \"$d.opt\"},"
		echo "{\"send\": [$(sk_msg SETUP 2 "Transport: MP2T/H2221/UDP;unicast;client_port=$port" "x-mayNotify:")]}, {\"recv\": 1, \"timeout\": 120},"
		echo "{\"touch\": \"$d.0\"},"
		for act in "$@"; do
			i=$((i + 1))
			echo "{\"wait\": \"$d.go.$i\", \"timeout\": 300},"
			case $act in
			play:*)
				echo "{\"send\": [$(sk_msg PLAY $cseq "Range: npt=${act#play:}-end" "Scale: 1.000" "x-playNow:" "x-noFlush:")]}, {\"recv\": 1},"
				;;
			badplay:*)	# with a header line the helper cannot read
				echo "{\"send\": [$(sk_msg PLAY $cseq "Range: npt=${act#badplay:}-end" "no colon here")]}, {\"recv\": 1},"
				;;
			pause) echo "{\"send\": [$(sk_msg PAUSE $cseq)]}, {\"recv\": 1}," ;;
			get) echo "{\"send\": [$(sk_msg GET_PARAMETER $cseq)]}, {\"recv\": 1}," ;;
			teardown) echo "{\"send\": [$(sk_msg TEARDOWN $cseq)]}, {\"recv\": 1}," ;;
			close) echo '{"close": 1},' ;;
			*) echo "sk_client: unknown act $act" >&2; return 1 ;;
			esac
			cseq=$((cseq + 1))
			echo "{\"touch\": \"$d.$i\"},"
		done
		echo "{\"wait\": \"$d.end\", \"timeout\": 300}"
		echo ']'
	} >"$d.json"
	rm -f "$d".[0-9]* "$d".go.* "$d.end" "$d.udp" "$d.opt"
	rn_log_mark
	bg nse "$ns" "$PY" "$RAW" client --script "$d.json" --listen "${port/-/,}" \
		--udp-status "$d.udp" --family-hint "$hint" >"$d.out" 2>"$d.err"
	SK_PID[$name]=$BG_PID
	SK_MARK[$name]=$RN_LOG_AT
	SK_LPORT[$name]=${port%-*}
	SK_STEP[$name]=0
	SK_ACTS[$name]="$*"
}

# sk_setup_wait NAME MS: wait up to MS ms for NAME's SETUP to be answered
# (FAIL and 1 if not); record where the server sends its media.
sk_setup_wait() {
	local name=$1 d=$E2E_WORK/$1 line

	if ! rb_gate "$d.0" "${SK_PID[$name]}" "$2"; then
		fail "$name: SETUP answered" "$(cat "$d.out" "$d.err" 2>/dev/null)"
		return 1
	fi
	RN_LOG_AT=${SK_MARK[$name]}
	line=$(rn_log_new | grep '"method": "SETUP"' | tail -n1)
	SK_DST[$name]=$(rn_field peer <<<"$line")
	# shellcheck disable=SC2034 # the tests read it (the server's connection)
	SK_CONN[$name]=$(rn_field conn <<<"$line")
	SK_PORT[$name]=$(rn_field transport <<<"$line" | sed -n 's/.*client_port=\([0-9]*\).*/\1/p')
	info "$name: the VoD manager sends the media to ${SK_DST[$name]} port ${SK_PORT[$name]}"
	[ -n "${SK_DST[$name]}" ] && [ -n "${SK_PORT[$name]}" ]
}

# sk_held LABEL NAME PORT LOGGED: NAME's SETUP (for client port PORT),
# started with sk_client_start, is held back by the router: once its
# OPTIONS is answered, the SETUP is not answered within 3 s (its client
# still waiting), the command LOGGED (the router's log line of the drop)
# succeeds, and nothing expects PORT.
sk_held() {
	local d=$E2E_WORK/$2

	if ! rb_gate "$d.opt" "${SK_PID[$2]}" 60000; then
		fail "$1: its OPTIONS answered" "$(cat "$d.out" "$d.err" 2>/dev/null)"
		return 1
	fi
	check "$1: its SETUP is not answered within 3 s (held back)" \
		eval "! rb_gate '$d.0' '${SK_PID[$2]}' 3000 && kill -0 '${SK_PID[$2]}'"
	check "$1: the router logged the drop" busywait 5000 eval "$4"
	check "$1: no expectation for udp dport $3" eval "! sk_expect_line $3"
}

# sk_dropped LABEL NAME LOGGED: decoder NAME does its next act, which the
# router drops (NAT: the request would make the server stream to a router
# port that is not the session's): not answered within 3 s, its client
# still waiting, and the command LOGGED (the router's log line) succeeds.
# The client then gives up (sk_abandon).
sk_dropped() {
	local d=$E2E_WORK/$2 i=$((SK_STEP[$2] + 1))

	SK_STEP[$2]=$i
	touch "$d.go.$i"
	check "$1: not answered within 3 s (dropped)" \
		eval "! rb_gate '$d.$i' '${SK_PID[$2]}' 3000 && kill -0 '${SK_PID[$2]}'"
	check "$1: the router logged the drop" busywait 5000 eval "$3"
}

# sk_abandon NAME: decoder NAME's client does the rest of its acts and
# ends, whatever the router does with them: one of its requests was
# dropped, it gives up after 10 s (or its TCP got it through later, once
# the port was free again: dropped is not answered for ever).
sk_abandon() {
	local acts i

	read -ra acts <<<"${SK_ACTS[$1]}"
	for ((i = SK_STEP[$1] + 1; i <= ${#acts[@]}; i++)); do
		touch "$E2E_WORK/$1.go.$i"
	done
	touch "$E2E_WORK/$1.end"
	wait "${SK_PID[$1]}" 2>/dev/null
	return 0
}

# sk_act NAME...: each decoder NAME does its next act (all of them at
# once), and then waits until all are answered (FAIL and 1 if not).
sk_act() {
	local name i rc=0 acts
	for name in "$@"; do
		i=$((SK_STEP[$name] + 1))
		SK_STEP[$name]=$i
		touch "$E2E_WORK/$name.go.$i"
	done
	for name in "$@"; do
		i=${SK_STEP[$name]}
		read -ra acts <<<"${SK_ACTS[$name]}"
		if ! rb_gate "$E2E_WORK/$name.$i" "${SK_PID[$name]}" 30000; then
			fail "$name: ${acts[i - 1]:-act $i} answered" \
				"$(cat "$E2E_WORK/$name.out" "$E2E_WORK/$name.err" 2>/dev/null)"
			rc=1
		fi
	done
	return $rc
}

# sk_end NAME: end decoder NAME's script; PASS iff every request it sent
# was answered 200.
sk_end() {
	touch "$E2E_WORK/$1.end"
	wait "${SK_PID[$1]}"
	check "$1: every request answered 200" \
		eval "grep -q '\"ok\": true' '$E2E_WORK/$1.out' && ! grep -q '\"status\": [^2]' '$E2E_WORK/$1.out'"
}

sk_flow_from() {	# sk_flow_from ADDR PORT: the router's UDP conntrack from ADDR:PORT exists
	nse "$NS_RTR" conntrack -L -p udp --orig-src "$1" --orig-port-src "$2" 2>/dev/null |
		grep -q .
}

sk_got() {	# sk_got NAME: datagrams decoder NAME has received so far
	rb_udp "$E2E_WORK/$1.udp" "${SK_LPORT[$1]}"
}

# sk_media NS SRC_PORT NAME COUNT [TAG]: COUNT datagrams from NS's source
# port SRC_PORT to where decoder NAME's media goes, in the background
# (summary in $E2E_WORK/TAG.media, TAG defaults to NAME); sets SK_MEDIA_PID.
sk_media() {
	bg nse "$1" "$PY" "$MEDIA" --to "${SK_DST[$3]}" --port "${SK_PORT[$3]}" \
		--count "$4" --interval 0.005 --src-port "$2" >"$E2E_WORK/${5:-$3}.media"
	SK_MEDIA_PID=$BG_PID
}

# sk_flows_dump: the router's UDP conntracks and expectations (for a FAIL).
sk_flows_dump() {
	echo "--- router: conntrack -L -p udp"
	nse "$NS_RTR" conntrack -L -p udp 2>/dev/null
	echo "--- router: conntrack -L expect"
	rb_expect
}

# sk_burst LABEL NAME SENDER_NS SENDER_ADDR SRC_PORT COUNT WANT: COUNT
# datagrams from SENDER_ADDR:SRC_PORT (in SENDER_NS) to decoder NAME's
# media address and port; PASS iff the router's WAN side got all COUNT
# (so that a 0 is the router's doing) and WANT of them (COUNT or 0)
# reach the decoder. With WANT 0 the decoder is given a second to show
# a stray datagram.
sk_burst() {
	local label=$1 name=$2 ns=$3 from=$4:$5 count=$6 want=$7 before got routed
	router_count_udp "${SK_PORT[$name]}"
	before=$(sk_got "$name")
	sk_media "$ns" "$5" "$name" "$count" "$name.burst"
	wait "$SK_MEDIA_PID"
	if [ "$want" -gt 0 ]; then
		busywait 5000 rb_udp_ge "$E2E_WORK/$name.udp" "${SK_LPORT[$name]}" \
			$((before + want)) >/dev/null
	else
		nap 1
	fi
	got=$(($(sk_got "$name") - before))
	routed=$(router_udp_count)
	check_eq "$label: router got $count datagrams from $from on its WAN side" \
		"$count" "$routed"
	if [ "$want" -gt 0 ]; then
		label="$label: $want datagrams from $from reach decoder $name"
	else
		label="$label: not one datagram from $from reaches decoder $name"
	fi
	check_eq "$label" "$want" "$got" ||
		{ cat "$E2E_WORK/$name.burst.media"; sk_flows_dump; } | sed 's/^/    /'
}

# sk_expect_line PORT: the router's expectation(s) for UDP dport PORT, as
# conntrack -L expect prints them.
sk_expect_line() {
	rb_expect | grep -E "proto=17 .*dport=$1 "
}

# sk_expect_proc PORT: the same from /proc/net/nf_conntrack_expect (the
# router's namespace).
sk_expect_proc() {
	nse "$NS_RTR" cat /proc/net/nf_conntrack_expect 2>/dev/null |
		grep -E "proto=17 .*dport=$1 "
}

# sk_check_expect LABEL PORT [N]: the session waits for its media on the
# router port PORT (after its SETUP, and after each PLAY of a session
# whose media flowed: the PLAY re-arm): conntrack -L expect and
# /proc/net/nf_conntrack_expect show N (default 1) expectations for it.
sk_check_expect() {
	local l p n=${3:-1}
	l=$(sk_expect_line "$2")
	p=$(sk_expect_proc "$2")
	check_eq "$1: conntrack -L expect shows $n expectation(s) for udp dport $2" \
		"$n" "$(grep -c . <<<"$l")"
	check_eq "$1: ... and /proc/net/nf_conntrack_expect" "$n" "$(grep -c . <<<"$p")"
	[ -n "$l" ] && info "$l"
	return 0
}

# sk_check_no_expect LABEL PORT: no expectation for PORT (waits up to 5 s
# for it to go): the expectation was used up by a new flow, or the
# session ended.
sk_check_no_expect() {
	check "$1: no expectation for udp dport $2" \
		busywait 5000 eval "! sk_expect_line $2"
}

# sk_policy VALUE: reload nf_conntrack_rtsp with media_source=VALUE (the
# helper rule is put back) after flushing the router's conntracks, so that
# a case starts from a clean table.
sk_policy() {
	nse "$NS_RTR" conntrack -F >/dev/null 2>&1
	rb_reload_modules media_source="$1" &&
	grep -qx "$1" /sys/module/nf_conntrack_rtsp/parameters/media_source
}
