#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Unload and reload the RTSP helper modules in a loop (tests/e2e/55-unload.sh).

  modcycle.py --ko nf_conntrack_rtsp.ko --ko nf_nat_rtsp.ko --cycles N
              [--ruleset FILE] [--table "inet e2e_helper"] [--dwell SECS]

Each cycle: delete the nft table that holds the helper rule (its ct helper
object pins the modules), unload nf_nat_rtsp then nf_conntrack_rtsp, load
them back in dependency order, and put the table back (FILE, an nft script),
then stay loaded for about --dwell seconds. Modules are handled with the
delete_module and finit_module system calls and the ruleset through
libnftables, in this one process: what modprobe -r / modprobe and nft do,
without starting two or three processes per cycle (each costs ~0.5 s under
a loaded TCG host). Run it in the router's network namespace.

Stops after --cycles cycles or --max-time seconds. Prints {"cycles": done,
"secs": x, "errors": [...]} and exits 1 on the first failure (a module
that will not unload or load, an nft error).
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import random
import sys
import time

SYS_FINIT_MODULE = 313		# x86_64
SYS_DELETE_MODULE = 176
O_NONBLOCK = 0o4000

libc = ctypes.CDLL(None, use_errno=True)


class Nft:
    def __init__(self):
        name = ctypes.util.find_library("nftables") or "libnftables.so.1"
        self.lib = ctypes.CDLL(name)
        self.lib.nft_ctx_new.restype = ctypes.c_void_p
        self.lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        self.lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        self.lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        self.lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        self.ctx = self.lib.nft_ctx_new(0)
        self.lib.nft_ctx_buffer_error(self.ctx)

    def run(self, cmd):
        rc = self.lib.nft_run_cmd_from_buffer(self.ctx, cmd.encode())
        if rc:
            err = self.lib.nft_ctx_get_error_buffer(self.ctx) or b""
            raise OSError(f"nft: {cmd.splitlines()[0]!r}: {err.decode().strip()}")


def delete_module(name):
    if libc.syscall(SYS_DELETE_MODULE, name.encode(), O_NONBLOCK):
        e = ctypes.get_errno()
        raise OSError(e, f"delete_module({name}): {os.strerror(e)}")


def load_module(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.syscall(SYS_FINIT_MODULE, fd, b"", 0):
            e = ctypes.get_errno()
            raise OSError(e, f"finit_module({path}): {os.strerror(e)}")
    finally:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ko", action="append", required=True,
                    help="module file, in load order (repeat)")
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--ruleset", default="", help="nft script re-adding the table")
    ap.add_argument("--table", default="inet e2e_helper")
    ap.add_argument("--dwell", type=float, default=0.15,
                    help="seconds (+-50%%) to stay loaded each cycle")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-time", type=float, default=0,
                    help="stop after this many seconds (0: no limit)")
    ap.add_argument("--start-file", default="",
                    help="wait for this file before the first cycle (start-up is slow)")
    args = ap.parse_args()

    r = random.Random(args.seed)
    names = [os.path.basename(k).split(".")[0] for k in args.ko]
    nft = Nft()
    ruleset = open(args.ruleset, encoding="utf-8").read() if args.ruleset else ""
    done = 0
    errors = []
    while args.start_file and not os.path.exists(args.start_file):
        time.sleep(0.05)
    t0 = time.monotonic()
    try:
        for _ in range(args.cycles):
            if args.max_time and time.monotonic() - t0 > args.max_time:
                break
            if ruleset:
                nft.run(f"delete table {args.table}")
            for name in reversed(names):
                for attempt in range(50):
                    try:
                        delete_module(name)
                        break
                    except OSError as e:
                        # A reference still being dropped: try again shortly.
                        if e.errno not in (11, 16) or attempt == 49:
                            raise
                        time.sleep(0.02)
            for ko in args.ko:
                load_module(ko)
            if ruleset:
                nft.run(ruleset)
            done += 1
            if done % 10 == 0:
                print(f"modcycle: {done} cycles after {time.monotonic() - t0:.1f}s",
                      file=sys.stderr, flush=True)
            time.sleep(args.dwell * r.uniform(0.5, 1.5))
    except OSError as e:
        errors.append(str(e))
    print(json.dumps({"cycles": done, "secs": round(time.monotonic() - t0, 1),
                      "errors": errors}), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
