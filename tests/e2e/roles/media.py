#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""MPEG server stand-in: send N UDP datagrams of 7 x 188-byte MPEG-TS packets.

Each TS packet starts with the 0x47 sync byte, PID 0x0100 and a 4-bit
continuity counter; the payload carries the datagram's sequence number so a
receiver can tell datagrams apart. With --file, the TS packets of that file
are sent instead (all of it; --count is ignored), so that a real player
can decode them; --rtp puts each datagram in RTP (RFC 2250: payload type
33, 90 kHz timestamps), as for "RTP/AVP" transports. Prints one JSON line
when done: {"sent": N, "src": "addr:port", "to": "addr:port"}. With
--stop-file, sending stops early once that file exists (a stream that
lasts as long as a test needs; "sent" tells how many went out).
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

TS_SIZE = 188
TS_PER_DATAGRAM = 7


def datagram(seq):
    """7 TS packets for datagram number seq (continuity counter per packet)."""
    out = bytearray()
    for i in range(TS_PER_DATAGRAM):
        cc = (seq * TS_PER_DATAGRAM + i) & 0x0F
        header = bytes((0x47, 0x41 if i == 0 else 0x01, 0x00, 0x10 | cc))
        payload = struct.pack("!II", seq, i)
        out += header + payload + b"\xff" * (TS_SIZE - len(header) - len(payload))
    return bytes(out)


def file_datagrams(path):
    """The TS packets of a file, 7 per datagram."""
    with open(path, "rb") as f:
        data = f.read()
    size = TS_SIZE * TS_PER_DATAGRAM
    return [data[i:i + size] for i in range(0, len(data), size)]


def rtp(seq, t0, ssrc, payload):
    """An RTP header (V=2, PT=33 MP2T) in front of payload."""
    ts = int((time.monotonic() - t0) * 90000) & 0xFFFFFFFF
    return struct.pack("!BBHII", 0x80, 33, seq & 0xFFFF, ts, ssrc) + payload


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--to", required=True, help="destination address")
    ap.add_argument("--port", required=True, type=int, help="destination port")
    ap.add_argument("--src", default="", help="source address to bind")
    ap.add_argument("--src-port", type=int, default=0, help="source port to bind")
    ap.add_argument("--count", type=int, default=60, help="datagrams to send")
    ap.add_argument("--interval", type=float, default=0.002,
                    help="seconds between datagrams (light pacing)")
    ap.add_argument("--file", default="", help="send this MPEG-TS file")
    ap.add_argument("--rtp", action="store_true", help="RTP/AVP, payload type 33")
    ap.add_argument("--stop-file", default="",
                    help="stop sending once this file exists")
    args = ap.parse_args()
    payloads = file_datagrams(args.file) if args.file else None
    if payloads is not None:
        args.count = len(payloads)

    family = socket.AF_INET6 if ":" in args.to else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.src or args.src_port:
        sock.bind((args.src, args.src_port))

    sent = attempted = 0
    t0 = time.monotonic()
    for seq in range(args.count):
        if args.stop_file and os.path.exists(args.stop_file):
            break
        attempted += 1
        data = payloads[seq] if payloads is not None else datagram(seq)
        if args.rtp:
            data = rtp(seq, t0, 0x52545350, data)
        try:
            sock.sendto(data, (args.to, args.port))
            sent += 1
        except ConnectionRefusedError:
            # An ICMP port unreachable for an earlier datagram: keep going,
            # the receiver's count is what matters.
            pass
        if args.interval:
            time.sleep(args.interval)

    src = sock.getsockname()
    print(json.dumps({"sent": sent, "src": f"{src[0]}:{src[1]}",
                      "to": f"{args.to}:{args.port}"}), flush=True)
    return 0 if sent == attempted else 1


if __name__ == "__main__":
    sys.exit(main())
