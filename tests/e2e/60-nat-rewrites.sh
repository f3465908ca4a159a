#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Transport rewrites that change lengths, several in one segment, through
# the NAT router (issue 14, cases 6 and 7).
#
# Decoder 2 (192.168.1.201) holds router ports 9998-9999, 10000-10001 and
# 5002-5003 (three SETUPs, expectations pending). Then decoder 1
# (192.168.1.200), one control connection per case, sends:
#   control      destination=192.168.1.200;client_port=7000-7001 (ports
#                free: only destination= is rewritten, one length change)
#   dest-grow    destination=192.168.1.200;client_port=9998-9999: the
#                destination becomes 10.214.10.20 (1 byte shorter), the pair
#                a free one such as 10002-10003 (2 bytes longer)
#   dest-specs   two such specs in one Transport
#   pipelined    two SETUPs in one segment (9998-9999 and 10000-10001,
#                each with destination=)
#   reply-specs  client_port=9998-9999 twice in one Transport, no
#                destination=: the reply has two specs to restore
#   port-first   client_port=5002-5003;destination=192.168.1.200
#                (client_port before destination=)
# and, after the SETUP reply(ies), PLAY and TEARDOWN on the same
# connection. Correct: every Transport spec the VoD manager gets is
# well-formed (destination=10.214.10.20 where the decoder had one, in its
# place), names a router port pair P-(P+1) that is not decoder 2's and has
# decoder 1's expectations; the replies show the decoder's own ports
# again; 10 datagrams sent to each router port (before PLAY) reach the
# decoder's port of that spec; PLAY and TEARDOWN are answered 200 (the TCP sequence numbers
# are right after two or more length changes in one segment).
#
# Control: the "control" case (one length change) passes at c176a75; the
# others fail there (PLAY unanswered, or a mangled Transport).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

W=$E2E_WORK
AVP="RTP/AVP;unicast"
DST="destination=$DEC4"
WAN_DST="destination=$RTR_WAN4"

rb_setup_nat
check "raw RTSP server on the VoD manager" rb_server || e2e_exit

# --- decoder 2 holds 9998-9999, 10000-10001, 5002-5003 -------------------------
cat >"$W/holder.json" <<EOF
[
{"connect": "$VOD4"},
{"send": [$(rn_setup "$AVP;client_port=9998-9999" 1)]}, {"recv": 1},
{"send": [$(rn_setup "$AVP;client_port=10000-10001" 2)]}, {"recv": 1},
{"send": [$(rn_setup "$AVP;client_port=5002-5003" 3)]}, {"recv": 1},
{"touch": "$W/holder.ready"}, {"wait": "$W/holder.stop", "timeout": 300},
{"close": 1}
]
EOF
rb_client holder "$NS_DEC2" ""
HOLDER=$RB_CLI_PID
if ! rb_gate "$W/holder.ready" "$HOLDER" 60000; then
	fail "decoder 2's SETUPs answered" "$(cat "$W/holder.out" "$W/holder.err")"
	e2e_exit
fi
rb_snap
held=0
for p in 9998 9999 10000 10001 5002 5003; do
	rb_snap_has "dport=$p [^
]*master-src=$DEC2_4 " && held=$((held + 1))
done
check_eq "decoder 2 holds router ports 9998-10001 and 5002-5003 (expectations)" 6 "$held"

