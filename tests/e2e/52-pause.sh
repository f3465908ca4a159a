#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A long PAUSE keeps its stream: client requests refresh the media flow.
#
# Timeouts are shortened to keep it quick: the router's UDP timeout
# (net.netfilter.nf_conntrack_udp_timeout) is 4 s and the helper's
# media_timeout 12 s (a slow, sanitized kernel needs the margin between
# the last keep-alive and the checks). Through the NAT router the decoder does SETUP and
# PLAY; the MPEG server streams (one flow, fixed 5-tuple, a datagram every
# 50 ms) and the stream arrives. Then PAUSE (the server stops streaming
# once it has answered), and GET_PARAMETER keep-alives every 2 s for
# 14.5 s: longer than the UDP timeout and than media_timeout itself, so
# only the keep-alives can keep the flow. At the end of the pause the flow
# must exist with a timeout above the UDP timeout, and after PLAY the same
# flow must still reach the decoder.
#
# Control, same test: media_timeout=0 (feature off) and the same PAUSE
# with keep-alives: the flow times out.  The PLAY after it expects the
# media again (the stream follows the session), so the stream comes back
# through a new flow.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter awk "$PY"
load_rtsp_modules
now_ms T0

UDP_TIMEOUT=4
MEDIA_TIMEOUT=12
N=10
MT=/sys/module/nf_conntrack_rtsp/parameters/media_timeout

rb_setup_nat
check "router: UDP conntrack timeout ${UDP_TIMEOUT}s" \
	nse "$NS_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=$UDP_TIMEOUT
check "media_timeout=$MEDIA_TIMEOUT (writable parameter)" \
	eval "echo $MEDIA_TIMEOUT >$MT && [ \"\$(cat $MT)\" = $MEDIA_TIMEOUT ]"
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

W=$E2E_WORK
U=rtsp://$VOD4/vod

req() {		# req METHOD CSEQ [SESSION [EXTRA]]
	printf '"%s %s RTSP/1.0\\r\\nCSeq: %s\\r\\n%s%sUser-Agent: MICA-IP-STB\\r\\n\\r\\n"' \
		"$1" "$U" "$2" "${3:+Session: $3\\r\\n}" "${4:+$4\\r\\n}"
}

session() {	# session TAG PORT SESSION_INDEX KEEPALIVES: JSON steps
	cat <<-EOF
	{"connect": "$VOD4"},
	{"send": [$(req OPTIONS 1)]}, {"recv": 1},
	{"send": [$(req SETUP 2 "" "Transport: MP2T/H2221/UDP;unicast;client_port=$2")]}, {"recv": 1},
	{"send": [$(req PLAY 3 "{S$3}" "Range: npt=0.000-end")]}, {"recv": 1},
	{"touch": "$W/$1.play1"}, {"wait": "$W/$1.go.pause"},
	{"send": [$(req PAUSE 4 "{S$3}")]}, {"recv": 1}, {"touch": "$W/$1.paused"},
	{"repeat": $4, "every": 2, "steps": [{"send": [$(req GET_PARAMETER 5 "{S$3}")]}, {"recv": 1}]},
	{"sleep": 0.5},
	{"touch": "$W/$1.pause.end"}, {"wait": "$W/$1.go.resume"},
	{"send": [$(req PLAY 6 "{S$3}" "Range: npt=10.000-end")]}, {"recv": 1},
	{"touch": "$W/$1.play2"}, {"wait": "$W/$1.go.end"},
	{"send": [$(req TEARDOWN 7 "{S$3}")]}, {"recv": 1}, {"close": 1}
	EOF
}

{
	echo '['
	session ka 27336 0 8
	echo ','
	echo "{\"wait\": \"$W/ctl.go\"},"
	session ctl 27338 1 4
	echo ']'
} >"$W/dec.json"

rb_client dec "$NS_DEC" 27336,27338
DEC=$RB_CLI_PID
UDP=$W/dec.udp

