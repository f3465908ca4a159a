#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Raw RTSP roles for the robustness tests (tests/e2e/5x-*.sh).

  rtsp_raw.py client --script FILE.json [--listen PORTS] [--udp-status FILE]
      Runs a list of steps (JSON) over raw TCP with TCP_NODELAY, so that a
      message can be cut into separate segments at chosen points, several
      messages can go in one send(), and requests can be sent at chosen
      times. Meanwhile it counts the UDP datagrams arriving on --listen
      ports and keeps "PORT COUNT" lines in --udp-status (for the shell,
      without a Python start per look). Prints one JSON line at the end:
        {"ok": true, "replies": [...], "sessions": [...], "udp": {...},
         "marks": {...}, "sent": [...], "error": null}
      Steps (each a JSON object; its first key is the op):
        {"connect": "ADDR", "port": 554}   new control connection ("sport":
                                            N: from that source port)
        {"send": [MSG...], "cuts": [CUT...], "gap": 0.2}
            MSGs (strings, or {"m": METHOD, "uri": URI, "h": [HEADER...],
            "body": TEXT} with Content-Length added; "{S0}" "{S1}"...
            replaced by the sessions the server handed out so far) are
            concatenated, cut ("chunk": N: every N bytes) before each
            CUT (an int offset, or a string: before its next occurrence;
            "+N" suffix "text|+N" moves the cut N bytes into the text) and
            each piece is sent with its own send(), "gap" seconds apart
            ("oob": true: with MSG_OOB, its last byte urgent)
        {"recv": N, "timeout": 10}          read N responses ("may_fail":
                                            true: a timeout is recorded as
                                            status 0, the script goes on)
        {"touch": FILE}  {"wait": FILE, "timeout": 300}  {"sleep": SECS}
        {"wait_udp": PORT, "count": N, "timeout": 10}
        {"mark": NAME}                      snapshot the UDP counts
        {"repeat": N, "every": SECS, "steps": [...]}
        {"close": 1}                        ("abort": true: with a RST)
  rtsp_raw.py server --bind ADDR --log FILE [--ready FILE] [--sessions A,B]
                    [--reply-append FILE]
      Answers every request 200 (400 to what is not RTSP), echoing CSeq,
      Transport (plus the text of --reply-append FILE, when it exists)
      and Session; a SETUP without Session gets the next id of
      --sessions (per connection). A request with an "X-Abort" header is
      not answered: the connection is reset (SO_LINGER 0), as a server
      that restarts loses it. Reads Content-Length bodies. Logs each
      request as a JSON line: method, cseq, session, transport, clen,
      body (its length), conn (connection number), peer.
  rtsp_raw.py flood --server ADDR --conns N --setups M --port-base P
                    [--specs K] [--pair] [--final-specs K]
      One host opening N control connections and sending M SETUPs (one
      send() each connection, distinct client ports, K transport specs
      each) without waiting for replies; keeps the connections open until
      --hold-file exists.
  rtsp_raw.py churn --server ADDR --ports P,Q --stop-file FILE
      Sets sessions up and tears them down in a loop (connect, OPTIONS,
      SETUP, PLAY, TEARDOWN, close) until FILE exists; a dropped or
      refused exchange just starts the next cycle.
"""

import argparse
import json
import os
import re
import select
import socket
import socketserver
import struct
import sys
import threading
import time

UA = "MICA-IP-STB"


def touch(path):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("1\n")
    os.rename(path + ".tmp", path)


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {path}")
        time.sleep(0.02)


def parse_head(data):
    """(start, {lower name: value}, head length) of the message at the start
    of data, or None while the head is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs.setdefault(name.strip().lower(), value.strip())
    return lines[0], hdrs, end + 4


