#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Minimal RTSP/1.0 server: the VoD manager of the Movistar scenario.

Answers OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET_PARAMETER and TEARDOWN,
echoing CSeq. SETUP echoes the Transport (optionally adding server_port= and
source=) and hands out "Session: <id>;timeout=60". On PLAY it runs
--media-cmd, a str.format template with:

  {addr}   the client's address as this server sees it (after NAT)
  {port}   the first client_port of the SETUP's Transport as received
  {port2}  the second one (RTCP) or {port} if there is none
  {ports}  all client ports, comma separated

Every request is logged to --log as a JSON line (method, uri, cseq,
transport, session, peer) for the tests to assert on; each media command's
outcome is logged as {"media": ...}. --media-done FILE is written once a
media command has exited.
"""

import argparse
import json
import os
import re
import shlex
import socket
import socketserver
import subprocess
import sys
import threading

LOCK = threading.Lock()
ARGS = None

SDP = """v=0\r
o=- 1 1 IN IP4 0.0.0.0\r
s=rtsp-conntrack e2e\r
t=0 0\r
m=video 0 MP2T/H2221/UDP 33\r
c=IN IP4 0.0.0.0\r
a=control:*\r
"""

# What a standard RTSP client (ffmpeg) plays: MPEG-TS over RTP.
SDP_RTP = """v=0\r
o=- 1 1 IN IP4 0.0.0.0\r
s=rtsp-conntrack e2e\r
t=0 0\r
m=video 0 RTP/AVP 33\r
c=IN IP4 0.0.0.0\r
a=rtpmap:33 MP2T/90000\r
a=control:*\r
"""


def log(entry):
    with LOCK:
        with open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def client_ports(transport):
    """client_port values of the first Transport alternative, as ints."""
    first = transport.split(",")[0]
    m = re.search(r"client_port\s*=\s*(\d+)(?:\s*[-/]\s*(\d+))?", first, re.I)
    if not m:
        return []
    return [int(p) for p in m.groups() if p is not None]


def run_media(addr, ports):
    if not ARGS.media_cmd:
        return
    fields = {"addr": addr, "port": ports[0] if ports else 0,
              "port2": ports[1] if len(ports) > 1 else (ports[0] if ports else 0),
              "ports": ",".join(str(p) for p in ports)}
    cmd = ARGS.media_cmd.format(**fields)
    try:
        res = subprocess.run(shlex.split(cmd), capture_output=True, text=True,
                             timeout=ARGS.media_timeout, check=False)
        entry = {"media": cmd, "rc": res.returncode,
                 "stdout": res.stdout.strip(), "stderr": res.stderr.strip()[-2000:]}
        # A JSON summary on the last line (media.py's) is merged in.
        try:
            summary = json.loads(res.stdout.strip().splitlines()[-1])
            if isinstance(summary, dict):
                entry.update({k: v for k, v in summary.items() if k not in entry})
        except (ValueError, IndexError):
            pass
    except (OSError, subprocess.TimeoutExpired) as e:
        entry = {"media": cmd, "rc": -1, "error": str(e)}
    log(entry)
    if ARGS.media_done:
        # Whole lines only, ever: a reader that sees the file sees them
        # (an append could be seen empty, before its write).
        with MEDIA_DONE_LOCK:
            try:
                with open(ARGS.media_done, encoding="utf-8") as f:
                    old = f.read()
            except FileNotFoundError:
                old = ""
            with open(ARGS.media_done + ".tmp", "w", encoding="utf-8") as f:
                f.write(old + json.dumps(entry) + "\n")
            os.replace(ARGS.media_done + ".tmp", ARGS.media_done)


MEDIA_DONE_LOCK = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def read_request(self):
        """(start line, headers as a list of (name, value), body) or None."""
        line = self.rfile.readline()
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline()
        if not line:
            return None
        start = line.decode("latin-1").strip()
        headers = []
        while True:
            h = self.rfile.readline()
            if not h or h in (b"\r\n", b"\n"):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        body = b""
        length = header(headers, "Content-Length")
        if length and length.isdigit():
            body = self.rfile.read(int(length))
        return start, headers, body

    def reply(self, code, reason, cseq, extra=(), body=b""):
        lines = [f"RTSP/1.0 {code} {reason}", f"CSeq: {cseq}",
                 "Server: rtsp-conntrack-e2e"]
        lines += list(extra)
        if body:
            lines.append(f"Content-Length: {len(body)}")
        msg = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        self.wfile.write(msg)
        self.wfile.flush()

    def handle(self):
        peer = self.client_address[0]
        if peer.startswith("::ffff:"):
            peer = peer[len("::ffff:"):]
        session = ARGS.session
        while True:
            req = self.read_request()
            if req is None:
                return
            start, headers, _ = req
            parts = start.split()
            method = parts[0] if parts else ""
            uri = parts[1] if len(parts) > 1 else ""
            cseq = header(headers, "CSeq") or "0"
            transport = header(headers, "Transport")
            log({"method": method, "uri": uri, "cseq": cseq, "start": start,
                 "transport": transport, "session": header(headers, "Session"),
                 "peer": peer, "port": self.client_address[1]})

            if method == "OPTIONS":
                self.reply(200, "OK", cseq, ["Public: OPTIONS, DESCRIBE, SETUP, "
                                             "PLAY, PAUSE, GET_PARAMETER, TEARDOWN"])
            elif method == "DESCRIBE":
                self.reply(200, "OK", cseq, ["Content-Type: application/sdp",
                                             f"Content-Base: {uri}/"],
                           (SDP_RTP if ARGS.sdp == "rtp" else SDP).encode("latin-1"))
            elif method == "SETUP":
                if transport is None:
                    self.reply(461, "Unsupported Transport", cseq)
                    continue
                self.ports = client_ports(transport)
                t = ARGS.reply_transport or transport
                if ARGS.server_port:
                    t += f";server_port={ARGS.server_port}"
                if ARGS.reply_source:
                    t += f";source={ARGS.reply_source}"
                self.reply(200, "OK", cseq, [f"Transport: {t}",
                                             f"Session: {session};timeout=60"])
            elif method == "PLAY":
                self.reply(200, "OK", cseq, [f"Session: {session}",
                                             "Range: npt=0.000-"])
                threading.Thread(target=run_media,
                                 args=(peer, getattr(self, "ports", [])),
                                 daemon=True).start()
            elif method in ("PAUSE", "GET_PARAMETER"):
                self.reply(200, "OK", cseq, [f"Session: {session}"])
            elif method == "TEARDOWN":
                self.reply(200, "OK", cseq, [f"Session: {session}"])
            else:
                self.reply(501, "Not Implemented", cseq)


def header(headers, name):
    for n, v in headers:
        if n.lower() == name.lower():
            return v
    return None


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bind", default="0.0.0.0", help="address to listen on")
    ap.add_argument("--port", type=int, default=554)
    ap.add_argument("--log", required=True, help="JSON-lines request log")
    ap.add_argument("--media-cmd", default="", help="command run on PLAY (template)")
    ap.add_argument("--media-timeout", type=float, default=120)
    ap.add_argument("--media-done", default="", help="file written when media ends")
    ap.add_argument("--ready-file", default="", help="file written once listening")
    ap.add_argument("--session", default="12345678", help="session id to hand out")
    ap.add_argument("--server-port", default="", help="add ;server_port=X to SETUP replies")
    ap.add_argument("--reply-source", default="", help="add ;source=X to SETUP replies")
    ap.add_argument("--sdp", choices=("mp2t", "rtp"), default="mp2t",
                    help="DESCRIBE answer: raw MP2T/H2221/UDP (Movistar) or RTP/AVP 33")
    ap.add_argument("--reply-transport", default="",
                    help="Transport to answer SETUP with instead of the echo")
    ARGS = ap.parse_args()

    cls = Server6 if ":" in ARGS.bind else Server
    srv = cls((ARGS.bind, ARGS.port), Handler)
    if ARGS.ready_file:
        tmp = ARGS.ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(tmp, ARGS.ready_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
