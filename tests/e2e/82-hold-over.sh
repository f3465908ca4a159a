#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nothing more is expected on a router port whose hold is over (ce4963c):
# once a session's hold of its router port has ended, the port may be
# another session's, so neither a late SETUP reply nor a PLAY may expect
# media on it for the session any more. Through the NAT router (nft
# firewall + masquerade, nft helper rule, both modules):
#
# 1. nf_conntrack_rtsp media_source=server setup_timeout=10. The VoD
#    manager (raw server) holds each SETUP reply back until the test lets
#    it go: its --reply-append file is a FIFO, which the server opens for
#    each SETUP reply and reads to its end; the test writes
#    ";source=172.26.84.10" into it (the second MPEG server, topo_mpeg2).
#      intime  the reply is let go at once: the port is expected from the
#              server and from 172.26.84.10 (conntrack -L expect), whose
#              N datagrams reach the decoder (the control)
#      late    the reply (same CSeq, the same source=) is let go only once
#              the SETUP's hold is over (its expectation timed out after
#              setup_timeout): nothing is expected for the port, and
#              172.26.84.10's N datagrams to it reach nothing
#              (rtsp_reply_alts(): rtsp_media_held())
#      rtcp    decoder A sets up client_port=27440-27441; the server sends
#              only to 27440 (RTP), its RTCP port's hold ends with no
#              media; decoder B (192.168.1.201) sets up client_port=27441
#              and gets router port 27441; A's seek (PLAY) is answered and
#              expects 27440 again: a port the server never sent to does
#              not make a PLAY a stream into B's flow (rtsp_play_taken())
#      flowless  the brief's "flow-less" PLAY (reloaded with
#              setup_timeout=30: B's hold must outlast its SETUP, PLAY and
#              first datagrams, which took more than 10 s on the sanitized
#              kernel): decoder A sets up client_port=27430 and lets the
#              hold end with no media; decoder B (192.168.1.201) sets up
#              the same client_port and gets router port 27430 (what the
#              VoD manager received), and its stream starts (N). A's PLAY
#              would make the server stream A's session into B's flow: the
#              router drops it (rtsp_media_taken()), the VoD manager never
#              gets it, "its router port went to another session
#              meanwhile (PLAY dropped)"; the server's next N reach B,
#              none A.
# 2. Reloaded (media_source=any) with media_timeout=600 (the default),
#    then again with media_timeout=0: a PLAY of a session whose flow is
#    gone (PAUSE, then the flow ends: deleted on the router as a UDP
#    timeout would end it) and whose hold is over (it ended when the flow
#    started). With 600 the PLAY's own keep-alive (rtsp_keepalive(), run
#    before rtsp_rearm()) finds the flow gone: the media must stay for the
#    PLAY (before, it ended there: the ctl PLAY expected nothing, and the
#    taken PLAY went through to the VoD manager, whose stream would go
#    into B's flow).
#      ctl     the control: no other session meanwhile: the PLAY expects
#              the router port again for the decoder, and the MPEG server
#              from a new source port reaches it; no log line
#      taken   decoder A's flow on router port 27410 ends; decoder B sets
#              up client_port=27410 and gets router port 27410 (the VoD
#              manager received it), B's stream flows; then A's PLAY
#              (a resume) is dropped: the VoD manager never gets it,
#              nothing is expected for A's connection, the rate-limited
#              "its router port went to another session meanwhile (PLAY
#              dropped)" (rtsp_rearm_hold()); then B's PLAY (a seek)
#              expects the port again for B, and the MPEG server's N from
#              a new source port reach B, not A.
#              With media_timeout=0 A's resume also has a header line the
#              helper cannot read: A is no longer followed, and the
#              segment is dropped all the same ("a client not followed
#              whose router port went to another session").
#
# Reverting the checks of ce4963c in rtsp_reply_alts() makes "late" FAIL
# (the port expected from 172.26.84.10, its N reach the decoder);
# reverting rtsp_rearm_hold() makes "taken" FAIL (A's connection expects
# the port, B's seek cannot, the N reach A, no log line); letting the
# PLAY through when rtsp_rearm() says its port was taken makes "flowless"
# and "taken" FAIL (A's PLAY answered, the VoD manager got it). The
# controls pass either way.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
# shellcheck source=lib_seek.sh
. "$(dirname "$0")/lib_seek.sh"

