# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the NAT port-mapping tests (tests/e2e/56-60), sourced after
# lib.sh and lib_robust.sh. The clients are rtsp_raw.py clients (rb_client),
# the VoD manager is rtsp_raw.py's server (rb_server, log $E2E_WORK/raw.log),
# and the MPEG server's streams are started by the test (media.py), so
# that the test knows which stream is whose.

MEDIA=$ROLES/media.py

# rn_setup TRANSPORT [CSEQ [URI]]: a Movistar SETUP as a JSON string.
rn_setup() {
	printf '"SETUP %s RTSP/1.0\\r\\nCSeq: %s\\r\\nTransport: %s\\r\\nUser-Agent: MICA-IP-STB\\r\\nx-mayNotify:\\r\\n\\r\\n"' \
		"${3:-rtsp://$VOD4/vod}" "${2:-1}" "$1"
}

# rn_req METHOD CSEQ: a request without Session (the raw server does not
# care; the helper's TEARDOWN then ends all media of the connection).
rn_req() {
	printf '"%s rtsp://%s/vod RTSP/1.0\\r\\nCSeq: %s\\r\\nUser-Agent: MICA-IP-STB\\r\\n\\r\\n"' \
		"$1" "$VOD4" "$2"
}

# rn_log_mark: remember where the raw server's log ends; rn_log_new then
# prints the requests logged since.
rn_log_mark() {
	RN_LOG_AT=0
	[ -e "$E2E_WORK/raw.log" ] && RN_LOG_AT=$(wc -l <"$E2E_WORK/raw.log")
}
rn_log_new() {
	tail -n +"$((RN_LOG_AT + 1))" "$E2E_WORK/raw.log" 2>/dev/null
}

# rn_field FIELD: FIELD (conn, transport, method) of each raw.log line on
# stdin, one per line (string values without their quotes).
rn_field() {
	sed -n -e "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" -e t -e "s/.*\"$1\": \([^,}]*\).*/\1/p"
}

# rn_statuses OUT: the statuses of the replies a client got, in order
# (0: a "may_fail" recv that timed out).
rn_statuses() {
	grep -o '"status": [0-9]*' "$1" 2>/dev/null | cut -d' ' -f2 | xargs
}

# rn_reply_transports OUT: the Transport of each reply that had one.
rn_reply_transports() {
	grep -o '"transport": "[^"]*"' "$1" 2>/dev/null | cut -d'"' -f4
}

# rn_media NAME PORT COUNT INTERVAL [STOP_FILE]: the MPEG server sends
# COUNT datagrams (fewer if STOP_FILE appears) to
# ${RN_MEDIA_TO:-$RTR_WAN4}:PORT from its fixed source port 5000 (as one
# real MPEG server does for every stream), in the background; its summary
# in $E2E_WORK/NAME.media; sets RN_MEDIA_PID.
rn_media() {
	bg nse "$NS_MPEG" "$PY" "$MEDIA" --to "${RN_MEDIA_TO:-$RTR_WAN4}" --port "$2" \
		--count "$3" --interval "$4" --src-port 5000 ${5:+--stop-file "$5"} \
		>"$E2E_WORK/$1.media"
	RN_MEDIA_PID=$BG_PID
}

rn_media_done() {	# rn_media_done NAME PID: its summary is written or it died
	[ -s "$E2E_WORK/$1.media" ] || ! kill -0 "$2" 2>/dev/null
}

# rn_flows NS: the UDP flows from the MPEG server's port 5000 in NS's
# conntrack table.
rn_flows() {
	nse "$1" conntrack -L -p udp --orig-src "$MPEG4" --orig-port-src 5000 2>/dev/null
}