# spec_ok SHAPE SPEC: SPEC is SHAPE with %P a port pair P-(P+1); sets LO.
spec_ok() {
	local re=${1//./\\.}
	re=^${re//%P/([0-9]+)-([0-9]+)}\$
	[[ $2 =~ $re ]] || return 1
	LO=${BASH_REMATCH[1]}
	[ "${BASH_REMATCH[2]}" -eq $((LO + 1)) ]
}

# rewrite_case NAME SHAPE ASKED SETUP_TRANSPORT...: one control connection
# from decoder 1 with one SETUP per SETUP_TRANSPORT, all in one send();
# SHAPE is what each spec must look like at the VoD manager, ASKED the
# decoder's port pairs in reply order (what the replies must show).
rewrite_case() {
	local name=$1 shape=$2 asked=$3 n i t msgs='' specs spec bad='' ports='' want st
	local listen k lo a c0 got mbad='' ask
	local -A seen=()
	shift 3
	read -ra ask <<<"$asked"
	listen=$(for a in "${ask[@]}"; do echo "${a%%-*}"; done | sort -u | paste -sd,)
	n=$#
	i=1
	for t in "$@"; do
		msgs+=${msgs:+,}$(rn_setup "$t" "$i")
		i=$((i + 1))
	done
	cat >"$W/$name.json" <<-EOF
	[
	{"connect": "$VOD4"},
	{"send": [$msgs]}, {"recv": $n, "timeout": 8, "may_fail": true},
	{"touch": "$W/$name.gate"}, {"wait": "$W/$name.go", "timeout": 60},
	{"send": [$(rn_req PLAY "$i")]}, {"recv": 1, "timeout": 4, "may_fail": true},
	{"send": [$(rn_req TEARDOWN $((i + 1)))]}, {"recv": 1, "timeout": 4, "may_fail": true},
	{"close": 1}
	]
	EOF
	rn_log_mark
	rb_client "$name" "$NS_DEC" "$listen"
	rb_gate "$W/$name.gate" "$RB_CLI_PID" 60000
	rb_snap
	specs=$(rn_log_new | grep '"method": "SETUP"' | rn_field transport)
	mapfile -t SPECS < <(tr ',' '\n' <<<"$specs")
	# Media to each router port the VoD manager got (before PLAY: the
	# expectations wait for it) must reach the port the decoder asked in
	# that spec.
	for ((k = 0; k < ${#SPECS[@]}; k++)); do
		spec_ok "$shape" "${SPECS[k]}" || continue
		lo=$LO
		a=${ask[k]%%-*}
		if [ -z "$a" ] || [ -n "${seen[$lo:$a]:-}" ]; then
			continue
		fi
		seen[$lo:$a]=1
		c0=$(rb_udp "$W/$name.udp" "$a")
		rb_burst "$NS_MPEG" "$RTR_WAN4" "$lo" 10
		busywait 3000 rb_udp_ge "$W/$name.udp" "$a" $((c0 + 10)) >/dev/null
		got=$(($(rb_udp "$W/$name.udp" "$a") - c0))
		[ "$got" = 10 ] || mbad+=" router:$lo->decoder:$a got $got"
	done
	touch "$W/$name.go"
	wait "$RB_CLI_PID"

	info "$name: the VoD manager got: $(xargs <<<"$specs")"
	check_eq "$name: the VoD manager got $n SETUP(s)" "$n" "$(grep -c . <<<"$specs")"
	for spec in "${SPECS[@]}"; do
		if ! spec_ok "$shape" "$spec"; then
			bad+=" $spec"
			continue
		fi
		ports+=" $LO"
		case $LO in 9998 | 10000 | 5002) bad+=" $spec(decoder 2's)" ;; esac
		rb_snap_has "dport=$LO [^
]*master-src=$DEC4 " && rb_snap_has "dport=$((LO + 1)) [^
]*master-src=$DEC4 " || bad+=" $spec(not expected)"
	done
	check "$name: each spec is '$shape', a pair not decoder 2's, expected for $DEC4 (router ports:${ports:- none})" \
		test -z "$bad" -a -n "$specs" || { info "bad:$bad"; rb_expect | sed 's/^/    /'; }
	check "$name: 10 datagrams sent to each router port reached the decoder's port of that spec" \
		test -z "$mbad" -a -n "$ports" || info "wrong:${mbad:- no router port to send to}"
	check_eq "$name: the SETUP reply(ies) show the decoder's ports again" "$asked" \
		"$(rn_reply_transports "$W/$name.out" | tr ',' '\n' |
			sed -n 's/.*client_port=\([0-9-]*\).*/\1/p' | xargs)"
	want=$(for ((i = 0; i < n + 2; i++)); do echo 200; done | xargs)
	st=$(rn_statuses "$W/$name.out")
	check_eq "$name: SETUP(s), then PLAY and TEARDOWN on the same connection answered 200" \
		"$want" "$st" || cat "$W/$name.out" "$W/$name.err" | sed 's/^/    /'
	info "t=$(rb_elapsed "$T0") s: $name done"
}

rewrite_case control "$AVP;$WAN_DST;client_port=%P" "7000-7001" \
	"$AVP;$DST;client_port=7000-7001"
check "control: the free pair 7000-7001 was kept" \
	grep -q "client_port=7000-7001\"" "$W/raw.log"
rewrite_case dest-grow "$AVP;$WAN_DST;client_port=%P" "9998-9999" \
	"$AVP;$DST;client_port=9998-9999"
rewrite_case dest-specs "$AVP;$WAN_DST;client_port=%P" "9998-9999 9998-9999" \
	"$AVP;$DST;client_port=9998-9999,$AVP;$DST;client_port=9998-9999"
rewrite_case pipelined "$AVP;$WAN_DST;client_port=%P" "9998-9999 10000-10001" \
	"$AVP;$DST;client_port=9998-9999" "$AVP;$DST;client_port=10000-10001"
rewrite_case reply-specs "$AVP;client_port=%P" "9998-9999 9998-9999" \
	"$AVP;client_port=9998-9999,$AVP;client_port=9998-9999"
rewrite_case port-first "$AVP;client_port=%P;$WAN_DST" "5002-5003" \
	"$AVP;client_port=5002-5003;$DST"

touch "$W/holder.stop"
check "kernel log clean" rb_dmesg_clean
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
