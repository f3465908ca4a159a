#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Malformed-input storm through the NAT router with the helper attached.
#
# roles/storm.py (fixed seed, so a failure can be replayed) sends at least
# 100,000 RTSP messages from the decoder to a sink on the VoD manager, over
# many TCP connections (8 open at a time, each closed by FIN or RST after
# ~800 messages): valid requests of every method and Transport shape, and
# random bytes, truncated messages, oversized header lines and heads,
# huge and bogus Content-Length, NUL bytes, absurd ports, thousands of
# transport specs, bare CR / LF, folded headers, interleaved frames,
# responses sent as requests, byte flips; several per send() or one cut
# over several. The sink answers now and then with valid and broken SETUP
# replies, so the reply direction (NAT's reply rewrite) is stormed too.
#
# nf_conntrack_rtsp is loaded with setup_timeout=3, so that whatever the
# storm left expected is gone within seconds. Afterwards:
#   - the kernel log has no WARNING/BUG/Oops (the harness checks it too),
#   - the expectation count is back to 0 (setup_timeout),
#   - the modules unload, and then the nf_conntrack_expect slab is back to
#     its baseline (needs a kernel booted with slab_nomerge: otherwise the
#     cache is merged with others and the check is SKIPped),
#   - the modules load again and a normal Movistar session works.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_robust.sh
. "$(dirname "$0")/lib_robust.sh"

require_cmd ip nft conntrack nsenter "$PY"
load_rtsp_modules
now_ms T0

MESSAGES=${STORM_MESSAGES:-100000}
SEED=${STORM_SEED:-20240611}
MAX_TIME=${STORM_MAX_TIME:-110}
W=$E2E_WORK

rb_setup_nat
check "nf_conntrack_rtsp reloaded with setup_timeout=3" \
	rb_reload_modules setup_timeout=3 || e2e_exit
router_count_udp 27336

slab0=$(rb_slab nf_conntrack_expect) || slab0=
rb_kmemleak_start
info "expect_max $(sysctl -n net.netfilter.nf_conntrack_expect_max), nf_conntrack_expect slab baseline: ${slab0:-merged (no slab_nomerge)}"

bg nse "$NS_VOD" "$PY" "$STORM" server --bind "$VOD4" --seed "$SEED" \
	--ready "$W/sink.ready" --stats "$W/sink.json"
busywait 60000 test -s "$W/sink.ready" >/dev/null
check "storm sink listening on $VOD4:554" test -s "$W/sink.ready" || e2e_exit

dmesg_before=$(dmesg | grep -c 'nf_conntrack_rtsp:')
now_ms S0
# A segment the helper drops (a NATed SETUP it cannot rewrite whole; once
# random bytes made the client one it no longer follows, any segment with
# client_port=) stalls its connection for good: the storm, one thread,
# gives it up at once (a few hundred such connections).
nse "$NS_DEC" "$PY" "$STORM" client --server "$VOD4" --messages "$MESSAGES" \
	--seed "$SEED" --max-time "$MAX_TIME" --send-timeout 0.05 \
	>"$W/storm.json" 2>"$W/storm.err"
secs=$(rb_elapsed "$S0")
peak=$(rb_expect_total)
kill "$(cat "$W/sink.ready")" 2>/dev/null
busywait 5000 test -s "$W/sink.json" >/dev/null

sent=$(json_get "$W/storm.json" messages)
info "storm: $(cat "$W/storm.json")"
info "sink: $(cat "$W/sink.json" 2>/dev/null)"
info "storm: ${sent:-0} messages in ${secs}s; expectations right after: $peak"
check "storm sent at least $MESSAGES messages (seed $SEED)" \
	test "${sent:-0}" -ge "$MESSAGES" || cat "$W/storm.err"
check "storm sink received bytes over many connections" \
	eval "grep -Eq '\"accepted\": ([2-9][0-9]|[0-9]{3,})' '$W/sink.json'"
check "kernel log clean after the storm" rb_dmesg_clean
info "helper log lines during the storm (rate-limited): $(($(dmesg | grep -c 'nf_conntrack_rtsp:') - dmesg_before))"

check "expectation count back to 0 (setup_timeout=3)" \
	busywait 15000 rb_expect_zero
# Debian's 6.1.0-56 frees expired expectations lazily (a garbage collector,
# ~20 s later); unloading removes all of the helper's at once. An object
# still allocated after that is a leak.
check "modules unload after the storm" \
	eval "nse '$NS_RTR' nft delete table inet e2e_helper && modprobe -r nf_nat_rtsp nf_conntrack_rtsp"
if [ -n "$slab0" ]; then
	got=$(busywait 10000 rb_slab_le nf_conntrack_expect "$slab0" | tail -n1)
	check_eq "nf_conntrack_expect slab back to its baseline (active objects)" \
		"$slab0" "$got"
else
	skip "nf_conntrack_expect slab back to its baseline" \
		"cache merged with others: boot with slab_nomerge (RTSP_E2E_APPEND=slab_nomerge)"
fi
check "modules load again, helper rule back" \
	eval "modprobe nf_nat_rtsp && attach_helper_nft rtsp 554"
vod_session
vod_checks stream
check "kernel log clean" rb_dmesg_clean
rb_check_kmemleak "kmemleak: no leak in netfilter code"
info "wall time in the VM: $(rb_elapsed "$T0") s"
e2e_exit