require_cmd ip nft conntrack nsenter mkfifo timeout "$PY"
load_rtsp_modules
now_ms T0
N=30
ST=10
STF=30
P=/sys/module/nf_conntrack_rtsp/parameters
FIFO=$E2E_WORK/reply.extra
TAKEN_MSG="its router port went to another session meanwhile (PLAY dropped)"
LOST_MSG="a client not followed whose router port went to another session (dropped)"

rb_setup_nat
check "second MPEG server $MPEG2_4" topo_mpeg2 || e2e_exit
check "reload nf_conntrack_rtsp with media_source=server setup_timeout=$ST" \
	rb_reload_modules media_source=server setup_timeout=$ST || e2e_exit
check_eq "setup_timeout is $ST" "$ST" "$(cat $P/setup_timeout)"
check "raw RTSP server on the VoD manager, its SETUP replies held (FIFO)" \
	eval "mkfifo '$FIFO' && rb_server --reply-append '$FIFO'" || e2e_exit

expects() {	# expects PORT REGEX: expectations for udp dport PORT matching REGEX
	sk_expect_line "$1" | grep -cE -- "$2"
}

# srv_plays NAME: the PLAYs of decoder NAME's connection the VoD manager got
srv_plays() {
	grep -cF "\"conn\": ${SK_CONN[$1]}, \"method\": \"PLAY\"" "$E2E_WORK/raw.log"
}
taken_logged() {	# taken_logged: the lines of rtsp_rearm_hold()'s log message
	dmesg | grep -cF "nf_conntrack_rtsp: $TAKEN_MSG on a connection from"
}

# held_client NAME PORT: decoder NAME (192.168.1.200) sends SETUP with
# client_port=PORT and waits up to 120 s for the reply, then PLAY; sk_end
# ends it (TEARDOWN). Returns once the VoD manager has logged the SETUP
# (its reply is held in the FIFO); sets SK_DST, SK_PORT (as lib_seek.sh's
# sk_client) and HELD_AT (when the SETUP was logged, ms).
held_client() {
	local name=$1 port=$2 d=$E2E_WORK/$1 line
	cat >"$d.json" <<-EOF
	[
	{"connect": "$VOD4"},
	{"send": [$(sk_msg SETUP 2 "Transport: MP2T/H2221/UDP;unicast;client_port=$port")]},
	{"recv": 1, "timeout": 120}, {"touch": "$d.0"},
	{"send": [$(sk_msg PLAY 3 "Range: npt=0.000-end")]}, {"recv": 1}, {"touch": "$d.1"},
	{"wait": "$d.end", "timeout": 300},
	{"send": [$(sk_msg TEARDOWN 4)]}, {"recv": 1},
	{"close": 1}
	]
	EOF
	rm -f "$d".[0-9]* "$d.end" "$d.udp"
	rn_log_mark
	bg nse "$NS_DEC" "$PY" "$RAW" client --script "$d.json" --listen "$port" \
		--udp-status "$d.udp" >"$d.out" 2>"$d.err"
	SK_PID[$name]=$BG_PID
	SK_LPORT[$name]=$port
	busywait 60000 eval 'rn_log_new | grep -q "\"method\": \"SETUP\""' >/dev/null
	now_ms HELD_AT
	line=$(rn_log_new | grep '"method": "SETUP"' | tail -n1)
	SK_DST[$name]=$(rn_field peer <<<"$line")
	SK_PORT[$name]=$(rn_field transport <<<"$line" | sed -n 's/.*client_port=\([0-9]*\).*/\1/p')
	info "$name: the VoD manager got the SETUP; media to ${SK_DST[$name]} port ${SK_PORT[$name]}"
	if [ -z "${SK_DST[$name]}" ] || [ -z "${SK_PORT[$name]}" ]; then
		fail "$name: the VoD manager got the SETUP" "$(cat "$d.out" "$d.err" 2>/dev/null)"
		return 1
	fi
}

