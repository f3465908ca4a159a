#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Take the helper away from TCP conntracks through raw ctnetlink (IPv4).

  ctnl_unhelp.py < TUPLES

Each line of stdin is the original tuple of an existing TCP conntrack,
"SRC SPORT DST DPORT". For each, IPCTNL_MSG_CT_NEW without NLM_F_CREATE
(an update) with CTA_TUPLE_ORIG and CTA_HELP { CTA_HELP_NAME "" }: what
"the helper goes" is in ctnetlink (the kernel removes its expectations
and clears the helper; ->destroy never runs for that conntrack).
conntrack(8) cannot do it. Prints "ok N failed M" and exits 0 when M is 0.
"""

import socket
import struct
import sys

# The attribute encoding of the expectation role, beside this one.
from ctnl_expect import NETLINK_NETFILTER, NLM_F_REQUEST, NLM_F_ACK, \
    NLMSG_ERROR, nla, tuple_attrs

NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_NEW = 0
CTA_TUPLE_ORIG, CTA_HELP = 1, 5
CTA_HELP_NAME = 1


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    ok = failed = 0
    for seq, line in enumerate(sys.stdin, 1):
        f = line.split()
        if len(f) != 4:
            continue
        body = nla(CTA_TUPLE_ORIG, tuple_attrs(f[0], f[2], 6, int(f[1]), int(f[3])), True)
        body += nla(CTA_HELP, nla(CTA_HELP_NAME, b"\0"), True)
        payload = struct.pack("=BBH", socket.AF_INET, 0, 0) + body
        mtype = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW
        msg = struct.pack("=IHHII", 16 + len(payload), mtype,
                          NLM_F_REQUEST | NLM_F_ACK, seq, 0) + payload
        s.send(msg)
        reply = s.recv(65536)
        _, rtype, _, _, _ = struct.unpack("=IHHII", reply[:16])
        err = struct.unpack("=i", reply[16:20])[0] if rtype == NLMSG_ERROR else 0
        if err:
            failed += 1
            print(f"{line.strip()}: error {-err}", file=sys.stderr)
        else:
            ok += 1
    print(f"ok {ok} failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
