#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the e2e guest after switch_root (see guest/init).
#
# Reads the job from /results/config (written by tests/e2e/run), runs each
# test script, checks the kernel log after each one and writes
# /results/<test>.rc only once the script has finished: a VM that panics,
# hangs or dies leaves no status, and the host counts that as a failure.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
export PYTHONDONTWRITEBYTECODE=1
umask 022

# shellcheck source=/dev/null
. /results/config

E2E_DIR=/src/tests/e2e
export E2E_DIR E2E_KVER E2E_OUR_MODULES E2E_STRESS_SECS

# Kernel log lines that fail a test whatever the script said.
KLOG_BAD='WARNING:|BUG:|Oops|KASAN|general protection|list_del corruption|refcount_t'

poweroff_now() {
	sync
	busybox poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

hostname e2e-guest
ip link set lo up

up=$(cut -d' ' -f1 /proc/uptime)
echo "e2e: guest ${E2E_KVER} up after ${up}s (smp $(nproc))"

# Keep the console for test output; the full log is read with dmesg.
dmesg -n "${E2E_CONSOLE_LOGLEVEL:-1}"

klog_check() {	# klog_check NAME: print offending kernel log lines as FAILs
	local name=$1 bad

	bad=$(dmesg | grep -E "$KLOG_BAD")
	[ -z "$bad" ] && return 0
	echo "FAIL: ${name}: kernel log shows a splat"
	dmesg | sed 's/^/    dmesg: /' | tail -n 120
	return 1
}

unload_ours() {	# remove our modules between tests sharing one VM
	local m

	ip -all netns delete 2>/dev/null
	for m in $E2E_OUR_MODULES; do
		modprobe -r "$m" 2>/dev/null
	done
}

write_status() {	# write_status FILE RC: atomically, only when done
	echo "$2" >"$1.tmp" && mv "$1.tmp" "$1"
	sync
}

if [ "${E2E_MODE:-tests}" = exec ]; then
	dmesg -C
	dmesg -n "${E2E_CONSOLE_LOGLEVEL:-4}"
	chmod +x /results/exec.sh
	(cd /src && /results/exec.sh)
	rc=$?
	if dmesg | grep -qE "$KLOG_BAD"; then
		echo "e2e: kernel log has splats:"
		dmesg | grep -E -A 40 "$KLOG_BAD" | head -n 200
	fi
	write_status /results/exec.rc "$rc"
	poweroff_now
fi

for t in $E2E_TESTS; do
	dmesg -C
	start=$(date +%s.%N)
	echo "e2e: === ${t}"
	(cd "$E2E_DIR" && exec /usr/bin/bash "./$t") </dev/null 2>&1 |
		tee "/results/$t.log"
	rc=${PIPESTATUS[0]}
	klog_check "$t" | tee -a "/results/$t.log"
	end=$(date +%s.%N)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	echo "e2e: === ${t} exit ${rc} after ${secs}s"
	echo "$secs" >"/results/$t.secs"
	write_status "/results/$t.rc" "$rc"
	unload_ours
done

poweroff_now