# rn_owner LABEL NS_A NS_B: the "port owned by a live flow" scenario.
# Decoder A (in NS_A) sets up client_port=27336 and plays; the MPEG server
# streams to the router port the VoD manager was given, from source port
# 5000, one datagram every 40 ms until B's stream is over (at most RN_NA,
# default 1500). Once A has received some,
# decoder B (in NS_B) sets up client_port=27336 too (its SETUP cut before
# each of the JSON list RN_B_CUTS, 0.2 s apart), plays, and the MPEG server
# streams RN_NB datagrams (default 40) from the same source port 5000 to
# B's router port, while A's stream still flows. Correct: B gets another
# router port, each decoder receives exactly its own stream.
# Settings: RN_B_ADDR (B's address, for the expectation's master; empty:
# do not check it), RN_FLOW_NS (routers whose conntrack must show one
# flow per stream; default $NS_RTR), RN_ARM (a function run once A's
# stream flows, before B starts), RN_ON_B_SETUP (a function run once B's
# SETUP is answered, or has timed out), RN_A_CLOSE (A's address: A ends
# its control connection once its stream flows, and the router's conntrack
# of it is deleted, before B starts: its flow keeps the router port all
# the same). Files in $E2E_WORK/LABEL/. B must
# have exactly one expectation (by master address; without RN_B_ADDR: one
# for its router port); whether A's stays is not checked.
rn_owner() {
	local L=$1 nsa=$2 nsb=$3 d=$E2E_WORK/$1
	local na nb=${RN_NB:-40} cuts=${RN_B_CUTS:-[]}
	local a_pid b_pid ma_pid mb_pid=0 conn_a pa pb got_a got_b ns n i ok=1
	local a_early=0 a_live=0 bsetups btrans exp_b
	local tr="MP2T/H2221/UDP;unicast;client_port=27336"

	mkdir -p "$d"
	rm -f "$d"/*
	rn_log_mark
	local a_wants="200 200 200"
	if [ -n "${RN_A_CLOSE:-}" ]; then
		# A ends its control connection after PLAY and keeps listening.
		a_wants="200 200"
		cat >"$d/A.json" <<-EOF
		[
		{"connect": "$VOD4"},
		{"send": [$(rn_setup "$tr")]}, {"recv": 1}, {"touch": "$d/A.setup"},
		{"send": [$(rn_req PLAY 2)]}, {"recv": 1}, {"touch": "$d/A.played"},
		{"wait": "$d/A.close", "timeout": 300},
		{"close": 1}, {"touch": "$d/A.closed"},
		{"wait": "$d/stop", "timeout": 300}
		]
		EOF
	else
		cat >"$d/A.json" <<-EOF
		[
		{"connect": "$VOD4"},
		{"send": [$(rn_setup "$tr")]}, {"recv": 1}, {"touch": "$d/A.setup"},
		{"send": [$(rn_req PLAY 2)]}, {"recv": 1}, {"touch": "$d/A.played"},
		{"wait": "$d/stop", "timeout": 300},
		{"send": [$(rn_req TEARDOWN 3)]}, {"recv": 1, "timeout": 5, "may_fail": true},
		{"close": 1}
		]
		EOF
	fi
	cat >"$d/B.json" <<-EOF
	[
	{"connect": "$VOD4"},
	{"send": [$(rn_setup "$tr")], "cuts": $cuts, "gap": 0.2},
	{"recv": 1, "timeout": 25, "may_fail": true}, {"touch": "$d/B.setup"},
	{"wait": "$d/B.play", "timeout": 300},
	{"send": [$(rn_req PLAY 2)]}, {"recv": 1, "timeout": 5, "may_fail": true},
	{"touch": "$d/B.played"},
	{"wait": "$d/stop", "timeout": 300},
	{"send": [$(rn_req TEARDOWN 3)]}, {"recv": 1, "timeout": 5, "may_fail": true},
	{"close": 1}
	]
	EOF

	rb_client "$L/A" "$nsa" 27336
	a_pid=$RB_CLI_PID
	if ! rb_gate "$d/A.played" "$a_pid" 60000; then
		fail "$L: decoder A's SETUP and PLAY answered" "$(cat "$d/A.out" "$d/A.err")"
		touch "$d/stop"
		return 1
	fi
	conn_a=$(rn_log_new | grep '"method": "SETUP"' | head -n1 | rn_field conn)
	pa=$(rn_log_new | grep '"method": "SETUP"' | head -n1 | rn_field transport |
		sed -n 's/.*client_port=\([0-9]*\).*/\1/p')
	info "$L: A's router port: ${pa:-?}"
	rn_media "$L/mA" "${pa:-27336}" "${RN_NA:-1500}" 0.04 "$d/mA.stop"
	ma_pid=$RN_MEDIA_PID
	busywait 60000 rb_udp_ge "$d/A.udp" 27336 10 >/dev/null && a_early=1
	if [ -n "${RN_A_CLOSE:-}" ]; then
		# The control connection ends for the router too (a FIN would
		# leave its conntrack for TIME_WAIT): its flow goes on.
		touch "$d/A.close"
		rb_gate "$d/A.closed" "$a_pid" 20000
		nse "$NS_RTR" conntrack -D -p tcp --orig-src "$RN_A_CLOSE" --dport 554 \
			>/dev/null 2>&1
		check_eq "$L: A's control connection is gone from the router" "" \
			"$(nse "$NS_RTR" conntrack -L -p tcp --orig-src "$RN_A_CLOSE" --dport 554 2>/dev/null)" || ok=0
	fi
	[ -n "${RN_ARM:-}" ] && "$RN_ARM"

	rb_client "$L/B" "$nsb" 27336
	b_pid=$RB_CLI_PID
	rb_gate "$d/B.setup" "$b_pid" 60000
	[ -n "${RN_ON_B_SETUP:-}" ] && "$RN_ON_B_SETUP"
	rb_snap
	printf '%s\n' "$RB_SNAP" >"$d/expect.txt"
	bsetups=$(rn_log_new | grep '"method": "SETUP"' | grep -v "\"conn\": $conn_a,")
	btrans=$(rn_field transport <<<"$bsetups")
	pb=$(head -n1 <<<"$btrans" | sed -n 's/.*client_port=\([0-9]*\).*/\1/p')
	info "$L: B's SETUP(s) as the VoD manager got them: ${btrans:-none}"
	touch "$d/B.play"
	rb_gate "$d/B.played" "$b_pid" 30000
	kill -0 "$ma_pid" 2>/dev/null && [ ! -s "$E2E_WORK/$L/mA.media" ] && a_live=1
	if [ -n "$pb" ]; then
		rn_media "$L/mB" "$pb" "$nb" 0.02
		mb_pid=$RN_MEDIA_PID
		busywait 30000 rn_media_done "$L/mB" "$mb_pid" >/dev/null
	fi
	busywait 2000 rb_udp_ge "$d/B.udp" 27336 "$nb" >/dev/null
	touch "$d/mA.stop"
	busywait 30000 rn_media_done "$L/mA" "$ma_pid" >/dev/null
	na=$(json_get "$d/mA.media" sent)
	busywait 5000 rb_udp_ge "$d/A.udp" 27336 "${na:-0}" >/dev/null
	nap 0.5
	i=0
	for ns in ${RN_FLOW_NS:-$NS_RTR}; do
		rn_flows "$ns" >"$d/flows.$i"
		i=$((i + 1))
	done
	got_a=$(rb_udp "$d/A.udp" 27336)
	got_b=$(rb_udp "$d/B.udp" 27336)
	touch "$d/stop"
	wait "$a_pid"
	wait "$b_pid"

	# preconditions: the scenario really happened
	check_eq "$L: A's stream flowed before B's SETUP (>= 10 datagrams at A)" 1 "$a_early" || ok=0
	check_eq "$L: A's stream still flowed when B's stream started" 1 "$a_live" || ok=0
	check_eq "$L: A's requests answered 200" "$a_wants" \
		"$(rn_statuses "$d/A.out")" || ok=0
	# the mapping
	n=$(grep -c . <<<"$btrans")
	check_eq "$L: the VoD manager got B's SETUP exactly once" 1 "$n" || ok=0
	check "$L: B's SETUP reached the VoD manager with a port other than A's ${pa:-?} (${pb:-none})" \
		_rn_b_other_port || ok=0
	if [ -n "${RN_B_ADDR:-}" ]; then
		exp_b=$(grep -c "master-src=$RN_B_ADDR " "$d/expect.txt")
	else
		exp_b=$(grep -cE "proto=17 .* dport=${pb:-none} mask" "$d/expect.txt")
	fi
	check "$L: one expectation for B ($exp_b), for router port ${pb:-none}" \
		_rn_b_expected || ok=0
	check "$L: B's SETUP reply restored client_port=27336" _rn_b_restored || ok=0
	check_eq "$L: B's SETUP/PLAY/TEARDOWN answered 200" "200 200 200" \
		"$(rn_statuses "$d/B.out")" || ok=0
	# the streams
	check_eq "$L: A received exactly its own stream, the $na datagrams sent to it" "$na" "$got_a" || ok=0
	check_eq "$L: B received its $nb datagrams" "$nb" "$got_b" || ok=0
	i=0
	for ns in ${RN_FLOW_NS:-$NS_RTR}; do
		check_eq "$L: ${ns%-*}: one media flow per stream from $MPEG4:5000" 2 \
			"$(grep -c '^udp' "$d/flows.$i")" || ok=0
		i=$((i + 1))
	done
	if [ $ok -eq 0 ]; then
		for f in A.out A.err B.out B.err mA.media mB.media expect.txt flows.0 flows.1; do
			[ -s "$d/$f" ] && { echo "--- $f"; cat "$d/$f"; }
		done | sed 's/^/    /'
		echo "    --- VoD manager log (this scenario)"
		rn_log_new | sed 's/^/    /'
	fi
	return 0
}

# rn_owner's checks (they see its locals)
_rn_b_other_port() {
	[ -n "$pb" ] && [ "$pb" != "$pa" ] &&
		! grep -Eq "client_port=$pa([^0-9]|\$)" <<<"$btrans"
}
_rn_b_expected() {
	[ "$exp_b" = 1 ] &&
		grep -Eq "proto=17 .* dport=${pb:-none} mask.*master-src=${RN_B_ADDR:-[^ ]*} " "$d/expect.txt"
}
_rn_b_restored() {
	rn_reply_transports "$d/B.out" | head -n1 | grep -Eq 'client_port=27336([^0-9]|$)'
}
