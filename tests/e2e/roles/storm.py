#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Malformed-input storm for the RTSP helper (tests/e2e/54-storm.sh).

  storm.py client --server ADDR --messages N --seed S [--conns C]
                  [--per-conn K] [--max-time SECS]
      Sends at least N RTSP "messages" (well-formed, mutated and garbage)
      over many TCP connections to ADDR:554, C of them open at a time, each
      closed (FIN or RST) after about K messages. A message is one of:
      random bytes, valid requests (SETUP with every Transport shape,
      OPTIONS, PLAY, PAUSE, GET_PARAMETER, TEARDOWN, bodies), truncated
      ones, oversized header lines and heads, huge or bogus Content-Length,
      NUL bytes, absurd ports, thousands of transport specs, bare CR / LF
      line ends, folded headers, interleaved '$' frames, responses sent as
      requests, byte flips. Sometimes several go in one send(), sometimes
      one is cut over several. Everything comes from random.Random(seed),
      so a run can be replayed. Stops at N messages or --max-time. Prints
      {"messages": n, "sends": s, "bytes": b, "conns": c, "resets": r,
       "send_timeouts": t, "secs": x, "seed": S, "kinds": {...}}.
  storm.py server --bind ADDR --seed S [--ready FILE] [--stats FILE]
      Accepts everything on ADDR:554, reads and discards it, and now and
      then answers with a reply from a pool of valid SETUP replies
      (Transport with client_port, Session, CSeq) and malformed ones, so
      that the reply direction is stormed too. SIGTERM writes --stats.
