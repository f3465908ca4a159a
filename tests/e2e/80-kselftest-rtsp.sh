#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kselftest of the patch series, tests/kselftest/conntrack_rtsp.sh
# (tools/testing/selftests/net/netfilter/conntrack_rtsp.sh in patches/),
# run as the kernel's kselftest runner would, from a copy of its directory
# with the selftest library of Linux 7.3 beside it, against our modules.
# Its own PASS/FAIL lines count as checks here; then it must exit 0.
# To show that its assertions bite, it runs once more with the helper rule
# left out: it must fail, on the stream and expectation checks.
# e2e: kselftest

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack socat ss awk sed timeout
load_rtsp_modules

KST_LIB=/results/kselftest-net
SELFTEST=$E2E_DIR/../kselftest/conntrack_rtsp.sh
if [ ! -f "$KST_LIB/lib.sh" ] || [ ! -f "$KST_LIB/netfilter/lib.sh" ]; then
	skip_all "no selftest library in $KST_LIB (tests/e2e/run puts it there)"
fi
[ -f "$SELFTEST" ] || skip_all "no $SELFTEST"

# The layout of tools/testing/selftests/net/ the test expects.
DIR=$E2E_WORK/net
mkdir -p "$DIR"
cp -r "$KST_LIB"/. "$DIR"/
cp "$SELFTEST" "$DIR/netfilter/conntrack_rtsp.sh"
sed '/ct helper set "rtsp"/d' "$SELFTEST" >"$DIR/netfilter/conntrack_rtsp_nohelper.sh"
chmod +x "$DIR"/netfilter/*.sh

# run SCRIPT OUT [VAR=VALUE...]: the kselftest runner's way (from its
# directory, with its timeout); the exit status into $rc.
run() {
	local script=$1 out=$2
	shift 2
	rc=0
	(cd "$DIR/netfilter" && env "$@" timeout 600 "./$script") >"$out" 2>&1 || rc=$?
}

info "kernel $(uname -r); selftest library of Linux 7.3"
t0=$(date +%s)
run conntrack_rtsp.sh "$E2E_WORK/out"
cat "$E2E_WORK/out"
info "conntrack_rtsp.sh: exit $rc after $(($(date +%s) - t0)) s"
check_eq "kselftest conntrack_rtsp.sh exits 0 (ksft pass)" 0 "$rc"
n=$(grep -c '^PASS: ' "$E2E_WORK/out")
check "kselftest made its 17 checks" test "$n" -eq 17

# The assertions bite: without the helper rule the same test fails.
# (lib.sh's waits for what does not come: 5 s, not 20)
run conntrack_rtsp_nohelper.sh "$E2E_WORK/out-nohelper" WAIT_TIMEOUT=5
sed 's/^/    nohelper: /' "$E2E_WORK/out-nohelper"
check_eq "without the helper rule it exits 1 (ksft fail)" 1 "$rc"
for what in "dec1 SETUP client_port=5000: expectation" \
	    "dec1 got the stream from the media server" \
	    "dec2 SETUP client_port=5000: router port" \
	    "dec2 got its own stream" \
	    "TEARDOWN removed the expectation"; do
	if grep -q "^FAIL: $what" "$E2E_WORK/out-nohelper"; then
		pass "without the helper rule: FAIL: $what..."
	elif [ "$what" = "TEARDOWN removed the expectation" ] &&
	     grep -q "^PASS: $what" "$E2E_WORK/out-nohelper"; then
		# Nothing to remove: this one holds either way.
		pass "without the helper rule: no expectation to remove"
	else
		fail "without the helper rule: FAIL: $what..." \
			"$(grep -F "$what" "$E2E_WORK/out-nohelper")"
	fi
done

e2e_exit