# release NAME: the VoD manager's held SETUP reply goes, with
# ";source=172.26.84.10" in its Transport; wait until the decoder has it
# and has played.
# shellcheck disable=SC2317 # called through check
release() {
	local d=$E2E_WORK/$1
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 30 bash -c 'printf "%s" "$1" >"$2"' release ";source=$MPEG2_4" "$FIFO" &&
		rb_gate "$d.1" "${SK_PID[$1]}" 30000
}

# reply_has_source NAME: the decoder got the SETUP reply (CSeq 2) with
# source=172.26.84.10 (once its script has ended).
# shellcheck disable=SC2317 # called through check
reply_has_source() {
	grep -q '"cseq": "2", "session": "[^"]*", "transport": "[^"]*;source='"$MPEG2_4"'"' \
		"$E2E_WORK/$1.out"
}

# --- 1. a SETUP reply's source= ------------------------------------------------------
echo "--- intime (control): the SETUP reply with source=$MPEG2_4 comes at once"
if held_client intime 27400; then
	p=${SK_PORT[intime]}
	check "intime: reply let go, answered, PLAY answered" release intime
	rb_snap
	printf '%s\n' "$RB_SNAP" >"$E2E_WORK/intime.expect"
	check_eq "intime: two expectations for udp dport $p (the server's, $MPEG2_4's)" 2 \
		"$(grep -cE "proto=17 .*dport=$p " "$E2E_WORK/intime.expect")"
	check_eq "intime: ... one of them from $MPEG2_4" 1 \
		"$(grep -cE "proto=17 src=$MPEG2_4 .*dport=$p " "$E2E_WORK/intime.expect")"
	sk_burst "intime" intime "$NS_MPEG2" "$MPEG2_4" 48500 $N $N
	sk_end intime
	check "intime: the reply carried source=$MPEG2_4" reply_has_source intime
fi

echo "--- late: the same reply comes once the SETUP's hold is over"
if held_client late 27402; then
	p=${SK_PORT[late]}
	check_eq "late: while the reply is held, $p is expected from the server" 1 \
		"$(expects "$p" "src=$VOD4 ")"
	busywait $(((ST + 20) * 1000)) eval "! sk_expect_line $p" >/dev/null
	check "late: the SETUP's expectation timed out (the hold is over), reply still held: $(rb_elapsed "$HELD_AT") s" \
		eval "! sk_expect_line $p"
	nap 1
	check "late: reply let go $(rb_elapsed "$HELD_AT") s after the SETUP, answered, PLAY answered" \
		release late
	rb_snap
	printf '%s\n' "$RB_SNAP" >"$E2E_WORK/late.expect"
	check_eq "late: no expectation for udp dport $p after the late reply" 0 \
		"$(grep -cE "proto=17 .*dport=$p " "$E2E_WORK/late.expect")"
	check_eq "late: ... none from $MPEG2_4 at all" 0 \
		"$(grep -cE "proto=17 src=$MPEG2_4 " "$E2E_WORK/late.expect")"
	sk_burst "late" late "$NS_MPEG2" "$MPEG2_4" 48510 $N 0
	sk_end late
	check "late: the reply carried source=$MPEG2_4" reply_has_source late
fi
rm -f "$FIFO"

echo "--- rtcp: A's RTCP port never gets a datagram, B takes it, A seeks"
if sk_client rA "$NS_DEC" 27440-27441 play:0.000 play:600.000 teardown; then
	check_eq "rtcp: A's router ports are its client ports" 27440 "${SK_PORT[rA]}"
	sk_act rA
	sk_burst "rtcp: A's RTP" rA "$NS_VOD" "$VOD4" 48530 $N $N
	busywait $(((ST + 20) * 1000)) eval "! sk_expect_line 27441" >/dev/null
	check "rtcp: A's RTCP port 27441 timed out with no media" eval "! sk_expect_line 27441"
	if sk_client rB "$NS_DEC2" 27441 teardown; then
		check_eq "rtcp: B's SETUP reached the VoD manager with router port 27441" \
			27441 "${SK_PORT[rB]}"
		# The server never sent to A's RTCP port: A's seek is no
		# PLAY into B's flow, it is not dropped.
		check "rtcp: A's seek is answered" sk_act rA
		check_eq "rtcp: ... and expects 27440 again for A" 1 \
			"$(sk_expect_line 27440 | grep -c "master-src=$DEC4 ")"
		sk_burst "rtcp: after A's seek, the server from a new source port" rA \
			"$NS_VOD" "$VOD4" 48532 $N $N
		sk_act rB
		sk_end rB
	fi
	sk_act rA
	sk_end rA
