#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the benchmarks and write bench/RESULTS.md (make bench). Figures, not
# pass/fail: nothing here fails because a number is low.
#
#   parse     parser cost in userspace: callgrind instructions and ns per
#             message (host)
#   media     media path: expected flow vs static DNAT port forward (VM)
#   control   control path: RTSP connections/s, helper vs no helper (VM)
#   scale     N decoders with a live session each: setup time, streams,
#             kernel memory per session (VM)
#   parallel  control path with several decoders at once, 1 vs 2 vCPUs (VMs)
#   profile   perf profile of the control path, helper vs none: where the
#             helper's cost goes (VM; skipped without linux-perf on the host)
#   cost      the helper pair's own instructions per connection on the
#             control path, counted by the function_graph tracer at the
#             kernel's calls into it, ours vs ours at BENCH_REF (VM; not in
#             the default parts: it needs BENCH_REF)
#
# media, control and scale also measure the "anchor", rtsp-linux (the helper
# pair routers ran before this one), in the same VM: bench/anchor.sh builds
# it from ../shared/anchors/rtsp-linux (outside this repository) into
# build/bench/anchor/VARIANT/, and the guest swaps its modules in for ours
# (same module and helper names: one pair at a time) between trials.
#
# Environment (defaults in brackets):
#   BENCH_PARTS [parse media control scale parallel profile]
#   BENCH_RESULTS [bench/RESULTS.md]   where the report goes
#   BENCH_ANCHORS [lin lin-any]  anchor variants (bench/anchor.sh) for media,
#                         control and scale; empty: no anchor (and no need
#                         for ../shared/anchors); "ref" adds our own modules
#                         as they were at git revision BENCH_REF, measured
#                         side by side with the tree's
#   BENCH_REF []          that revision (e.g. the commit before a change)
#   BENCH_KEEP_LOGS [0]   1: re-run only BENCH_PARTS into the logs of the
#                         last run (build/bench/logs) and report them all
#   BENCH_E2E_ARGS []     extra tests/e2e/run options, e.g. --modules-dir DIR
#   BENCH_TIMEOUT [1500]  seconds per VM
#   BENCH_ICOUNT [1]      single-vCPU VMs (media, control, scale) run QEMU
#                         with -icount shift=BENCH_ICOUNT_SHIFT [3],sleep=on:
#                         guest time counts instructions, so figures do not
#                         depend on the host's load; 0: plain TCG
#   BENCH_PARSE_RUNS [21] BENCH_PARSE_RUN_MS [20] BENCH_PARSE_CG_ITER [1000]
#   BENCH_MEDIA_ROUNDS [5] BENCH_MEDIA_PACKETS [5000] BENCH_MEDIA_SIZE [1316]
#   BENCH_CTRL_ROUNDS [5] BENCH_CTRL_CONNS [300] BENCH_CTRL_CONC [8]
#   BENCH_CTRL_SEQS [SETUP,TEARDOWN OPTIONS,SETUP,PLAY,TEARDOWN]
#   BENCH_SCALE_N [1000] BENCH_SCALE_K [10] BENCH_SCALE_PORTS [distinct|same]
#   BENCH_SCALE_SAMEPORT_N [150] BENCH_SCALE_CONC [32]
#   BENCH_PAR_THREADS [4] BENCH_PAR_ROUNDS [6] BENCH_PAR_CONNS [2000]
#   BENCH_PAR_CONC [4]
#   BENCH_PROF_CONNS [300] BENCH_PROF_SEQ [SETUP,TEARDOWN]
#   BENCH_COST_CONNS [300] BENCH_COST_ROUNDS [3] BENCH_COST_SEQS [as
#                         control] BENCH_COST_MODES [helper, and anchor-V
#                         for each V of BENCH_ANCHORS: its ratios need
#                         "ref" there, and BENCH_REF]

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
OUT=$REPO/build/bench
BIN=$OUT/bin
LOGS=$OUT/logs
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/RESULTS.md}
PARTS=${BENCH_PARTS:-parse media control scale parallel profile}
TIMEOUT=${BENCH_TIMEOUT:-1500}
ICOUNT=${BENCH_ICOUNT:-1}
export BENCH_ICOUNT_SHIFT=${BENCH_ICOUNT_SHIFT:-3}
read -r -a E2E_ARGS <<<"${BENCH_E2E_ARGS:-}"
export BENCH_ANCHORS=${BENCH_ANCHORS-lin lin-any}