def read_message(sock, buf, deadline):
    """Read one whole message (head + Content-Length body) from sock.
    Returns (start, headers, body, rest of buf)."""
    while True:
        head = parse_head(buf)
        if head:
            start, hdrs, hlen = head
            clen = hdrs.get("content-length", "0")
            clen = int(clen) if clen.isdigit() else 0
            if len(buf) >= hlen + clen:
                return start, hdrs, buf[hlen:hlen + clen], buf[hlen + clen:]
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no (whole) reply")
        sock.settimeout(left)
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by peer")
        buf += data


# --- client -----------------------------------------------------------------

class Udp(threading.Thread):
    """Counts datagrams per port; mirrors the counts into a status file."""

    def __init__(self, ports, status, family):
        super().__init__(daemon=True)
        self.counts = {p: 0 for p in ports}
        self.status = status
        self.lock = threading.Lock()
        self.socks = {}
        for p in ports:
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind(("", p))
            self.socks[s] = p
        self.write()

    def write(self):
        if not self.status:
            return
        with open(self.status + ".tmp", "w", encoding="utf-8") as f:
            for p, n in self.counts.items():
                f.write(f"{p} {n}\n")
        os.rename(self.status + ".tmp", self.status)

    def run(self):
        if not self.socks:
            return
        dirty = False
        last = 0.0
        while True:
            ready, _, _ = select.select(list(self.socks), [], [], 0.05)
            for s in ready:
                s.recv(65536)
                with self.lock:
                    self.counts[self.socks[s]] += 1
                dirty = True
            now = time.monotonic()
            if dirty and (now - last > 0.05 or not ready):
                with self.lock:
                    self.write()
                dirty = False
                last = now

    def get(self, port):
        with self.lock:
            return self.counts.get(port, 0)

    def snapshot(self):
        with self.lock:
            return {str(p): n for p, n in self.counts.items()}