fi

echo "--- flowless: A's hold ends with no media, B takes the port, A's PLAY"
# B's hold must outlast its SETUP, its PLAY and the first datagrams: on the
# sanitized kernel that took more than 10 s, and B's expectation (10 s, not
# re-armed by a PLAY before any media) had timed out.
check "flowless: reload with setup_timeout=$STF" \
	eval "nse '$NS_RTR' conntrack -F >/dev/null 2>&1; rb_reload_modules media_source=server setup_timeout=$STF"
if sk_client fA "$NS_DEC" 27430 play:0.000 teardown; then
	p=${SK_PORT[fA]}
	check_eq "flowless: A's router port is its client port" 27430 "$p"
	busywait $(((STF + 20) * 1000)) eval "! sk_expect_line $p" >/dev/null
	check "flowless: A's expectation timed out with no media" eval "! sk_expect_line $p"
	nap 1
	if sk_client fB "$NS_DEC2" 27430 play:0.000 teardown; then
		check_eq "flowless: B's SETUP reached the VoD manager with router port $p (free again)" \
			"$p" "${SK_PORT[fB]}"
		# B's stream starts within its own hold, then A's PLAY.
		sk_act fB
		info "flowless: after B's PLAY (first column: seconds left): $(sk_expect_line "$p")"
		sk_burst "flowless: the server sends to $p" fB "$NS_VOD" "$VOD4" 48520 $N $N
		logged0=$(taken_logged)
		sk_dropped "flowless: A's PLAY, B's router port $p" fA \
			"dmesg | grep -qF '$TAKEN_MSG on a connection from $DEC4'"
		check_eq "flowless: ... and it never reached the VoD manager" 0 "$(srv_plays fA)"
		rb_snap
		printf '%s\n' "$RB_SNAP" >"$E2E_WORK/flowless.expect"
		check_eq "flowless: after A's PLAY, no expectation of A's connection for $p" 0 \
			"$(grep -cE "proto=17 .*dport=$p .*master-src=$DEC4 " "$E2E_WORK/flowless.expect")"
		sk_burst "flowless: after A's PLAY, the server goes on sending to $p" fB \
			"$NS_VOD" "$VOD4" 48520 $N $N
		nap 0.5
		check_eq "flowless: A received none of them" 0 "$(sk_got fA)"
		sk_act fB
		sk_end fB
		sk_abandon fA
	else
		sk_end fA
	fi
fi

# --- 2. a PLAY after the hold -----------------------------------------------------------

# flow_ends TAG SRC_PORT: the router's flow from the MPEG server's
# SRC_PORT ends (as it would after the UDP timeout, with no keep-alive).
flow_ends() {
	check "$1: the flow from $MPEG4:$2 was there" sk_flow_from "$MPEG4" "$2"
	nse "$NS_RTR" conntrack -D -p udp --orig-src "$MPEG4" --orig-port-src "$2" >/dev/null 2>&1
	check "$1: ... and is gone" eval "! sk_flow_from $MPEG4 $2"
}

# played LABEL CLIENT SRC_PORT BURST_LABEL: CLIENT's PLAY brings the MPEG
# server's N from SRC_PORT, then its PAUSE, then the flow ends.
played() {
	sk_act "$2"
	sk_burst "$4" "$2" "$NS_MPEG" "$MPEG4" "$3" $N $N
	sk_act "$2"
	flow_ends "$1" "$3"
}

