#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""List the expectations of this namespace with what conntrack(8) omits.

  ctnl_exp_list.py

An IPCTNL_MSG_EXP_GET dump (IPv4); one line per expectation:
  dport=P fn=NAME|- nat=ADDR:PORT|- dir=D|- helper=NAME|- timeout=S
(the expectation's destination port, CTA_EXPECT_FN, CTA_EXPECT_NAT's tuple
and direction, CTA_EXPECT_HELP_NAME, CTA_EXPECT_TIMEOUT). The failover
test (77) checks with it that an expectation conntrackd committed on the
backup kept its expectfn and its NAT target.
"""

import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK_EXP = 2
IPCTNL_MSG_EXP_GET = 1
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
CTA_EXPECT_TUPLE, CTA_EXPECT_TIMEOUT = 2, 4
CTA_EXPECT_HELP_NAME, CTA_EXPECT_NAT, CTA_EXPECT_FN = 6, 10, 11
CTA_EXPECT_NAT_DIR, CTA_EXPECT_NAT_TUPLE = 1, 2
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 2, 3


def attrs(data):
    out = {}
    while len(data) >= 4:
        ln, kind = struct.unpack("=HH", data[:4])
        if ln < 4:
            break
        out[kind & 0x3fff] = data[4:ln]
        data = data[(ln + 3) & ~3:]
    return out


def tuple_end(data, a_kind, p_kind):
    """The address and port of one end of a CTA_TUPLE_* nest."""
    t = attrs(data)
    ip = attrs(t.get(CTA_TUPLE_IP, b""))
    pr = attrs(t.get(CTA_TUPLE_PROTO, b""))
    addr = socket.inet_ntoa(ip[a_kind]) if a_kind in ip else "?"
    port = struct.unpack("!H", pr[p_kind])[0] if p_kind in pr else 0
    return addr, port


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    payload = struct.pack("=BBH", socket.AF_INET, 0, 0)
    mtype = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET
    s.send(struct.pack("=IHHII", 16 + len(payload), mtype,
                       NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + payload)
    while True:
        buf = s.recv(65536)
        while len(buf) >= 16:
            ln, rtype, _, _, _ = struct.unpack("=IHHII", buf[:16])
            if rtype in (NLMSG_DONE, NLMSG_ERROR):
                return 0
            a = attrs(buf[20:ln])
            _, dport = tuple_end(a.get(CTA_EXPECT_TUPLE, b""), CTA_IP_V4_DST,
                                 CTA_PROTO_DST_PORT)
            fn = a.get(CTA_EXPECT_FN, b"-").rstrip(b"\0").decode()
            helper = a.get(CTA_EXPECT_HELP_NAME, b"-").rstrip(b"\0").decode()
            nat = ndir = "-"
            if CTA_EXPECT_NAT in a:
                n = attrs(a[CTA_EXPECT_NAT])
                if CTA_EXPECT_NAT_TUPLE in n:
                    # The kernel puts the saved address in the source.
                    addr, port = tuple_end(n[CTA_EXPECT_NAT_TUPLE], CTA_IP_V4_SRC,
                                           CTA_PROTO_SRC_PORT)
                    nat = f"{addr}:{port}"
                if CTA_EXPECT_NAT_DIR in n:
                    ndir = str(struct.unpack("!I", n[CTA_EXPECT_NAT_DIR])[0])
            tmo = struct.unpack("!I", a[CTA_EXPECT_TIMEOUT])[0] if CTA_EXPECT_TIMEOUT in a else -1
            print(f"dport={dport} fn={fn} nat={nat} dir={ndir} helper={helper} timeout={tmo}")
            buf = buf[(ln + 3) & ~3:]


if __name__ == "__main__":
    sys.exit(main())
