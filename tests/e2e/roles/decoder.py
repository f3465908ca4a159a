#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Set-top box stand-in: an RTSP client that counts the UDP stream it gets.

Binds UDP on its client port(s) first, then sends OPTIONS, SETUP (Movistar's
Transport and headers by default) and PLAY, counts the datagrams arriving on
each port until --count have arrived on the first one, --timeout expires or
--stop-file appears (plus --drain seconds), optionally holds, then sends
TEARDOWN. Prints one JSON line:

  {"received": {"27336": 60}, "bad": 0, "sources": {...},
   "setup_status": 200, "setup_transport": "...", "session": "...",
   "play_status": 200, "teardown_status": 200, "error": null}

Gates for tests that inspect the router mid-session (no fixed sleeps):
--setup-done FILE is written after the SETUP reply; --play-gate FILE makes
the decoder wait for FILE before PLAY; --teardown-gate FILE before TEARDOWN.

Exit status: 0 if the RTSP exchange worked (whatever was received), 1 if not.
"""

import argparse
import json
import os
import re
import select
import socket
import sys
import time

UA = "MICA-IP-STB"


class RtspError(Exception):
    pass


class Rtsp:
    def __init__(self, server, port, timeout):
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((server, port))
        self.buf = b""
        self.cseq = 0

    def request(self, method, uri, headers=()):
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines += list(headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return self.response()

    def _readline(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise RtspError("connection closed by server")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1").rstrip("\r")

    def response(self):
        status = self._readline()
        m = re.match(r"RTSP/1\.0 (\d{3})", status)
        if not m:
            raise RtspError(f"bad status line {status!r}")
        headers = {}
        while True:
            line = self._readline()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(self.buf) < length:
            data = self.sock.recv(4096)
            if not data:
                raise RtspError("connection closed in body")
            self.buf += data
        self.buf = self.buf[length:]
        cseq = headers.get("cseq")
        if cseq is not None and cseq != str(self.cseq):
            raise RtspError(f"CSeq {cseq} in reply to {self.cseq}")
        return int(m.group(1)), headers


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RtspError(f"timed out waiting for {path}")
        time.sleep(0.02)


def touch(path):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("1\n")
    os.rename(path + ".tmp", path)


def transport_ports(transport):
    m = re.search(r"client_port\s*=\s*(\d+)(?:\s*[-/]\s*(\d+))?", transport, re.I)
    return [int(p) for p in m.groups() if p is not None] if m else []


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="RTSP server address")
    ap.add_argument("--port", type=int, default=554, help="RTSP server port")
    ap.add_argument("--uri", default="", help="request URI (default rtsp://server/vod)")
    ap.add_argument("--transport",
                    default="MP2T/H2221/UDP;unicast;client_port=27336",
                    help="Transport header of the SETUP")
    ap.add_argument("--listen", default="",
                    help="UDP ports to count on, comma separated "
                         "(default: the client_port(s) of --transport)")
    ap.add_argument("--bind", default="", help="local address for the UDP sockets")
    ap.add_argument("--count", type=int, default=60,
                    help="datagrams expected on the first port")
    ap.add_argument("--timeout", type=float, default=15,
                    help="seconds to wait for the stream after PLAY")
    ap.add_argument("--stop-file", default="",
                    help="stop counting once this file exists (after --drain)")
    ap.add_argument("--drain", type=float, default=0.5)
    ap.add_argument("--no-teardown", action="store_true")
    ap.add_argument("--hold", type=float, default=0,
                    help="seconds to hold the session before TEARDOWN")
    ap.add_argument("--setup-done", default="")
    ap.add_argument("--play-gate", default="")
    ap.add_argument("--teardown-gate", default="")
    ap.add_argument("--gate-timeout", type=float, default=60)
    args = ap.parse_args()

    uri = args.uri or (f"rtsp://[{args.server}]/vod" if ":" in args.server
                       else f"rtsp://{args.server}/vod")
    ports = ([int(p) for p in args.listen.split(",") if p]
             if args.listen else transport_ports(args.transport))
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET

    result = {"received": {str(p): 0 for p in ports}, "bad": 0, "sources": {},
              "setup_status": None, "setup_transport": None, "session": None,
              "play_status": None, "teardown_status": None, "error": None}
    socks = {}
    for p in ports:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((args.bind, p))
        socks[s] = p

    ok = False
    try:
        rtsp = Rtsp(args.server, args.port, args.gate_timeout)
        common = [f"User-Agent: {UA}"]
        status, _ = rtsp.request("OPTIONS", uri, common)
        if status != 200:
            raise RtspError(f"OPTIONS answered {status}")

        status, hdrs = rtsp.request("SETUP", uri, [f"Transport: {args.transport}",
                                                   *common, "x-mayNotify:"])
        result["setup_status"] = status
        result["setup_transport"] = hdrs.get("transport")
        session = hdrs.get("session", "").split(";")[0].strip()
        result["session"] = session or None
        if status != 200:
            raise RtspError(f"SETUP answered {status}")
        if args.setup_done:
            touch(args.setup_done)
        if args.play_gate:
            wait_file(args.play_gate, args.gate_timeout)

        status, _ = rtsp.request("PLAY", uri, [f"Session: {session}",
                                               "Range: npt=0.000-end", "Scale: 1.000",
                                               "x-playNow:", "x-noFlush:", *common])
        result["play_status"] = status
        if status != 200:
            raise RtspError(f"PLAY answered {status}")

        receive(args, socks, result, ports)

        if args.teardown_gate:
            wait_file(args.teardown_gate, args.gate_timeout)
        if args.hold:
            time.sleep(args.hold)
        if not args.no_teardown:
            status, _ = rtsp.request("TEARDOWN", uri, [f"Session: {session}", *common])
            result["teardown_status"] = status
        ok = True
    except (OSError, RtspError, ValueError) as e:
        result["error"] = f"{type(e).__name__}: {e}"

    print(json.dumps(result), flush=True)
    return 0 if ok else 1


def receive(args, socks, result, ports):
    deadline = time.monotonic() + args.timeout
    stop_at = None
    first = str(ports[0]) if ports else None
    while True:
        now = time.monotonic()
        if now >= deadline or (stop_at is not None and now >= stop_at):
            return
        if first is not None and result["received"][first] >= args.count:
            return
        if stop_at is None and args.stop_file and os.path.exists(args.stop_file):
            stop_at = now + args.drain
        ready, _, _ = select.select(list(socks), [], [], 0.05)
        for s in ready:
            data, src = s.recvfrom(65535)
            port = str(socks[s])
            if len(data) % 188 == 0 and all(data[i] == 0x47
                                            for i in range(0, len(data), 188)):
                result["received"][port] += 1
            else:
                result["bad"] += 1
            key = f"{src[0]}:{src[1]}"
            result["sources"][key] = result["sources"].get(key, 0) + 1


if __name__ == "__main__":
    sys.exit(main())