# part2 MT: part 2 with media_timeout=MT: 600 (the default: each request
# refreshes the media flows, and once one is gone its media stays for
# the PLAY) and 0 (nothing refreshed).
part2() {
	local M=mt$1 p pa logged0 plays0 resume=play lmsg=$TAKEN_MSG

	# With 0, A's resume has a line the helper cannot read: the router
	# no longer follows A, and still drops it.
	if [ "$1" = 0 ]; then
		resume=badplay
		lmsg=$LOST_MSG
	fi

	echo "--- reload: media_timeout=$1"
	check "$M: reload nf_conntrack_rtsp with media_timeout=$1 (media_source=any)" \
		eval "nse '$NS_RTR' conntrack -F >/dev/null 2>&1; rb_reload_modules media_timeout=$1" ||
		return 1
	check_eq "$M: media_timeout is $1, media_source any" "$1 any" \
		"$(cat $P/media_timeout) $(cat $P/media_source)"

	echo "--- $M/ctl (control): PAUSE, the flow ends, PLAY: nobody took the port"
	logged0=$(taken_logged)
	if sk_client ctl "$NS_DEC" 27420 play:0.000 pause play:30.000 teardown; then
		p=${SK_PORT[ctl]}
		check_eq "$M/ctl: the router port is the client port" 27420 "$p"
		played "$M/ctl" ctl 5100 "$M/ctl: PLAY"
		sk_act ctl
		rb_snap
		printf '%s\n' "$RB_SNAP" >"$E2E_WORK/ctl.expect"
		check_eq "$M/ctl: after the PLAY, $p is expected again for the decoder's connection" 1 \
			"$(grep -cE "proto=17 .*dport=$p .*master-src=$DEC4 " "$E2E_WORK/ctl.expect")"
		sk_burst "$M/ctl: after the PLAY, $MPEG4 from a new source port" ctl "$NS_MPEG" "$MPEG4" 5102 $N $N
		check_eq "$M/ctl: no \"$TAKEN_MSG\" in the log" "$logged0" "$(taken_logged)"
		sk_act ctl
		sk_end ctl
	fi

	echo "--- $M/taken: A's flow ends, B takes the router port, A's PLAY"
	if sk_client A "$NS_DEC" 27410 play:0.000 pause $resume:30.000 teardown; then
		pa=${SK_PORT[A]}
		check_eq "$M/taken: A's router port is its client port" 27410 "$pa"
		played "$M/taken" A 5000 "$M/taken: A's PLAY"
		if sk_client B "$NS_DEC2" 27410 play:0.000 play:600.000 teardown; then
			check_eq "$M/taken: B's SETUP reached the VoD manager with A's router port $pa" \
				"$pa" "${SK_PORT[B]}"
			check_eq "$M/taken: ... expected for B" 1 "$(expects "$pa" "master-src=$DEC2_4 ")"
			sk_act B
			sk_burst "$M/taken: B's PLAY" B "$NS_MPEG" "$MPEG4" 5010 $N $N
			logged0=$(dmesg | grep -cF "$lmsg on a connection from $DEC4")
			plays0=$(srv_plays A)
			sk_dropped "$M/taken: A's PLAY ($resume), B's router port $pa" A \
				"test \$(dmesg | grep -cF '$lmsg on a connection from $DEC4') -gt $logged0"
			check_eq "$M/taken: ... and it never reached the VoD manager" "$plays0" "$(srv_plays A)"
			rb_snap
			printf '%s\n' "$RB_SNAP" >"$E2E_WORK/taken.expect"
			check_eq "$M/taken: after A's PLAY, no expectation of A's connection for $pa" 0 \
				"$(grep -cE "proto=17 .*dport=$pa .*master-src=$DEC4 " "$E2E_WORK/taken.expect")"
			check "$M/taken: the log says \"$lmsg\" for $DEC4" \
				eval "dmesg | grep -F '$lmsg on a connection from $DEC4'"
			sk_act B
			rb_snap
			printf '%s\n' "$RB_SNAP" >>"$E2E_WORK/taken.expect"
			check_eq "$M/taken: B's seek: $pa expected again, for B's connection" 1 \
				"$(expects "$pa" "master-src=$DEC2_4 ")"
			check_eq "$M/taken: ... and for no other connection" 0 \
				"$(sk_expect_line "$pa" | grep -vc "master-src=$DEC2_4 ")"
			sk_burst "$M/taken: after both PLAYs, $MPEG4 from a new source port" B \
				"$NS_MPEG" "$MPEG4" 5020 $N $N
			nap 0.5
			check_eq "$M/taken: A received only its own first $N" $N "$(sk_got A)"
			sk_act B
			sk_end B
			sk_abandon A
		else
			sk_end A
		fi
	fi
}

part2 600
part2 0

check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