def build_msg(m):
    """{"m": METHOD, "uri": URI, "h": [HEADER...], "body": TEXT}: a request,
    with Content-Length when there is a body."""
    lines = [f"{m['m']} {m.get('uri', 'rtsp://172.26.22.10/vod')} RTSP/1.0"]
    lines += m.get("h", [])
    body = m.get("body", "")
    if body:
        lines.append(f"Content-Length: {len(body.encode('latin-1'))}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def cut_stream(data, cuts):
    """Split data before each cut (offsets or marker strings, in order)."""
    pieces, pos = [], 0
    for c in cuts:
        if isinstance(c, int):
            at = c
        else:
            marker, _, extra = c.partition("|+")
            at = data.find(marker.encode("latin-1"), pos + 1 if pos else 0)
            if at < 0:
                raise ValueError(f"cut marker {marker!r} not found after {pos}")
            at += int(extra or 0)
        if not pos < at < len(data):
            raise ValueError(f"cut {c!r} at {at} outside ({pos}, {len(data)})")
        pieces.append(data[pos:at])
        pos = at
    pieces.append(data[pos:])
    return pieces


class Client:
    def __init__(self, args):
        self.args = args
        self.sock = None
        self.buf = b""
        self.res = {"ok": False, "replies": [], "sessions": [], "udp": {},
                    "marks": {}, "sent": [], "error": None}
        ports = [int(p) for p in args.listen.split(",") if p]
        fam = socket.AF_INET6 if ":" in args.family_hint else socket.AF_INET
        self.udp = Udp(ports, args.udp_status, fam)
        self.udp.start()

    def subst(self, msg):
        if isinstance(msg, dict):
            msg = build_msg(msg)
        for i, s in enumerate(self.res["sessions"]):
            msg = msg.replace("{S%d}" % i, s)
        return msg

    def step(self, st):
        op = next(iter(st))
        if op == "connect":
            if self.sock:
                self.sock.close()
            addr = st["connect"]
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            self.sock = socket.socket(fam, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.settimeout(st.get("timeout", 10))
            if st.get("sport"):
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.sock.bind(("", st["sport"]))
            self.sock.connect((addr, st.get("port", 554)))
            self.buf = b""
        elif op == "send":
            data = "".join(self.subst(m) for m in st["send"]).encode("latin-1")
            cuts = st.get("cuts", [])
            if st.get("chunk"):
                cuts = list(range(st["chunk"], len(data), st["chunk"]))
            pieces = cut_stream(data, cuts)
            for i, p in enumerate(pieces):
                if i:
                    time.sleep(st.get("gap", 0.2))
                if st.get("oob"):
                    # Its last byte urgent (TCP URG).
                    self.sock.send(p, socket.MSG_OOB)
                else:
                    self.sock.sendall(p)
            self.res["sent"].append(len(pieces))
        elif op == "recv":
            deadline = time.monotonic() + st.get("timeout", 10)
            for _ in range(st["recv"]):
                try:
                    start, hdrs, body, self.buf = read_message(self.sock, self.buf,
                                                               deadline)
                except (OSError, TimeoutError, ConnectionError) as e:
                    if not st.get("may_fail"):
                        raise
                    self.res["replies"].append({"status": 0, "error": str(e)})
                    return
                m = re.match(r"RTSP/\d\.\d (\d{3})", start)
                sess = hdrs.get("session", "").split(";")[0].strip()
                self.res["replies"].append({
                    "status": int(m.group(1)) if m else 0,
                    "cseq": hdrs.get("cseq"), "session": sess or None,
                    "transport": hdrs.get("transport"), "body": len(body)})
                if sess and sess not in self.res["sessions"]:
                    self.res["sessions"].append(sess)
        elif op == "touch":
            touch(st["touch"])
        elif op == "wait":
            wait_file(st["wait"], st.get("timeout", 300))
        elif op == "sleep":
            time.sleep(st["sleep"])
        elif op == "wait_udp":
            deadline = time.monotonic() + st.get("timeout", 10)
            while (self.udp.get(st["wait_udp"]) < st["count"] and
                   time.monotonic() < deadline):
                time.sleep(0.02)
        elif op == "mark":
            self.res["marks"][st["mark"]] = self.udp.snapshot()
        elif op == "repeat":
            for i in range(st["repeat"]):
                t0 = time.monotonic()
                for sub in st["steps"]:
                    self.step(sub)
                left = st.get("every", 0) - (time.monotonic() - t0)
                if left > 0 and i + 1 < st["repeat"]:
                    time.sleep(left)
        elif op == "close":
            if self.sock:
                if st.get("abort"):
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
                self.sock.close()
            self.sock = None
        else:
            raise ValueError(f"unknown step {st!r}")

    def run(self, steps):
        try:
            for st in steps:
                self.step(st)
            self.res["ok"] = True
        except (OSError, ValueError, TimeoutError, ConnectionError) as e:
            self.res["error"] = f"{type(e).__name__}: {e}"
        time.sleep(0.1)
        self.res["udp"] = self.udp.snapshot()
        self.udp.write()
        print(json.dumps(self.res), flush=True)
        return 0 if self.res["ok"] else 1


def cmd_client(args):
    with open(args.script, encoding="utf-8") as f:
        steps = json.load(f)
    return Client(args).run(steps)


# --- server -----------------------------------------------------------------

class RawServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    conns = 0
    lock = threading.Lock()


class RawServer6(RawServer):
    address_family = socket.AF_INET6


class Handler(socketserver.BaseRequestHandler):
    def log(self, entry):
        with self.server.lock:
            with open(self.server.args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def handle(self):
        args = self.server.args
        with self.server.lock:
            self.server.conns += 1
            conn = self.server.conns
        sessions = [s for s in args.sessions.split(",") if s]
        next_session = 0
        peer = self.client_address[0]
        sock = self.request
        buf = b""
        while True:
            try:
                start, hdrs, body, buf = read_message(sock, buf,
                                                      time.monotonic() + 3600)
            except (OSError, TimeoutError, ConnectionError):
                return
            # Empty lines between messages.
            start = start.lstrip()
            parts = start.split()
            method = parts[0] if parts else ""
            cseq = hdrs.get("cseq", "0")
            session = hdrs.get("session", "").split(";")[0].strip()
            transport = hdrs.get("transport")
            self.log({"conn": conn, "method": method, "cseq": cseq,
                      "session": session or None, "transport": transport,
                      "clen": hdrs.get("content-length"), "body": len(body),
                      "peer": peer})
            if "x-abort" in hdrs:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                sock.close()
                return
            lines = []
            if len(parts) != 3 or not parts[2].startswith("RTSP/"):
                lines = ["RTSP/1.0 400 Bad Request", f"CSeq: {cseq}"]
            else:
                lines = ["RTSP/1.0 200 OK", f"CSeq: {cseq}"]
                if method == "SETUP":
                    if not session:
                        session = (sessions[next_session % len(sessions)]
                                   if sessions else f"{conn:04d}{next_session:04d}")
                        next_session += 1
                    if transport is not None:
                        extra = ""
                        if args.reply_append:
                            try:
                                with open(args.reply_append, encoding="utf-8") as f:
                                    extra = f.read().strip()
                            except OSError:
                                pass
                        lines.append(f"Transport: {transport}{extra}")
                    lines.append(f"Session: {session};timeout=60")
                elif session:
                    lines.append(f"Session: {session}")
            try:
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            except OSError:
                return


def cmd_server(args):
    cls = RawServer6 if ":" in args.bind else RawServer
    srv = cls((args.bind, args.port), Handler)
    srv.args = args
    if args.ready:
        touch(args.ready)
    srv.serve_forever()
    return 0


# --- flood ------------------------------------------------------------------

def setup_msg(uri, cseq, port, specs=1, step=2, pair=False):
    """A SETUP asking for `specs` transport alternatives from `port` on
    (`step` apart), each one port or, with `pair`, an RTP/RTCP range."""
    if specs == 1 and not pair:
        t = f"MP2T/H2221/UDP;unicast;client_port={port}"
    else:
        t = ",".join(f"RTP/AVP;unicast;client_port={p}" + (f"-{p + 1}" if pair else "")
                     for p in range(port, port + specs * step, step))
    return (f"SETUP {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nTransport: {t}\r\n"
            f"User-Agent: {UA}\r\n\r\n")


def cmd_flood(args):
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    uri = f"rtsp://{args.server}/flood"
    socks, sent, failed = [], 0, 0
    port = args.port_base
    t0 = time.monotonic()
    for c in range(args.conns + (1 if args.final_specs else 0)):
        specs, pair, setups = args.specs, args.pair, args.setups
        if c == args.conns:
            specs, pair, setups = args.final_specs, True, 1
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(5)
            if args.bind:
                binds = args.bind.split(",")
                s.bind((binds[c % len(binds)], 0))
            s.connect((args.server, args.port))
            msgs = []
            for j in range(setups):
                msgs.append(setup_msg(uri, j + 1, port, specs,
                                      args.port_step, pair))
                port += args.port_step * specs
            s.sendall("".join(msgs).encode("latin-1"))
            sent += setups
            socks.append(s)
        except OSError:
            failed += 1
    # Let the replies come (or not: dropped SETUPs are retransmitted).
    replies = 0
    deadline = time.monotonic() + args.settle
    while socks and time.monotonic() < deadline:
        ready, _, _ = select.select(socks, [], [], 0.1)
        for s in ready:
            try:
                replies += s.recv(65536).count(b"RTSP/1.0 ")
            except OSError:
                pass
    if args.ready:
        touch(args.ready)
    print(json.dumps({"conns": len(socks), "failed": failed, "setups": sent,
                      "replies": replies,
                      "secs": round(time.monotonic() - t0, 1)}), flush=True)
    if args.hold_file:
        try:
            wait_file(args.hold_file, args.hold_timeout)
        except TimeoutError:
            pass
    for s in socks:
        s.close()
    return 0


# --- churn ------------------------------------------------------------------

def cmd_churn(args):
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    uri = f"rtsp://{args.server}/churn"
    ports = [int(p) for p in args.ports.split(",")]
    cycles = ok = errors = 0
    t0 = time.monotonic()
    while not os.path.exists(args.stop_file):
        if args.max_time and time.monotonic() - t0 > args.max_time:
            break
        port = ports[cycles % len(ports)]
        cycles += 1
        s = None
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(args.timeout)
            s.connect((args.server, args.port))
            buf = b""
            dl = lambda: time.monotonic() + args.timeout  # noqa: E731
            s.sendall(f"OPTIONS {uri} RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
            _, _, _, buf = read_message(s, buf, dl())
            s.sendall(setup_msg(uri, 2, port).encode())
            _, hdrs, _, buf = read_message(s, buf, dl())
            sess = hdrs.get("session", "x").split(";")[0].strip()
            s.sendall(f"PLAY {uri} RTSP/1.0\r\nCSeq: 3\r\nSession: {sess}\r\n\r\n"
                      .encode())
            _, _, _, buf = read_message(s, buf, dl())
            if args.hold:
                time.sleep(args.hold)
            s.sendall(f"TEARDOWN {uri} RTSP/1.0\r\nCSeq: 4\r\nSession: {sess}\r\n\r\n"
                      .encode())
            _, _, _, buf = read_message(s, buf, dl())
            ok += 1
        except (OSError, TimeoutError, ConnectionError):
            errors += 1
            time.sleep(0.05)
        finally:
            if s:
                s.close()
        if args.pause:
            time.sleep(args.pause)
    print(json.dumps({"cycles": cycles, "ok": ok, "errors": errors,
                      "secs": round(time.monotonic() - t0, 1)}), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("client")
    c.add_argument("--script", required=True)
    c.add_argument("--listen", default="", help="UDP ports to count, comma separated")
    c.add_argument("--udp-status", default="")
    c.add_argument("--family-hint", default="0.0.0.0",
                   help="an address of the family of the UDP sockets")

    s = sub.add_parser("server")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--port", type=int, default=554)
    s.add_argument("--log", required=True)
    s.add_argument("--ready", default="")
    s.add_argument("--sessions", default="")
    s.add_argument("--reply-append", default="",
                   help="file whose text (when it exists) is appended to "
                   "the Transport of SETUP replies, e.g. ;source=ADDR")

    f = sub.add_parser("flood")
    f.add_argument("--server", required=True)
    f.add_argument("--port", type=int, default=554)
    f.add_argument("--bind", default="",
                   help="source address(es), comma-separated: one per connection in turn")
    f.add_argument("--conns", type=int, default=40)
    f.add_argument("--setups", type=int, default=8)
    f.add_argument("--port-base", type=int, default=30000)
    f.add_argument("--port-step", type=int, default=2)
    f.add_argument("--specs", type=int, default=1,
                   help="transport specs per SETUP")
    f.add_argument("--pair", action="store_true",
                   help="RTP/RTCP port pairs (client_port=P-P+1)")
    f.add_argument("--final-specs", type=int, default=0,
                   help="then one more connection with one SETUP of K RTP/RTCP specs")
    f.add_argument("--settle", type=float, default=2)
    f.add_argument("--ready", default="")
    f.add_argument("--hold-file", default="")
    f.add_argument("--hold-timeout", type=float, default=120)

    h = sub.add_parser("churn")
    h.add_argument("--server", required=True)
    h.add_argument("--port", type=int, default=554)
    h.add_argument("--ports", required=True)
    h.add_argument("--stop-file", required=True)
    h.add_argument("--timeout", type=float, default=2)
    h.add_argument("--hold", type=float, default=0)
    h.add_argument("--max-time", type=float, default=0)
    h.add_argument("--pause", type=float, default=0, help="seconds between cycles")

    args = ap.parse_args()
    return {"client": cmd_client, "server": cmd_server, "flood": cmd_flood,
            "churn": cmd_churn}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