"""

import argparse
import errno
import json
import os
import random
import select
import selectors
import signal
import socket
import struct
import sys
import time

TRANSPORTS = [
    "MP2T/H2221/UDP;unicast;client_port={p}",
    "RTP/AVP;unicast;client_port={p}-{q}",
    "RTP/AVP/UDP;unicast;client_port={p}/{r}",
    "RTP/AVP;multicast;client_port={p}-{q}",
    "RTP/AVP/TCP;unicast;interleaved=0-1",
    "RTP/AVP;unicast;client_port={p}-{q};destination=10.1.2.3",
    "RTP/AVP;unicast;destination=10.1.2.3:{p};client_port={p}",
    "RTP/AVP;unicast;client_port={p};source=172.26.83.137;mode=\"PLAY\"",
    "RTP/AVP;unicast;client_port={p}-{q},RTP/AVP/TCP;interleaved=0-1",
    "RTP/AVP/TCP;interleaved=0-1,RTP/AVP;unicast;client_port={p}-{q}",
    "  rtp/avp ; UNICAST ; CLIENT_PORT = {p} - {q} ",
    "RTP/AVP;unicast;client_port={p}-{q};destination=\"[2001:db8::1]:{p}\"",
    "RTP/AVP/SCTP;unicast;client_port={p}",
    "RTP/AVP;unicast;client_port={p}-{q};ssrc=DEADBEEF;ttl=3;layers=1",
]

BAD_PORTS = ["0", "65535", "65536", "70000", "99999999999999999999", "-1",
             "5000-4000", "5000-", "-5000", "5000/", "abc", "5000-5000",
             "65535-65536", "1-65535", "0-1", "5000;client_port=6000",
             "5000 6000", "5000--5001", "+5000", "5e3", "0x1388", "",
             "00000000000000005000", "5000-5001-5002", "5000/5001/5002",
             "65534/65535", "1/2"]

BAD_CLEN = ["99999999999999999999", "4294967296", "4294967295", "16777217",
            "-1", "1e3", " 12 34", "0x10", "", "abc", "16777216",
            "12, 13", "+5"]

METHODS = ["OPTIONS", "DESCRIBE", "PLAY", "PAUSE", "GET_PARAMETER",
           "TEARDOWN", "SET_PARAMETER", "ANNOUNCE", "RECORD", "REDIRECT",
           "PLAY_NOTIFY", "X-FOO"]


class Gen:
    """Deterministic message generator."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.kinds = {}
        self.fns = [
            (16, self.setup), (8, self.request), (6, self.random_bytes),
            (5, self.truncated), (1, self.oversized), (4, self.bad_clen),
            (5, self.nul), (6, self.bad_port), (1, self.many_specs),
            (5, self.line_ends), (3, self.folded), (3, self.interleaved),
            (3, self.response), (8, self.flip), (1, self.long_tokens),
            (3, self.weird_headers), (2, self.blank_lines),
        ]
        self.weights = [w for w, _ in self.fns]

    def port(self):
        return self.r.randint(1024, 65000)

    def transport(self):
        p = self.port()
        return self.r.choice(TRANSPORTS).format(p=p, q=p + 1, r=p + 3)

    def head(self, method, uri, headers, body=b""):
        lines = [f"{method} {uri} RTSP/1.0"] + headers
        if body:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def uri(self):
        return f"rtsp://172.26.22.10/vod/{self.r.randint(0, 99999)}"

    def session(self):
        return self.r.choice(["12345678", "AAAA", "BBBB", f"{self.r.getrandbits(32):x}"])

    def setup_msg(self, transport=None):
        r = self.r
        hdrs = [f"CSeq: {r.randint(1, 50)}",
                f"Transport: {transport if transport is not None else self.transport()}"]
        if r.random() < 0.3:
            hdrs.append(f"Session: {self.session()}")
        if r.random() < 0.5:
            hdrs += ["User-Agent: MICA-IP-STB", "x-mayNotify:"]
        r.shuffle(hdrs)
        return self.head("SETUP", self.uri(), hdrs)

    # --- kinds -----------------------------------------------------------

    def setup(self):
        return self.setup_msg()

    def request(self):
        r = self.r
        m = r.choice(METHODS)
        hdrs = [f"CSeq: {r.randint(1, 50)}"]
        if r.random() < 0.7:
            hdrs.append(f"Session: {self.session()}")
        body = b""
        if m in ("SET_PARAMETER", "ANNOUNCE") or r.random() < 0.1:
            body = self.setup_msg() if r.random() < 0.5 else r.randbytes(r.randint(1, 300))
        return self.head(m, self.uri(), hdrs, body)

    def random_bytes(self):
        return self.r.randbytes(self.r.randint(1, 400))

    def truncated(self):
        m = self.setup_msg() if self.r.random() < 0.7 else self.request()
        return m[:self.r.randint(1, len(m) - 1)]

    def oversized(self):
        r = self.r
        c = r.random()
        if c < 0.4:
            return self.head("SETUP", self.uri(), ["CSeq: 1", "X-Big: " + "a" * r.randint(4000, 9000),
                                                   f"Transport: {self.transport()}"])
        if c < 0.7:
            return self.head("SETUP", self.uri(), [f"X-H{i}: {'v' * 20}" for i in range(r.randint(50, 150))] +
                             [f"Transport: {self.transport()}"])
        return self.head("SETUP", self.uri(), ["CSeq: 1", "Transport: " + "x" * r.randint(4090, 4100)])

    def bad_clen(self):
        r = self.r
        hdrs = ["CSeq: 1", f"Content-Length: {r.choice(BAD_CLEN)}"]
        if r.random() < 0.3:
            hdrs.append(f"Content-Length: {r.randint(0, 50)}")
        hdrs.append(f"Transport: {self.transport()}")
        return self.head(r.choice(["SETUP", "ANNOUNCE", "SET_PARAMETER"]), self.uri(), hdrs) + \
            r.randbytes(r.randint(0, 64))

    def nul(self):
        m = bytearray(self.setup_msg())
        for _ in range(self.r.randint(1, 4)):
            m.insert(self.r.randint(0, len(m)), 0)
        return bytes(m)

    def bad_port(self):
        r = self.r
        spec = r.choice(["RTP/AVP;unicast;client_port={}", "MP2T/H2221/UDP;unicast;client_port={}",
                         "RTP/AVP;unicast;client_port={};server_port={}"])
        return self.setup_msg(spec.format(r.choice(BAD_PORTS), r.choice(BAD_PORTS)))

    def many_specs(self):
        r = self.r
        c = r.random()
        if c < 0.4:
            n = r.randint(9, 55)
            t = ",".join(f"RTP/AVP;unicast;client_port={self.port()}" for _ in range(n))
        elif c < 0.6:
            t = ",".join(f"RTP/AVP;client_port={1024 + i}" for i in range(r.randint(200, 2000)))
        elif c < 0.8:
            t = r.choice([",", ";", ",;", "=", "\""]) * r.randint(100, 2000)
        else:
            t = "\r\n ".join(",".join(f"RTP/AVP;client_port={self.port()}" for _ in range(40))
                             for _ in range(r.randint(2, 8)))
        return self.setup_msg(t)

    def line_ends(self):
        m = self.setup_msg() if self.r.random() < 0.7 else self.request()
        eol = self.r.choice([b"\r", b"\n", b"\r\r\n", b"\n\r", b"\r\n\r"])
        if self.r.random() < 0.5:
            return m.replace(b"\r\n", eol)
        parts = m.split(b"\r\n")
        return b"".join(p + (eol if self.r.random() < 0.5 else b"\r\n") for p in parts)

    def folded(self):
        p = self.port()
        t = self.r.choice([f"RTP/AVP;\r\n unicast;\r\n\tclient_port={p}-{p + 1}",
                           f"RTP/AVP;unicast;client_port=\r\n {p}",
                           f"\r\n RTP/AVP;unicast;client_port={p}",
                           f"RTP/AVP;unicast;client_port={p}\r\n\r\n X"])
        return self.setup_msg(t)

    def interleaved(self):
        r = self.r
        n = r.randint(0, 2000)
        data = r.randbytes(min(n, r.randint(0, 2000)))
        frame = b"$" + bytes([r.randint(0, 255)]) + struct.pack("!H", n) + data
        if r.random() < 0.5:
            frame += self.setup_msg()
        return frame

    def response(self):
        r = self.r
        return (f"RTSP/1.0 {r.choice([200, 404, 999, 100, 0])} OK\r\nCSeq: {r.randint(1, 9)}\r\n"
                f"Transport: {self.transport()}\r\nSession: {self.session()}\r\n\r\n").encode()

    def flip(self):
        m = bytearray(self.setup_msg())
        for _ in range(self.r.randint(1, 8)):
            m[self.r.randrange(len(m))] = self.r.getrandbits(8)
        return bytes(m)

    def long_tokens(self):
        r = self.r
        if r.random() < 0.5:
            return self.head("S" * r.randint(100, 4200), self.uri(), ["CSeq: 1"])
        return self.head("SETUP", "rtsp://" + "u" * r.randint(100, 4200),
                         ["CSeq: 1", f"Transport: {self.transport()}"])

    def weird_headers(self):
        r = self.r
        hdrs = r.sample([
            "Session: ;timeout=", "Session:", "Session: " + "s" * r.randint(100, 3000),
            f"Session: {self.session()}", f"Session: {self.session()}",
            "CSeq:", "CSeq: " + "9" * 100, "Transport:", "Transport: ;;;,,,",
            f"Transport: {self.transport()}", f"Transport: {self.transport()}",
            ": novalue", "NoColon", " leading-space: x", "Transport : " + self.transport(),
        ], r.randint(2, 8))
        return self.head(r.choice(["SETUP", "TEARDOWN", "PLAY"]), self.uri(), hdrs)

    def blank_lines(self):
        return self.r.choice([b"\r\n", b"\n", b"\r"]) * self.r.randint(1, 600)

    def make_pool(self, n):
        """n messages of weighted random kinds: (kind, bytes)."""
        pool = []
        for _ in range(n):
            _, fn = self.r.choices(self.fns, self.weights)[0]
            pool.append((fn.__name__, fn()))
        return pool


