#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A decoder's media socket for the failover test (77-ha-failover.sh).

  ha_sink.py --bind ADDR --port P --status FILE [--stop-file FILE]

Receives media.py's datagrams (sequence number in the first TS packet's
payload) on ADDR:P and keeps FILE up to date with one line:
  COUNT LAST_SEQ LAST_ARRIVAL_MS
(arrival in ms since the epoch). Once --stop-file exists, or on SIGTERM,
prints one JSON line: {"count", "first", "last", "missing" (sequence
numbers between first and last not received), "max_gap_ms" (the longest
silence between two datagrams), "gap_after_seq" (the last datagram before
it), "gap_start_ms" (when it began, epoch ms), "dups" (datagrams whose
sequence number came before: another stream's), "gaps" (each silence of
at least --gap-ms: its length, the datagrams lost in it and its start)}.
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--stop-file", default="")
    ap.add_argument("--gap-ms", type=int, default=300,
                    help="list the silences at least this long")
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    sock.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    seqs = set()
    first = last = None
    prev_t = None
    gap = (0, None, None)
    gaps = []
    count = 0

    def write_status(seq, t_ms):
        with open(args.status + ".tmp", "w", encoding="utf-8") as f:
            f.write(f"{count} {seq} {t_ms}\n")
        os.rename(args.status + ".tmp", args.status)

    write_status(-1, 0)
    while not stop:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        now = time.time()
        if len(data) < 12 or data[0] != 0x47:
            continue
        seq = struct.unpack("!I", data[4:8])[0]
        count += 1
        seqs.add(seq)
        first = seq if first is None else min(first, seq)
        last = seq if last is None else max(last, seq)
        if prev_t is not None and (now - prev_t) * 1000 > gap[0]:
            gap = ((now - prev_t) * 1000, prev_seq, prev_t * 1000)
        if prev_t is not None and (now - prev_t) * 1000 >= args.gap_ms:
            gaps.append({"ms": int((now - prev_t) * 1000),
                         "lost": seq - prev_seq - 1,
                         "start_ms": int(prev_t * 1000)})
        prev_t, prev_seq = now, seq
        write_status(seq, int(now * 1000))

    missing = 0 if first is None else (last - first + 1) - len(seqs)
    print(json.dumps({"count": count, "first": first, "last": last,
                      "missing": missing, "dups": count - len(seqs),
                      "gaps": gaps, "max_gap_ms": int(gap[0]),
                      "gap_after_seq": gap[1],
                      "gap_start_ms": int(gap[2]) if gap[2] else None}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
