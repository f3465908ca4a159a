#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite (make check): each part prints its own checks and a
# closing "N passed, N failed" line; this adds them up and ends with the
# total.  A part that dies without a closing line counts as one failure.
#
#   scripts/check.sh [PART...]
#
# Parts (all by default): build unit fuzz e2e demo package matrix ha cross
# be arm64.
# "matrix" builds for the other kernel series (5.10, 6.1-rt, 6.12,
# 6.12-bpo, 7.2, 7.3) and runs the smoke, Movistar, unload and seek (62) tests on each,
# and on 7.3 the kselftest of the patch series (80);
# the whole suite on every kernel is "make matrix".
# "ha": the router failover test (77-ha-failover, docs/ha.md) on HA_SERIES
# (7.3; "e2e" runs it on 6.1).
# "cross": W=1 builds against Debian's 6.1 arm64 and s390x headers
# (CROSS_SERIES) with Debian's cross compilers, 0 warnings.
# "be": the unit tests and both fuzz harnesses (BE_TIME s each, through
# tests/fuzz/driver.c) on big-endian s390x under qemu-s390x, and the
# parser's results there against the host's (tests/arch/be-test).
# "arm64": ARM64_TESTS on Debian's 6.1 arm64 kernel under
# qemu-system-aarch64, with an arm64 userspace.
# Not by default: "s390x", S390X_TESTS on Debian's big-endian 6.1 s390x
# kernel under qemu-system-s390x (apt-get install qemu-system-misc).
set -u
cd "$(dirname "$0")/.." || exit 2

KDIR=${KDIR:-$(ls -d /usr/src/linux-headers-6.1.0-*-amd64 2>/dev/null | sort -V | tail -n1)}
FUZZ_TIME=${FUZZ_TIME:-30}	# per fuzz harness
PARTS=${*:-build unit fuzz e2e demo package matrix ha cross be arm64}
MATRIX_SERIES=${MATRIX_SERIES:-5.10 6.1-rt 6.12 6.12-bpo 7.2 7.3}
CROSS_SERIES=${CROSS_SERIES:-6.1-arm64 6.1-s390x}
BE_TIME=${BE_TIME:-15}	# per fuzz harness, under qemu-s390x
S390X_TESTS=${S390X_TESTS:-00-smoke.sh 10-movistar-nft.sh 20-port-clash.sh}
ARM64_TESTS=${ARM64_TESTS:-00-smoke.sh 10-movistar-nft.sh 11-movistar-iptables.sh 20-port-clash.sh 62-seek-port.sh 25-unload-midsession.sh}
# E2E test VMs at once: one TCG vCPU per host core.
export E2E_JOBS=${E2E_JOBS:-$(nproc)}
# SERIES:TEST: on that series only (the kselftest of the 7.3 patch series).
MATRIX_TESTS=${MATRIX_TESTS:-00-smoke.sh 10-movistar-nft.sh 25-unload-midsession.sh 62-seek-port.sh 7.3:80-kselftest-rtsp.sh}
HA_SERIES=${HA_SERIES:-7.3}
total_pass=0
total_fail=0
summary=