def cmd_client(args):
    # Python under TCG is slow: all the randomness is spent up front, in a
    # pool of messages and a set of send() units drawn from it (1 to
    # --batch messages each, some cut short, some split over several
    # sends); the loop only picks units and sends them.
    gen = Gen(args.seed)
    pool = gen.make_pool(args.pool)
    r = random.Random(args.seed + 1)
    units = []
    for _ in range(args.units):
        # Single messages are parsed whole by the helper; a batch stops
        # being parsed at its first invalid message, but costs far less.
        k = 1 if r.random() < args.single else r.randint(2, args.batch)
        kinds, msgs = [], []
        for _ in range(k):
            kind, m = pool[r.randrange(len(pool))]
            if r.random() < 0.05 and len(m) > 1:
                kind, m = "cut", m[:r.randrange(1, len(m))]
            kinds.append(kind)
            msgs.append(m)
        data = b"".join(msgs)
        pieces = [data]
        if r.random() < 0.15 and len(data) > 2:
            cuts = sorted(r.sample(range(1, len(data)), min(len(data) - 1, r.randint(1, 3))))
            pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        units.append((k, pieces, len(data), kinds))
    used = [0] * len(units)

    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    conns = [None] * args.conns
    left = [0] * args.conns
    st = {"messages": 0, "sends": 0, "bytes": 0, "conns": 0, "resets": 0,
          "send_timeouts": 0, "connect_errors": 0}
    t0 = time.monotonic()

    def close(i, reset):
        s = conns[i]
        conns[i] = None
        if s is None:
            return
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            st["resets"] += 1
        s.close()

    i = 0
    nunits = len(units)
    messages = sends = nbytes = 0
    while messages < args.messages:
        i = (i + 1) % args.conns
        s = conns[i]
        if s is None:
            if time.monotonic() - t0 > args.max_time:
                break
            try:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.settimeout(max(args.send_timeout, 3))
                if r.random() < 0.5:
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.connect((args.server, args.port))
                s.settimeout(args.send_timeout)
            except OSError:
                st["connect_errors"] += 1
                time.sleep(0.05)
                continue
            conns[i] = s
            left[i] = r.randint(args.per_conn // 2, args.per_conn * 3 // 2)
            st["conns"] += 1
        u = r.randrange(nunits)
        k, pieces, size, _ = units[u]
        try:
            for p in pieces:
                s.sendall(p)
            sends += len(pieces)
            nbytes += size
            messages += k
            used[u] += 1
            left[i] -= k
            # Read what the server answered, without waiting (a socket
            # with a timeout would poll before recv(), whatever the flags).
            if sends & 7 == 0:
                while select.select([s], [], [], 0)[0]:
                    if not s.recv(65536):
                        break
        except socket.timeout:
            st["send_timeouts"] += 1
            close(i, True)
            continue
        except OSError:
            close(i, True)
            continue
        if left[i] <= 0:
            close(i, r.random() < 0.3)
            if time.monotonic() - t0 > args.max_time:
                break
    for i in range(args.conns):
        close(i, r.random() < 0.3)
    kinds = {}
    for (_, _, _, ks), n in zip(units, used):
        for kind in ks:
            kinds[kind] = kinds.get(kind, 0) + n
    st.update({"messages": messages, "sends": sends, "bytes": nbytes,
               "secs": round(time.monotonic() - t0, 1), "seed": args.seed,
               "pool": len(pool), "units": len(units), "kinds": kinds})
    print(json.dumps(st), flush=True)
    return 0


def reply_pool(seed):
    r = random.Random(seed)
    pool = []
    for _ in range(300):
        p = r.randint(1024, 65000)
        c = r.random()
        t = r.choice(TRANSPORTS).format(p=p, q=p + 1, r=p + 3)
        if c < 0.5:
            m = (f"RTSP/1.0 200 OK\r\nCSeq: {r.randint(1, 50)}\r\nTransport: {t}\r\n"
                 f"Session: {r.choice(['12345678', 'AAAA', 'BBBB'])};timeout=60\r\n\r\n").encode()
        elif c < 0.7:
            m = (f"RTSP/1.0 200 OK\r\nCSeq: {r.randint(1, 50)}\r\nTransport: "
                 f"RTP/AVP;unicast;client_port={r.choice(BAD_PORTS)}\r\nContent-Length: "
                 f"{r.choice(BAD_CLEN + ['5', '0'])}\r\n\r\nhello").encode()
        elif c < 0.85:
            m = r.randbytes(r.randint(1, 400))
        else:
            m = (f"RTSP/1.0 200 OK\r\nCSeq: 1\r\nTransport: " +
                 ",".join(f"RTP/AVP;client_port={r.randint(1024, 65000)}" for _ in range(60)) +
                 "\r\nSession: AAAA\r\n\r\n").encode()
        pool.append(m)
    return pool


def cmd_server(args):
    r = random.Random(args.seed)
    pool = reply_pool(args.seed)
    fam = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(256)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    st = {"accepted": 0, "bytes": 0, "replies": 0}

    def stats(*_):
        if args.stats:
            with open(args.stats + ".tmp", "w", encoding="utf-8") as f:
                f.write(json.dumps(st) + "\n")
            os.rename(args.stats + ".tmp", args.stats)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stats)
    if args.ready:
        with open(args.ready, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    while True:
        for key, _ in sel.select(1):
            if key.fileobj is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                st["accepted"] += 1
                continue
            c = key.fileobj
            try:
                data = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(c)
                c.close()
                continue
            st["bytes"] += len(data)
            if r.random() < args.reply_rate:
                try:
                    c.send(r.choice(pool))
                    st["replies"] += 1
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                        sel.unregister(c)
                        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--server", required=True)
    c.add_argument("--port", type=int, default=554)
    c.add_argument("--messages", type=int, default=100000)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--conns", type=int, default=8)
    c.add_argument("--per-conn", type=int, default=800)
    c.add_argument("--max-time", type=float, default=120)
    c.add_argument("--send-timeout", type=float, default=3)
    c.add_argument("--pool", type=int, default=2000, help="distinct messages generated")
    c.add_argument("--units", type=int, default=1500, help="distinct send() units")
    c.add_argument("--single", type=float, default=0.3,
                   help="share of send()s that carry one message")
    c.add_argument("--batch", type=int, default=12, help="most messages in one send()")
    s = sub.add_parser("server")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--port", type=int, default=554)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--reply-rate", type=float, default=0.2)
    s.add_argument("--ready", default="")
    s.add_argument("--stats", default="")
    args = ap.parse_args()
    return cmd_client(args) if args.cmd == "client" else cmd_server(args)


if __name__ == "__main__":
    sys.exit(main())