log() { echo "bench: $*" >&2; }

# make rebuilds what is older than its sources (the parser, say).
make -s -f "$BENCH_DIR/bench.mk" bench-build
mkdir -p "$LOGS"
T_START=$(date +%s)
if [ "${BENCH_KEEP_LOGS:-0}" = 1 ] && [ -f "$LOGS/meta" ]; then
	# Re-run some parts into an earlier run's logs; the report covers all.
	for p in $PARTS; do
		rm -f "$LOGS/$p".*
	done
	echo "rerun=$(date -u '+%Y-%m-%d %H:%M:%S UTC'): $PARTS at git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none) (load $(cut -d' ' -f1-3 /proc/loadavg))" >>"$LOGS/meta"
	T_START=$(( T_START - $(sed -n 's/^total_secs=//p' "$LOGS/meta" | tail -n1) ))
	sed -i '/^total_secs=/d; /^load_end=/d' "$LOGS/meta"
else
rm -f "$LOGS"/*
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "nproc=$(nproc)"
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "host_kernel=$(uname -r)"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "git=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)"
	if git -C "$REPO" diff --quiet HEAD -- '*.c' '*.h' Kbuild 2>/dev/null; then
		echo "git_dirty=no"
	else
		echo "git_dirty=yes"
	fi
	echo "qemu=$(qemu-system-x86_64 --version 2>/dev/null | head -n1)"
	echo "icount=$ICOUNT shift=$BENCH_ICOUNT_SHIFT"
	echo "params=$(env | grep '^BENCH_' | sort | tr '\n' ' ')"
} >"$LOGS/meta"
fi

# The anchor's modules, before any VM needs them: no anchor figures without
# them, so a missing ../shared/anchors stops the run here (BENCH_ANCHORS=
# runs without the anchor).
if [ -n "$BENCH_ANCHORS" ] && [[ " $PARTS " =~ \ (media|control|scale|cost)\  ]]; then
	log "building the anchor (bench/anchor.sh $BENCH_ANCHORS)"
	# shellcheck disable=SC2086 # a list of variants
	if ! "$BENCH_DIR/anchor.sh" $BENCH_ANCHORS >"$LOGS/anchor"; then
		log "error: the anchor did not build (above); BENCH_ANCHORS= runs without it"
		exit 2
	fi
	for v in $BENCH_ANCHORS; do
		{ grep -h 'warning:' "$OUT/anchor/$v/build.log" || true; } |
			sed "s|^$OUT/anchor/$v/||; s/^/warning $v /"
	done >>"$LOGS/anchor"
fi

# timed PART CMD...: run CMD, note its wall time in PART.secs
timed() {
	local part=$1 t0 rc=0
	shift
	t0=$(date +%s)
	"$@" || rc=$?
	echo $(($(date +%s) - t0)) >"$LOGS/$part.secs"
	return $rc
}

# --- 1. parser, userspace ------------------------------------------------

part_parse() {
	local iter=${BENCH_PARSE_CG_ITER:-1000} m ir cmd
	{
		echo "$BIN/parse_bench list"
		"$BIN/parse_bench" list | sed 's/^/list /'
		cmd="$BIN/parse_bench time ${BENCH_PARSE_RUNS:-21} ${BENCH_PARSE_RUN_MS:-20}"
		echo "$cmd"
		$cmd | grep -v '^#' | sed 's/^/time /'
		for m in $("$BIN/parse_bench" list | cut -d' ' -f1); do
			cmd="valgrind --tool=callgrind --toggle-collect=bench_one --callgrind-out-file=$OUT/callgrind.$m.out $BIN/parse_bench count $m $iter"
			echo "$cmd"
			$cmd >/dev/null 2>&1
			ir=$(sed -n 's/^summary: *//p' "$OUT/callgrind.$m.out")
			echo "callgrind $m $iter ${ir:-0}"
		done
	} >"$LOGS/parse.log" 2>&1
	grep -E '^(list|time|callgrind) ' "$LOGS/parse.log" | sed 's/^/PARSE /' >"$LOGS/parse.bench"
	grep -vE '^(list|time|callgrind) ' "$LOGS/parse.log" >"$LOGS/parse.cmd"
}