# flow_timeout PORT: seconds left of the media flow to PORT; nothing when
# there is none, "error" when the table could not be read (so that "no
# flow" is never a broken tool)
flow_timeout() {
	local out

	out=$(nse "$NS_RTR" conntrack -L -p udp --orig-port-dst "$1" 2>/dev/null) ||
		{ echo error; return; }
	echo "$out" | awk '{ print $3; exit }'
}
# streamer PORT: the MPEG server's stream to the router's PORT, one flow
# (one socket) for the whole test, a datagram every 50 ms while
# $W/on.PORT exists, as a server streams between PLAY and PAUSE.
streamer() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	bg nse "$NS_MPEG" bash -c '
		exec 3>"/dev/udp/$2/$3" 5<> <(:) || exit 1
		while [ ! -e "$1/stop" ]; do
			[ -e "$1/on.$3" ] && printf "media" >&3 2>/dev/null
			read -rt 0.05 -u 5 _
		done' streamer "$W" "$RTR_WAN4" "$1"
}
# play PORT WANT: stream until the decoder has WANT datagrams on PORT in
# all (at most 10 s); prints its count
play() {
	touch "$W/on.$1"
	busywait 10000 rb_udp_ge "$UDP" "$1" "$2" >/dev/null
	rb_udp "$UDP" "$1"
}
gate() {	# gate FILE: wait for the decoder (up to 40 s), else FAIL and exit
	rb_gate "$W/$1" "$DEC" 40000 && return 0
	fail "decoder reached $1" "$(cat "$W/dec.out" "$W/dec.err")"
	e2e_exit
}
streamer 27336
streamer 27338
on_exit touch "$W/stop"

# --- keep-alives during the pause ---------------------------------------------------
gate ka.play1
check "PLAY: the stream reaches the decoder" \
	test "$(play 27336 "$N")" -ge "$N"
t=$(flow_timeout 27336)
check "media flow in conntrack, timeout <= UDP timeout while streaming (${t:-none}s)" \
	test "${t:-99}" -le "$UDP_TIMEOUT"
touch "$W/ka.go.pause"
now_ms P0
gate ka.paused
# The server stops streaming once it has answered the PAUSE.
rm -f "$W/on.27336"
gate ka.pause.end
paused=$(rb_elapsed "$P0")
t=$(flow_timeout 27336)
check "after a ${paused}s pause with keep-alives the flow is there" test -n "$t"
check "its timeout was pushed beyond the UDP timeout (${t:-none}s > ${UDP_TIMEOUT}s)" \
	test "${t:-0}" -gt "$UDP_TIMEOUT"
touch "$W/ka.go.resume"
gate ka.play2
got=$(rb_udp "$UDP" 27336)
check "after PLAY the same flow still reaches the decoder" \
	test "$(play 27336 $((got + N)))" -ge $((got + N))
rm -f "$W/on.27336"
touch "$W/ka.go.end"

# --- control: media_timeout=0 ---------------------------------------------------------
check "media_timeout=0 (control)" eval "echo 0 >$MT"
touch "$W/ctl.go"
gate ctl.play1
check "control: PLAY: the stream reaches the decoder" \
	test "$(play 27338 "$N")" -ge "$N"
touch "$W/ctl.go.pause"
now_ms P0
gate ctl.paused
rm -f "$W/on.27338"
gate ctl.pause.end
busywait 6000 eval "[ -z \"\$(flow_timeout 27338)\" ]" >/dev/null
paused=$(rb_elapsed "$P0")
check "control: after a ${paused}s pause the flow has timed out" \
	eval "[ -z \"\$(flow_timeout 27338)\" ]"
touch "$W/ctl.go.resume"
gate ctl.play2
got=$(rb_udp "$UDP" 27338)
# The old flow is gone, but the PLAY expected the media again: the
# stream comes back, through a new flow.
check "control: after PLAY the stream comes back through a new flow (PLAY expects it again)" \
	test "$(play 27338 $((got + N)))" -ge $((got + N))
rm -f "$W/on.27338"
touch "$W/ctl.go.end"
echo 600 >"$MT"

wait "$DEC"
check "decoder script completed, every request answered" \
	eval "grep -q '\"ok\": true' '$W/dec.out' && ! grep -q '\"status\": [^2]' '$W/dec.out'"
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
