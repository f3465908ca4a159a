#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Create a conntrack expectation through raw ctnetlink (IPv4, UDP).

  ctnl_expect.py --master SRC:SPORT-DST:DPORT --expect SRC-DST:DPORT
                 --fn NAME [--nat ADDR:PORT] [--timeout SECS]
                 [--op create|update|delete]

IPCTNL_MSG_EXP_NEW (NFNL_SUBSYS_CTNETLINK_EXP) with CTA_EXPECT_MASTER the
original tuple of an existing TCP conntrack, CTA_EXPECT_TUPLE/MASK a UDP
flow from SRC (exact) from any port to DST:DPORT, CTA_EXPECT_FN NAME (an
expectfn some module registered, e.g. "rtsp" of nf_nat_rtsp) and, with
--nat, CTA_EXPECT_NAT mapping the flow to ADDR:PORT. conntrack(8) cannot
set an expectfn. --op update: the same message without NLM_F_CREATE and
NLM_F_EXCL (ctnetlink changes the existing one's timeout); --op delete:
IPCTNL_MSG_EXP_DELETE of the expectation with that tuple (--master and
--fn are then not sent). Prints "ok" or "error ERRNO" and exits 0 / 1.
"""

import argparse
import os
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK_EXP = 2
IPCTNL_MSG_EXP_NEW, IPCTNL_MSG_EXP_DELETE = 0, 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
NLMSG_ERROR = 2
NLA_F_NESTED = 0x8000
CTA_EXPECT_MASTER, CTA_EXPECT_TUPLE, CTA_EXPECT_MASK = 1, 2, 3
CTA_EXPECT_TIMEOUT, CTA_EXPECT_NAT, CTA_EXPECT_FN = 4, 10, 11
CTA_EXPECT_NAT_DIR, CTA_EXPECT_NAT_TUPLE = 1, 2
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3


def nla(kind, data, nested=False):
    hdr = struct.pack("=HH", 4 + len(data), kind | (NLA_F_NESTED if nested else 0))
    return hdr + data + b"\0" * (-len(data) % 4)


def tuple_attrs(src, dst, proto, sport, dport):
    ip = nla(CTA_IP_V4_SRC, socket.inet_aton(src)) + nla(CTA_IP_V4_DST, socket.inet_aton(dst))
    pr = (nla(CTA_PROTO_NUM, struct.pack("B", proto)) +
          nla(CTA_PROTO_SRC_PORT, struct.pack("!H", sport)) +
          nla(CTA_PROTO_DST_PORT, struct.pack("!H", dport)))
    return nla(CTA_TUPLE_IP, ip, True) + nla(CTA_TUPLE_PROTO, pr, True)


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--master", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--fn", required=True)
    ap.add_argument("--nat")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--op", choices=("create", "update", "delete"), default="create")
    a = ap.parse_args()

    msrc, mdst = a.master.split("-")
    (ms, msp), (md, mdp) = hostport(msrc), hostport(mdst)
    esrc, edst = a.expect.split("-")
    ed, edp = hostport(edst)

    tup = nla(CTA_EXPECT_TUPLE, tuple_attrs(esrc, ed, 17, 0, edp), True)
    body = nla(CTA_EXPECT_MASTER, tuple_attrs(ms, md, 6, msp, mdp), True)
    body += tup
    body += nla(CTA_EXPECT_MASK,
                tuple_attrs("255.255.255.255", "255.255.255.255", 17, 0, 0xffff), True)
    body += nla(CTA_EXPECT_TIMEOUT, struct.pack("!I", a.timeout))
    body += nla(CTA_EXPECT_FN, a.fn.encode() + b"\0")
    if a.nat:
        na, npt = hostport(a.nat)
        body += nla(CTA_EXPECT_NAT,
                    nla(CTA_EXPECT_NAT_DIR, struct.pack("!I", 1)) +
                    nla(CTA_EXPECT_NAT_TUPLE, tuple_attrs(na, na, 17, npt, npt), True),
                    True)
    nfgen = struct.pack("=BBH", socket.AF_INET, 0, 0)
    payload = nfgen + body
    mtype = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    if a.op == "update":
        flags = NLM_F_REQUEST | NLM_F_ACK
    elif a.op == "delete":
        payload = nfgen + tup
        mtype = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_DELETE
        flags = NLM_F_REQUEST | NLM_F_ACK
    msg = struct.pack("=IHHII", 16 + len(payload), mtype, flags, 1, 0) + payload

    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    s.send(msg)
    reply = s.recv(65536)
    _, rtype, _, _, _ = struct.unpack("=IHHII", reply[:16])
    if rtype == NLMSG_ERROR:
        err = struct.unpack("=i", reply[16:20])[0]
        if err:
            print(f"error {-err} ({os.strerror(-err)})")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