# --- the guest parts ----------------------------------------------------------

# vm PART SCRIPT SMP [VAR=VALUE...]: run bench/guest/SCRIPT in a VM with
# the BENCH_* environment plus the given settings.
vm() {
	local part=$1 script=$2 smp=$3 wrapper=$OUT/exec-$1.sh kv v path=$PATH
	local -a env=(RTSP_E2E_LOGLEVEL=1)
	shift 3
	{
		echo '#!/bin/bash'
		while IFS= read -r v; do
			printf 'export %q\n' "$v"
		done < <(env | grep '^BENCH_' || true)
		for kv in "$@"; do
			printf 'export %q\n' "$kv"
		done
		echo "exec /bin/bash /src/bench/guest/$script"
	} >"$wrapper"
	chmod +x "$wrapper"
	if [ "$ICOUNT" = 1 ] && [ "$smp" = 1 ]; then
		mkdir -p "$OUT/qemu"
		cat >"$OUT/qemu/qemu-system-x86_64" <<-EOF
		#!/bin/sh
		exec $(command -v qemu-system-x86_64) "\$@" -icount shift=$BENCH_ICOUNT_SHIFT,sleep=on
		EOF
		chmod +x "$OUT/qemu/qemu-system-x86_64"
		path=$OUT/qemu:$PATH
	fi
	[ "$part" = scale ] && env+=("RTSP_E2E_APPEND=slab_nomerge")
	{
		echo "# $part: $(grep -c '^export' "$wrapper") settings"
		sed 's/^/#   /' "$wrapper"
		echo "${env[*]} tests/e2e/run ${E2E_ARGS[*]} --timeout $TIMEOUT --smp $smp --exec $wrapper"
		[ "$path" != "$PATH" ] && echo "#   (qemu-system-x86_64 wrapped: -icount shift=$BENCH_ICOUNT_SHIFT,sleep=on)"
	} >>"$LOGS/$part.cmd"
	log "$part: VM with $smp vCPU(s) running bench/guest/$script"
	env PATH="$path" "${env[@]}" "$REPO/tests/e2e/run" "${E2E_ARGS[@]}" \
		--timeout "$TIMEOUT" --smp "$smp" --exec "$wrapper" \
		>>"$LOGS/$part.log" 2>&1 || log "$part: VM exit status $?"
	grep -a -E '^(BENCH|PROFILE|COST) ' "$LOGS/$part.log" | sed "s/^BENCH /BENCH smp=$smp /" \
		>>"$LOGS/$part.bench" || log "$part: no figures (see $LOGS/$part.log)"
}

part_media() { vm media media.sh 1; }
part_control() { vm control control.sh 1 BENCH_CTRL_LABEL=control BENCH_CTRL_THREADS=1 BENCH_CTRL_FTP=1; }
part_scale() { vm scale scale.sh 1; }
part_profile() {
	if ! command -v perf >/dev/null; then
		log "profile: no perf (apt-get install linux-perf): skipped"
		return 0
	fi
	vm profile profile.sh 1
}
part_cost() { vm cost cost.sh 1; }
part_parallel() {
	local smp par=(BENCH_CTRL_LABEL=parallel BENCH_ANCHORS=
		"BENCH_CTRL_THREADS=${BENCH_PAR_THREADS:-4}"
		"BENCH_CTRL_ROUNDS=${BENCH_PAR_ROUNDS:-6}"
		"BENCH_CTRL_CONNS=${BENCH_PAR_CONNS:-2000}"
		"BENCH_CTRL_CONC=${BENCH_PAR_CONC:-4}"
		"BENCH_CTRL_SEQS=SETUP,TEARDOWN")
	# Real time (multi-threaded TCG with 2 vCPUs): no icount here.
	for smp in 1 2; do
		ICOUNT=0 vm parallel control.sh "$smp" "${par[@]}"
	done
}

for p in $PARTS; do
	log "=== $p"
	timed "$p" "part_$p" || log "$p failed"
done

echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$LOGS/meta"
echo "total_secs=$(($(date +%s) - T_START))" >>"$LOGS/meta"
/usr/bin/python3 "$BENCH_DIR/report.py" "$LOGS" >"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
log "wrote $RESULTS ($(($(date +%s) - T_START)) s)"