# run_part NAME CMD...: run, echo its output, and add up its closing line.
run_part() {
	local name=$1 log rc line p f start
	shift
	log=$(mktemp)
	start=$(date +%s)
	echo "=== $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
	rm -f "$log"
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	else
		p=0
		f=0
	fi
	[ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	summary="$summary$(printf '%-8s %4d passed, %d failed (%ds)' "$name" "$p" "$f" $(($(date +%s) - start)))\n"
}

# Build checks: zero warnings with W=1, sparse clean, checkpatch clean.
build_checks() {
	local out n pass=0 fail=0 tmp

	tmp=$(mktemp -d)
	cp -a Kbuild Makefile dkms.conf ./*.c ./*.h "$tmp"/
	out=$(make -s -C "$tmp" KDIR="$KDIR" W=1 C=2 modules 2>&1)
	n=$(echo "$out" | grep -cE 'warning:|error:')
	if [ "$n" = 0 ] && [ -e "$tmp/nf_conntrack_rtsp.ko" ] &&
	   [ -e "$tmp/nf_nat_rtsp.ko" ]; then
		echo "PASS: W=1 + sparse build against $(basename "$KDIR"): 0 warnings"
		pass=$((pass + 1))
	else
		echo "$out"
		echo "FAIL: W=1 + sparse build against $(basename "$KDIR"): $n warnings/errors"
		fail=$((fail + 1))
	fi
	for p in nf_conntrack_rtsp:ports nf_conntrack_rtsp:max_outstanding \
		 nf_conntrack_rtsp:setup_timeout nf_conntrack_rtsp:media_source \
		 nf_nat_rtsp:destaction nf_nat_rtsp:stunaddr \
		 nf_nat_rtsp:media_ports; do
		if modinfo -p "$tmp/${p%%:*}.ko" 2>/dev/null |
		   grep -q "^${p#*:}:[A-Za-z]"; then
			echo "PASS: modinfo lists parameter $p"
			pass=$((pass + 1))
		else
			echo "FAIL: modinfo lists parameter $p"
			fail=$((fail + 1))
		fi
	done
	rm -rf "$tmp"
	out=$(make -s style 2>&1)
	if [ -z "$out" ]; then
		echo "PASS: checkpatch --strict clean"
		pass=$((pass + 1))
	else
		echo "$out"
		echo "FAIL: checkpatch --strict"
		fail=$((fail + 1))
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}

# The fuzz smoke runs, one check per harness: no crash in FUZZ_TIME
# seconds over the parser, nor over the NAT planner (30 s each by default,
# a minute in all).
fuzz_smoke() {
	local pass=0 fail=0

	if make -s fuzz-parse FUZZ_TIME="$FUZZ_TIME"; then
		echo "PASS: libFuzzer ${FUZZ_TIME}s over the parser, no crash"
		pass=$((pass + 1))
	else
		echo "FAIL: libFuzzer ${FUZZ_TIME}s over the parser (see build/fuzz/fuzz.log)"
		fail=$((fail + 1))
	fi
	if make -s fuzz-nat FUZZ_TIME="$FUZZ_TIME"; then
		echo "PASS: libFuzzer ${FUZZ_TIME}s over the NAT planner, no crash"
		pass=$((pass + 1))
	else
		echo "FAIL: libFuzzer ${FUZZ_TIME}s over the NAT planner (see build/fuzz/fuzz-nat.log)"
		fail=$((fail + 1))
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}

# shellcheck disable=SC2086 # MATRIX_SERIES is a list
for part in $PARTS; do
	case $part in
	build)	 run_part build build_checks ;;
	unit)	 run_part unit make -s test-unit ;;
	fuzz)	 run_part fuzz fuzz_smoke ;;
	e2e)	 run_part e2e tests/e2e/run --jobs "$E2E_JOBS" ;;
	demo)	 run_part demo tests/e2e/demo ;;
	package) run_part package scripts/ci-packaging.sh ;;
	matrix)	 run_part matrix tests/matrix/all --strict --tests "$MATRIX_TESTS" \
			 ${MATRIX_SERIES} ;;
	ha)	 run_part ha tests/e2e/run --kernel "$HA_SERIES" --timeout 900 \
			 77-ha-failover.sh ;;
	cross)	 run_part cross tests/matrix/all --strict --no-e2e ${CROSS_SERIES} ;;
	be)	 run_part be tests/arch/be-test --time "$BE_TIME" ;;
	arm64)	 run_part arm64 tests/e2e/run --jobs "$E2E_JOBS" --arch arm64 ${ARM64_TESTS} ;;
	s390x)	 run_part s390x tests/e2e/run --arch s390x ${S390X_TESTS} ;;
	*)	 echo "unknown part $part" >&2; exit 2 ;;
	esac
done

printf '\n=== summary\n%b' "$summary"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
