#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unloading the modules in the middle of a session. The decoder has done
# SETUP through the NAT router (expectation registered) and waits before
# PLAY. An nft "ct helper" object (like the iptables CT --helper target)
# holds a reference on nf_conntrack_rtsp, so:
#   - with the rule in place "rmmod nf_conntrack_rtsp" must be refused (in
#     use); "modprobe -r nf_nat_rtsp nf_conntrack_rtsp" would fail too, but
#     only after removing the unused nf_nat_rtsp;
#   - deleting the rule must drop the module's refcnt; the expectation is
#     still there;
#   - then "modprobe -r nf_nat_rtsp
#     nf_conntrack_rtsp" must succeed, both modules be gone and no
#     expectation remain;
#   - the session then goes on (PLAY/TEARDOWN answered) without the
#     helper: the stream is no longer let in (0 datagrams);
#   - deleting the session's conntracks afterwards calls nothing of ours
#     (7.2+ kernels keep a copy of the helper, ->destroy included).
# The harness fails the test on any oops/WARNING in the kernel log.
# The same is then done with the iptables raw CT --helper rule.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft iptables conntrack "$PY"
load_rtsp_modules

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit

W=$E2E_WORK

# unload_case TAG ATTACH DETACH...: session held after SETUP, unload, go on.
unload_case() {
	local tag=$1 attach=$2 d=$W/$1 srv dec out pt got
	shift 2
	mkdir -p "$d"
	modprobe -a nf_nat_rtsp nf_conntrack_rtsp
	check "$tag: helper attached" "$attach" || return 1
	bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$VOD4" --port 554 \
		--log "$d/server.log" --ready-file "$d/server.ready" \
		--media-done "$d/media.done" \
		--media-cmd "ip netns exec $NS_MPEG $PY $ROLES/media.py --to {addr} --port {port} --count 60"
	srv=$BG_PID
	busywait 60000 file_or_dead "$d/server.ready" "$srv" >/dev/null
	bg nsx "$NS_DEC" "$PY" "$ROLES/decoder.py" --server "$VOD4" \
		--listen 27336 --count 60 --timeout 5 --stop-file "$d/media.done" \
		--setup-done "$d/setup.done" --play-gate "$d/play.go" \
		>"$d/decoder.json" 2>"$d/decoder.err"
	dec=$BG_PID
	busywait 60000 file_or_dead "$d/setup.done" "$dec" >/dev/null

	check "$tag: expectation registered after SETUP" eval \
		"nsx $NS_RTR conntrack -L expect -f ipv4 2>/dev/null | grep -Eq 'proto=17 .*dport=27336( |\$)'"

	# With the rule still there nf_conntrack_rtsp is in use (rmmod, not
	# modprobe -r: the latter would first remove the unused nf_nat_rtsp).
	local ref_with ref_without
	ref_with=$(cat /sys/module/nf_conntrack_rtsp/refcnt)
	if out=$(rmmod nf_conntrack_rtsp 2>&1); then
		fail "$tag: rmmod nf_conntrack_rtsp refused while the rule is there" "it succeeded"
		modprobe -a nf_nat_rtsp nf_conntrack_rtsp
	else
		pass "$tag: rmmod nf_conntrack_rtsp refused while the rule is there"
		info "$out"
	fi

	# Remove the rule: the reference it held goes.
	check "$tag: helper rule removed" "$@"
	# (nf_tables frees a deleted object from a work queue: wait a little)
	busywait 5000 eval "[ \$(cat /sys/module/nf_conntrack_rtsp/refcnt) -lt $ref_with ]" >/dev/null
	ref_without=$(cat /sys/module/nf_conntrack_rtsp/refcnt)
	info "nf_conntrack_rtsp refcnt: $ref_with with the rule, $ref_without without"
	check "$tag: the rule held a reference on nf_conntrack_rtsp" \
		test "$ref_without" -lt "$ref_with"
	check "$tag: expectation still registered before the unload" eval \
		"nsx $NS_RTR conntrack -L expect -f ipv4 2>/dev/null | grep -Eq 'proto=17 .*dport=27336( |\$)'"
	check "$tag: modprobe -r nf_nat_rtsp nf_conntrack_rtsp succeeds" \
		modprobe -r nf_nat_rtsp nf_conntrack_rtsp
	check "$tag: both modules gone" eval \
		"[ ! -e /sys/module/nf_conntrack_rtsp ] && [ ! -e /sys/module/nf_nat_rtsp ]"
	nsx "$NS_RTR" conntrack -L expect >"$d/expect.after" 2>/dev/null
	check "$tag: conntrack -L expect empty after unload" \
		eval "! grep -q proto= '$d/expect.after'"
	nsx "$NS_RTR" conntrack -L -p tcp --dport 554 >"$d/ct.after" 2>/dev/null
	if [ "$HELPER_COPY" = 1 ]; then
		# 7.2+: the kernel's own copy of the helper stays with the
		# connection; what matters is that nothing of ours is called.
		info "$tag: after unload: $(grep -o 'helper=[a-z0-9-]*' "$d/ct.after" | head -n1)"
	else
		check "$tag: no conntrack still names helper=rtsp" \
			eval "! grep -q helper=rtsp '$d/ct.after'"
	fi

	# The session goes on without the helper.
	touch "$d/play.go"
	wait "$dec"
	busywait 30000 test -s "$d/media.done" >/dev/null
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	{ read -r pt; read -r got; } < <(json_get "$d/decoder.json" \
		play_status received.27336)
	check_eq "$tag: PLAY still answered after unload" 200 "$pt"
	check_eq "$tag: no stream without the helper" 0 "$got"
	check_eq "$tag: MPEG server sent its 60 datagrams all the same" 60 \
		"$(json_get "$d/media.done" sent)"
	# Destroying the connections the helper had runs the kernel's helper
	# destroy path after our module is gone.
	check "$tag: the session's conntracks deleted after the unload" \
		nsx "$NS_RTR" conntrack -D -p tcp --dport 554
}

# Kernels from 7.2 on keep their own copy of a registered helper.
HELPER_COPY=0
printf '%s\n' 7.2 "$(uname -r)" | sort -V -C && HELPER_COPY=1

unload_case nft attach_helper_nft nsx "$NS_RTR" nft delete table inet e2e_helper
nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
unload_case iptables attach_helper_iptables eval \
	"nsx $NS_RTR iptables -t raw -F PREROUTING && nsx $NS_RTR ip6tables -t raw -F PREROUTING"
check "dmesg: no oops/WARNING" eval "! dmesg | grep -Eq 'WARNING:|BUG:|Oops|refcount_t'"

e2e_exit
