#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /etc/conntrackd/primary-backup.sh: keepalived's notify script
# (keepalived-a.conf, keepalived-b.conf; docs/ha.md).  The steps are those
# of conntrackd's own example (/usr/share/doc/conntrackd/examples/sync/),
# for FTFW with the external cache.
#
#   primary-backup.sh primary|backup|fault
CONNTRACKD="/usr/sbin/conntrackd -C /etc/conntrackd/conntrackd.conf"

step() {
	$CONNTRACKD "$@" || logger -t conntrackd-ha "conntrackd $* failed"
}

case $1 in
primary)
	step -c		# the peer's connections and expectations into the kernel
	step -f		# flush the internal and external caches
	step -R		# the internal cache from the kernel table again
	step -B		# and a bulk update to the peer
	;;
backup)
	if ! $CONNTRACKD -s >/dev/null 2>&1; then
		rm -f /var/lock/conntrack.lock
		step -d
	fi
	step -t		# the kernel's entries expire soon (PurgeTimeout)
	step -n		# ask the primary for a full resync
	;;
fault)
	step -t
	;;
*)
	echo "usage: $0 primary|backup|fault" >&2
	exit 1
	;;
esac
exit 0
