#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the logs of bench/run.sh (build/bench/logs) into bench/RESULTS.md.

Usage: report.py LOGS_DIR > RESULTS.md
"""

import os
import statistics
import sys

LOGS = sys.argv[1]


def read(name, default=""):
    try:
        with open(os.path.join(LOGS, name), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def meta():
    m = {}
    for line in read("meta").splitlines():
        k, _, v = line.partition("=")
        m[k] = v
    return m


def bench_lines(part):
    """BENCH lines of a part: list of (section, dict)."""
    out = []
    for line in read(part + ".bench").splitlines():
        toks = line.split()
        if len(toks) < 3 or toks[0] != "BENCH":
            continue
        d = {}
        sect = None
        for t in toks[1:]:
            if "=" in t and sect is not None or t.startswith("smp="):
                k, _, v = t.partition("=")
                d[k] = v
            elif sect is None:
                sect = t
        out.append((sect, d))
    return out


def num(v, default=None):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, nd=1):
    if x is None or x != x:
        return "n/a"
    return f"{x:,.{nd}f}"


def spread(xs, nd=1):
    if not xs:
        return "n/a"
    return f"{fmt(med(xs), nd)} ({fmt(min(xs), nd)}–{fmt(max(xs), nd)})"


def ratio_stats(pairs):
    """pairs: list of (a, b) per round; ratio a/b per round."""
    rs = [a / b for a, b in pairs if a and b]
    if not rs:
        return None, "n/a"
    return med(rs), f"{med(rs):.3f} (rounds {min(rs):.3f}–{max(rs):.3f}, n={len(rs)})"


PARTS = ("parse", "media", "control", "scale", "parallel", "profile", "cost")
# The anchor (bench/anchor.sh): rtsp-linux, in these variants.
ANCHOR_VARIANTS = {
    "lin": "rtsp-linux + skb_linearize",
    "lin-any": "rtsp-linux + skb_linearize + any media source",
    "ref": "ours, at an older commit (BENCH_REF)",
}
REF_REV = "?"   # the ref variant's commit, from the guest's anchor lines


def mode_label(mode):
    """Table label of a mode: ours is "helper", the anchor "anchor-VARIANT"."""
    if mode == "anchor-ref":
        return f"ours at {REF_REV}"
    if mode.startswith("anchor-"):
        v = mode[len("anchor-"):]
        return f"rtsp-linux ({v})"
    return mode


def anchor_modes(modes):
    return sorted((m for m in modes if m.startswith("anchor-")),
                  key=lambda m: list(ANCHOR_VARIANTS).index(m[7:]) if m[7:] in ANCHOR_VARIANTS else 99)

M = meta()
SHIFT = int(M.get("icount", "icount=1 shift=3").split("shift=")[-1] or 3) \
    if "shift=" in M.get("icount", "") else 3
ICOUNT = M.get("icount", "").startswith("1")
out = []
w = out.append
summary = []

w("# rtsp-conntrack benchmarks\n")
w(f"Written by `make bench` (`bench/run.sh`, `bench/report.py`) on {M.get('date', '?')}. "
  "These are measurements, not pass/fail tests: no threshold is checked. "
  "Re-run with `sudo make bench`; parameters are environment variables (see `bench/run.sh`).\n")

# --- machine ---------------------------------------------------------------
vm_env = {}
for part in PARTS[1:]:
    for sect, d in bench_lines(part):
        if sect in PARTS and "kernel" in d:
            vm_env.setdefault(part, []).append(d)

w("## Machine and run\n")
w("| | |\n|---|---|")
w(f"| host | {M.get('nproc', '?')} CPUs, {M.get('cpu', '?')}, kernel {M.get('host_kernel', '?')} |")
w(f"| host load average (1/5/15 min) | start {M.get('load_start', '?')}, end {M.get('load_end', '?')} |")
kern = sorted({d.get("kernel", "?") for ds in vm_env.values() for d in ds})
w(f"| guest kernel | {', '.join(kern) or 'n/a'} (Debian), QEMU TCG: {M.get('qemu', '?')} |")
srcv = sorted({(d.get("ct_sha1", "?"), d.get("nat_sha1", "?"))
               for ds in vm_env.values() for d in ds})
w(f"| modules (sha1 of the .ko in the guest) | " + "; ".join(f"nf_conntrack_rtsp {a}, nf_nat_rtsp {b}" for a, b in srcv)
  + (" (**differ between VMs**: the tree changed during the run)" if len(srcv) > 1 else "") + " |")
anchor_ko = {}
for part in PARTS[1:]:
    for sect, d in bench_lines(part):
        if sect.endswith("_anchor") and d.get("variant") == "ref" and d.get("rev", "-") != "-":
            REF_REV = d["rev"]
        if sect.endswith("_anchor") and "variant" in d:
            anchor_ko.setdefault(d["variant"], set()).add(
                "missing" if d.get("missing") else f"nf_conntrack_rtsp {d.get('ct_sha1', '?')}, nf_nat_rtsp {d.get('nat_sha1', '?')}")
anchor_warn = [line.split(" ", 2) for line in read("anchor").splitlines() if line.startswith("warning ")]
if anchor_ko:
    warns = sorted({t[2] for t in anchor_warn if len(t) == 3})
    w("| anchor: rtsp-linux 5aeee02, built by `bench/anchor.sh` (sha1 of the .ko in the guest) | "
      + "; ".join(f"**{v}** ({ANCHOR_VARIANTS.get(v, '?') if v != 'ref' else 'ours at ' + REF_REV + ', git archive, same Kbuild'}): " + " / ".join(sorted(k)) for v, k in sorted(anchor_ko.items()))
      + (f"; compiler warnings: " + "; ".join(f"`{x}`" for x in warns) + " (each variant)" if warns else "")
      + " |")
w(f"| source | git {M.get('git', '?')}" + (" + uncommitted changes to the modules" if M.get("git_dirty") == "yes" else "") + " |")
w(f"| single-vCPU VMs | " + (f"`-icount shift={SHIFT},sleep=on`: guest time = executed instructions x {2 ** SHIFT} ns "
                             f"({1000 // 2 ** SHIFT} M instructions per guest second), so figures are repeatable and "
                             "independent of the host's load; absolute rates are those of that virtual CPU"
                             if ICOUNT else "plain TCG (real time)") + " |")
secs = {p: read(p + ".secs").strip() for p in PARTS}
reruns = [line.split("=", 1)[1] for line in read("meta").splitlines() if line.startswith("rerun=")]
if reruns:
    w(f"| parts re-run later | {'; '.join(reruns)} |")
w(f"| wall time | total {M.get('total_secs', '?')} s: " +
  ", ".join(f"{p} {s} s" for p, s in secs.items() if s) + " |")
w("")
if anchor_ko:
    w("### The anchor: rtsp-linux\n")
    w("rtsp-linux ([maru-sama/rtsp-linux](https://github.com/maru-sama/rtsp-linux) at 5aeee02, its last commit, "
      "GPL-2.0, archived) is the RTSP conntrack/NAT helper pair most Linux routers ran before this project "
      "(Tom Marshall's code, ported to later netfilter APIs by Harald Welte, Steven van Acker and others). It is "
      "measured here as a yardstick, in the same VM boots as ours and alternated with ours, no helper and the FTP "
      "yardstick round by round: its modules have our module names and helper name (\"rtsp\"), so the guest swaps "
      "them in between trials (the nft table holding the `ct helper` object is deleted, ours `rmmod`ed, its two "
      "`.ko` files `insmod`ed by path, the same object and rule re-created; and back). Its sources are not part "
      "of this repository: `bench/anchor.sh` copies them from `../shared/anchors/rtsp-linux`, applies the "
      "variant's edits with `sed` and builds them with `make KERNELDIR=` the guest kernel's headers into "
      "`build/bench/anchor/VARIANT/`, in the two variants its users run:\n")
    w("- **lin**: one added `skb_linearize(skb)` at the top of `nf_nat_rtsp()` (`NF_DROP` if it fails). As "
      "published, its NAT half reads the Transport header from the skb's linear area only and rewrites nothing "
      "on paged skbs (any Linux TCP sender); with it, it behaves as on routers whose NICs deliver linear skbs.")
    w("- **lin-any**: lin, and `NULL` instead of `&ct->tuplehash[!dir].tuple.src.u3` (the RTSP server) as the "
      "source of both `nf_ct_expect_init()` calls: media from any host, the patch Movistar users apply "
      "(their MPEG server is not the RTSP server).\n")
    w("Otherwise it runs with its defaults (max_outstanding=8, setup_timeout=300, destaction=auto), ours with its own.\n")

# --- 1. parser -----------------------------------------------------------------
parse_list, parse_time, parse_cg = {}, {}, {}
for line in read("parse.bench").splitlines():
    t = line.split()
    if len(t) < 3:
        continue
    if t[1] == "list":
        parse_list[t[2]] = (int(t[3]), int(t[4]), " ".join(t[5:]))
    elif t[1] == "time":
        parse_time[t[2]] = [float(x) for x in t[7:10]]
    elif t[1] == "callgrind":
        parse_cg[t[2]] = int(t[4]) / int(t[3]) if int(t[3]) else 0

body = []
if parse_list:
    body.append("## 1. Parser cost (userspace, the same `rtsp_parse.c`)\n")
    body.append("Per message: `nf_rtsp_parse_msg()` then `nf_rtsp_transport_next()` over every "
                "transport spec, as the helper does. Built with gcc -O2 (the kernel's level). "
                "Instructions: callgrind, inclusive cost of one call, averaged over "
                f"{read('parse.log').split('count ')[1].split()[1] if 'count ' in read('parse.log') else '?'} calls "
                "(exact and repeatable). Time: median of timed runs of a tight loop with "
                "`clock_gettime`, (fastest–slowest run) — host time, so sensitive to the "
                "host's load (see above).\n")
    body.append("| message | bytes | specs | instructions | instr./byte | ns (median, min–max) |")
    body.append("|---|---:|---:|---:|---:|---|")
    for name, (nbytes, specs, what) in parse_list.items():
        ir = parse_cg.get(name)
        tm = parse_time.get(name)
        body.append(f"| {what} | {nbytes} | {specs} | {fmt(ir, 0)} | "
                    f"{fmt(ir / nbytes if ir else None, 1)} | "
                    + (f"{tm[0]:,.0f} ({tm[1]:,.0f}–{tm[2]:,.0f})" if tm else "n/a") + " |")
    body.append("")
    if "movistar_setup" in parse_cg:
        summary.append(("Parser, Movistar SETUP", f"{parse_cg['movistar_setup']:,.0f} instructions, "
                        f"{parse_time.get('movistar_setup', [float('nan')])[0]:,.0f} ns", "—"))
    if "get_parameter" in parse_cg:
        summary.append(("Parser, GET_PARAMETER keep-alive", f"{parse_cg['get_parameter']:,.0f} instructions", "—"))

# --- 2. media --------------------------------------------------------------------
med_lines = [d for s, d in bench_lines("media") if s == "media_trial"]
check = [d for s, d in bench_lines("media") if s == "media_check"]
reach = [d for s, d in bench_lines("media") if s == "media_reach"]
media_anchor_vs = [d["variant"] for s, d in bench_lines("media") if s == "media_anchor" and not d.get("missing")]
if med_lines:
    by = {"helper": {}, "dnat": {}}
    for d in med_lines:
        by.setdefault(d["mode"], {})[d["round"]] = d
    rounds = sorted(set(by["helper"]) & set(by["dnat"]), key=int)
    amodes = [m for m in anchor_modes(by) if all(r in by[m] for r in rounds)]
    modes = ["helper", "dnat"] + amodes
    pps = {m: [num(by[m][r]["pps"]) for r in rounds] for m in modes}
    mb = {m: [num(by[m][r]["mbit_s"]) for r in rounds] for m in modes}
    lost = {m: sum(int(by[m][r].get("sent_sent", 0)) - int(by[m][r].get("packets", 0)) for r in rounds) for m in modes}
    r_med, r_txt = ratio_stats([(num(by["helper"][r]["pps"]), num(by["dnat"][r]["pps"])) for r in rounds])
    size = med_lines[0].get("size", "?")
    body.append("## 2. Media path (VM): expected flow vs static port forward\n")
    body.append(f"One UDP flow of {size}-byte datagrams (7 x 188 MPEG-TS) from the MPEG server "
                "(172.26.83.137) to the decoder through the NAT router, sent as fast as the sender can, "
                "counted and timed at the decoder. **helper**: the flow is admitted by the expectation "
                "of a live RTSP session (SETUP through the helper, masquerade). **dnat**: the same "
                "traffic to another port, let in by a static port forward (`nft ... udp dport 27338 "
                "dnat to 192.168.1.200:27338` and `ct status dnat accept`), no helper rule. "
                + ("**rtsp-linux (VARIANT)**: the anchor (see above) in place of ours, with a session of its own "
                   "set up while it was loaded (client_port 27340, 27342, ...), the stream sent from the MPEG server, "
                   "or, if nothing of a first burst from there arrived, from the RTSP server's host (172.26.22.10), "
                   "the only source the plain variant's expectation admits; a variant that got nothing from either "
                   "has no column. Each mode ran with its own helper pair loaded (the modules swapped between trials). "
                   if reach or amodes or media_anchor_vs else "")
                + f"Alternated in one VM, {len(rounds)} rounds, after one warm-up of each.\n")
    if check:
        body.append(f"Expected media conntrack carries a helper: **{check[0].get('expected_flow_has_helper', '?')}** "
                    "(checked with `conntrack -L`): the helper is not on the media path.\n")
    reach_summary = []
    if reach:
        body.append("The anchor's stream, first burst after its SETUP (datagrams received / sent):\n")
        body.append("| variant | from the MPEG server (172.26.83.137) | from the RTSP server's host (172.26.22.10) | router port the VoD server saw (client_port asked) |")
        body.append("|---|---|---|---|")
        for v in sorted({d["variant"] for d in reach}, key=lambda v: list(ANCHOR_VARIANTS).index(v) if v in ANCHOR_VARIANTS else 99):
            ds = {d["from"]: d for d in reach if d["variant"] == v}

            def rc(f):
                d = ds.get(f)
                return f"{d.get('received', '?')} / {d.get('sent', '?')}" if d else "not tried (the MPEG server's got through)"
            any_d = next(iter(ds.values()))
            body.append(f"| {mode_label('anchor-' + v)} | {rc('mpeg')} | {rc('vod')} | "
                        f"{any_d.get('wan_port', '?')} ({any_d.get('client_port', '?')}) |")
            mp = ds.get("mpeg", {})
            reach_summary.append((f"… anchor {mode_label('anchor-' + v)}: first burst from the MPEG server "
                                  "(not the RTSP server) through its expectation",
                                  f"{mp.get('received', '?')} / {mp.get('sent', '?')} datagrams", "—"))
        body.append("")
    hdr = {"helper": "helper (expectation)", "dnat": "dnat (port forward)"}
    cols = [hdr.get(m, mode_label(m) + " (expectation, from " +
                    ("the RTSP server's host" if by[m][rounds[0]].get("from") == "vod" else "the MPEG server") + ")")
            for m in modes] if rounds else []
    body.append("| | " + " | ".join(cols) + " |\n|---|" + "---|" * len(modes))
    body.append("| packets/s, median (min–max) | " + " | ".join(spread(pps[m]) for m in modes) + " |")
    body.append("| Mbit/s, median (min–max) | " + " | ".join(spread(mb[m], 2) for m in modes) + " |")
    body.append("| sent but not received (all rounds) | " + " | ".join(str(lost[m]) for m in modes) + " |")
    body.append(f"| **ratio to dnat, packets/s** | " + " | ".join(
        ratio_stats([(num(by[m][r]["pps"]), num(by["dnat"][r]["pps"])) for r in rounds])[1] if m != "dnat" else ""
        for m in modes) + " |")
    body.append("")
    summary.append(("Media path: expected flow / static DNAT, packets/s", f"**{r_med:.3f}**" if r_med else "n/a", ">= 0.98"))
    for m in amodes:
        a_med = ratio_stats([(num(by[m][r]["pps"]), num(by["dnat"][r]["pps"])) for r in rounds])[0]
        summary.append((f"… anchor {mode_label(m)} / static DNAT, packets/s"
                        + (" (sent from the RTSP server's host)" if by[m][rounds[0]].get("from") == "vod" else ""),
                        f"{a_med:.3f}" if a_med else "n/a", "—"))
    summary += reach_summary

# --- 3. control -----------------------------------------------------------------


def control_table(part, label, title, intro):
    lines = [d for s, d in bench_lines(part) if s == label + "_trial"]
    if not lines:
        return []
    res = []
    smps = sorted({d["smp"] for d in lines}, key=int)
    seqs = []
    for d in lines:
        if d["seq"] not in seqs:
            seqs.append(d["seq"])
    res.append(title)
    res.append(intro)
    res.append("| vCPUs | requests per connection | mode | connections/s, median (min–max) | requests/s | "
               "guest CPU µs/conn | of which kernel | vCPU idle | expectations/conn | TCP retransmits | errors |")
    res.append("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for smp in smps:
        for seq in seqs:
            by = {"helper": {}, "none": {}, "ftp": {}}
            for d in lines:
                if d["smp"] == smp and d["seq"] == seq:
                    by.setdefault(d["mode"], {})[d["round"]] = d
            rounds = sorted(set(by["helper"]) & set(by["none"]), key=int)
            modes = ["helper", "none"]
            if rounds and all(r in by["ftp"] for r in rounds):
                modes.append("ftp")
            amodes = [m for m in anchor_modes(by) if rounds and all(r in by[m] for r in rounds)]
            modes += amodes
            for mode in modes:
                ds = [by[mode][r] for r in rounds]
                res.append(f"| {smp} | {seq} | {mode_label(mode)} | {spread([num(d['conn_per_s']) for d in ds])} | "
                           f"{fmt(med([num(d['req_per_s']) for d in ds]))} | "
                           f"{fmt(med([num(d['busy_us_per_conn']) for d in ds]), 0)} | "
                           f"{fmt(med([num(d['sys_us_per_conn']) for d in ds]), 0)} | "
                           + (f"{fmt(med([num(d['idle_pct']) for d in ds]), 1)}% | " if all('idle_pct' in d for d in ds) else "n/a | ")
                           + f"{fmt(med([num(d['expect_per_conn']) for d in ds]), 2)} | "
                           + (f"{sum(int(d['tcp_retrans']) for d in ds)} | " if all('tcp_retrans' in d for d in ds) else "n/a | ")
                           + f"{sum(int(d.get('errors', 0)) for d in ds)} |")
            ratios[(smp, seq)] = (ratio_stats([(num(by["helper"][r]["conn_per_s"]), num(by["none"][r]["conn_per_s"]))
                                               for r in rounds]),
                                  med([num(by["helper"][r]["conn_per_s"]) for r in rounds]),
                                  med([num(by["none"][r]["conn_per_s"]) for r in rounds]),
                                  med([num(by["helper"][r]["busy_us_per_conn"]) for r in rounds]),
                                  med([num(by["none"][r]["busy_us_per_conn"]) for r in rounds]),
                                  ratio_stats([(num(by["ftp"][r]["conn_per_s"]), num(by["none"][r]["conn_per_s"]))
                                               for r in rounds]) if "ftp" in modes else None,
                                  {m: (ratio_stats([(num(by[m][r]["conn_per_s"]), num(by["none"][r]["conn_per_s"]))
                                                    for r in rounds]),
                                       med([num(by[m][r]["conn_per_s"]) for r in rounds]))
                                   for m in amodes},
                                  # ours now / ours at BENCH_REF, round by round
                                  ratio_stats([(num(by["helper"][r]["conn_per_s"]),
                                                num(by["anchor-ref"][r]["conn_per_s"])) for r in rounds])
                                  if "anchor-ref" in amodes else None)
    res.append("")
    return res, ratios


ctl = control_table(
    "control", "control", "## 3. Control path (VM): helper attached vs no helper rule\n",
    "Many short RTSP connections from the decoder (192.168.1.200) to the VoD server through the NAT "
    "router: each connects, sends the requests in turn (SETUP with `Transport: MP2T/H2221/UDP;unicast;"
    "client_port=N`, N different per connection; later requests with the Session), waits for each "
    "200, and closes. C client (epoll, 8 connections in flight) and C responder, so neither is the "
    "bottleneck; everything (client, router, server) shares the VM's one vCPU, so connections/s is "
    "the inverse of the whole system's cost per connection, and the helper's share shows as the "
    "difference. **helper**: `tcp dport 554 ct helper set \"rtsp-helper\"`; **none**: the same "
    "ruleset with that rule flushed; **ftp** (when present): the kernel's own FTP helper "
    "(`nf_conntrack_ftp`) attached by the same rule to the same RTSP traffic, where it reads every "
    "segment and finds nothing to expect: a yardstick for what attaching any helper costs, before "
    "any expectation or NAT rewrite. **rtsp-linux (VARIANT)** (when present): the anchor (see above) "
    "swapped in for ours and attached by the same rule: the same work as ours (an expectation per "
    "SETUP, the NAT rewrite of client_port). Alternated in one VM, after one warm-up of each. "
    "Guest CPU µs per connection from /proc/stat (busy, and system+softirq); with icount one guest "
    f"µs is {1000 // 2 ** SHIFT} instructions.\n")
if ctl:
    rows, ratios = ctl
    body += rows
    have_ftp = any(v[5] for v in ratios.values())
    all_am = anchor_modes({m for v in ratios.values() for m in v[6]})

    def extra(c, cn):
        """guest µs (and instructions) per connection over none"""
        e = (1e6 / c - 1e6 / cn) if c and cn else None
        instr = f", ~{e * 1000 / 2 ** SHIFT / 1000:,.0f} k instructions" if ICOUNT and e else ""
        return f"{fmt(e, 0)} guest µs{instr}"
    body.append("| requests per connection | **ratio helper/none, connections/s** | helper's extra cost per connection |"
                + (" yardstick: kernel's FTP helper/none |" if have_ftp else "")
                + "".join(f" anchor: {mode_label(m)}/none | its extra cost per connection |" for m in all_am))
    body.append("|---|---|---|" + ("---|" if have_ftp else "") + "---|---|" * len(all_am))
    for (smp, seq), ((r_med, r_txt), ch, cn, bh, bn, ftp, anc, vs_ref) in ratios.items():
        body.append(f"| {seq} | {r_txt} | {extra(ch, cn)} |"
                    + (f" {ftp[1]} |" if have_ftp and ftp else (" n/a |" if have_ftp else ""))
                    + "".join(f" {anc[m][0][1]} | {extra(anc[m][1], cn)} |" if m in anc else " n/a | n/a |"
                              for m in all_am))
        summary.append((f"Control path: helper / no helper, connections/s ({seq})",
                        f"**{r_med:.3f}**" if r_med else "n/a", ">= 0.98"))
        if vs_ref and vs_ref[0]:
            summary.append((f"… this tree / ours at {REF_REV}, connections/s, same run ({seq})",
                            f"**{vs_ref[0]:.3f}** (rounds {vs_ref[1].split('rounds ', 1)[-1]}", ">= 1.00"))
        if ftp and ftp[0]:
            summary.append((f"… yardstick, the kernel's FTP helper on the same traffic ({seq})",
                            f"{ftp[0]:.3f}", "—"))
        for m in all_am:
            if m in anc and anc[m][0][0]:
                summary.append((f"… anchor, {mode_label(m)} / no helper, same run ({seq})",
                                f"{anc[m][0][0]:.3f}", "—"))
    body.append("")

# --- 4. scale --------------------------------------------------------------------
sc = bench_lines("scale")
if sc:
    setup = {d["phase"]: d for s, d in sc if s == "scale_setup"}
    media = {d["phase"]: d for s, d in sc if s == "scale_media"}
    tear = {d["phase"]: d for s, d in sc if s == "scale_teardown"}
    same = [d for s, d in sc if s == "scale_sameport"]
    slab = {}
    for s, d in sc:
        if s == "scale_slab":
            slab[(d["phase"], d["point"], d["cache"])] = (int(d["objs"]), int(d["bytes"]), int(d["objsize"]))
    n = int(setup.get("helper", setup.get("none", {})).get("sessions", "0") or 0)
    body.append(f"## 4. Scale (VM): {n} decoders with a live session each\n")
    body.append(f"{n} decoder addresses (192.168.16.2 on, one namespace, each session's sockets bound to its own "
                "address) each do SETUP + PLAY through the NAT router and keep the session; "
                + ("each asks a different client_port (20000 + 2i). " if "-U" in setup.get("helper", {}).get("ports", "-U")
                   else "all ask client_port=27336. ")
                + f"Once all are set up, the MPEG server sends {media.get('helper', {}).get('sent_sent', '?')} datagrams, "
                "the same number to every (address, port) the VoD server saw in the SETUPs, and every decoder counts "
                "its own. **none** is the same run with no helper rule (no stream can pass: the baseline for memory); "
                "**helper** with the rule. Memory: `/proc/slabinfo` after `shrink` of every cache (exact counts), "
                "booted with `slab_nomerge`, before the sessions, with all of them set up (expectations pending), "
                "after the media (expectations used, flows live) and after TEARDOWN; the table gives bytes per session.\n")
    body.append("| | none | helper |\n|---|---|---|")
    for key, lab in (("ok", "sessions set up (200 to SETUP and PLAY)"), ("secs", "total setup time, s"),
                     ("per_s", "sessions set up per second")):
        body.append(f"| {lab} | {setup.get('none', {}).get(key, 'n/a')} | {setup.get('helper', {}).get(key, 'n/a')} |")
    body.append(f"| expectations with all set up | {setup.get('none', {}).get('expectations', 'n/a')} | "
                f"{setup.get('helper', {}).get('expectations', 'n/a')} |")
    for key, lab in (("full", "sessions that got all their datagrams"), ("partial", "… some"), ("none", "… none"),
                     ("datagrams", "datagrams received / sent")):
        def cell(ph):
            d = media.get(ph, {})
            if key == "datagrams":
                return f"{d.get('datagrams', 'n/a')} / {d.get('sent_sent', 'n/a')}"
            return d.get(key, "n/a")
        body.append(f"| {lab} | {cell('none')} | {cell('helper')} |")
    body.append(f"| TEARDOWN answered; expectations left | {tear.get('none', {}).get('ok', 'n/a')}; "
                f"{tear.get('none', {}).get('expectations_left', 'n/a')} | {tear.get('helper', {}).get('ok', 'n/a')}; "
                f"{tear.get('helper', {}).get('expectations_left', 'n/a')} |")
    body.append("")
    if n:
        caches = sorted({c for (_, _, c) in slab if c != "TOTAL"},
                        key=lambda c: (not c.startswith("nf_"), not c.startswith("kmalloc"), c))
        body.append("Kernel memory, bytes per session (slab delta / sessions); "
                    "\"helper − none\" is what the helper adds:\n")
        body.append("| cache (object size) | none, set up | helper, set up | **helper − none** | helper, media flowing | helper, after TEARDOWN and close |")
        body.append("|---|---:|---:|---:|---:|---:|")

        def b(ph, pt, c):
            v = slab.get((ph, pt, c))
            return v[1] / n if v else 0.0
        for c in caches + ["TOTAL"]:
            vals = [b("none", "setup", c), b("helper", "setup", c), b("helper", "media", c), b("helper", "teardown", c)]
            diff = vals[1] - vals[0]
            interesting = c.startswith("nf_conntrack") or c == "TOTAL" or abs(diff) >= 8 or \
                (c.startswith("kmalloc") and any(abs(v) >= 8 for v in vals))
            if not interesting:
                continue
            osz = next((v[2] for k, v in slab.items() if k[2] == c), 0)
            name = f"{c} ({osz})" if c != "TOTAL" else "**all caches**"
            body.append(f"| {name} | {vals[0]:,.0f} | {vals[1]:,.0f} | **{diff:,.0f}** | {vals[2]:,.0f} | {vals[3]:,.0f} |")
        body.append("")
        body.append("After TEARDOWN the decoders close their connections: the control conntracks (and the "
                    "helper's per-connection state, which lives as long as its conntrack) stay until TIME_WAIT "
                    "ends (120 s); the expectations and media flows are gone.\n")
        tot = b("helper", "setup", "TOTAL") - b("none", "setup", "TOTAL")
        ours = sum(b("helper", "setup", c) - b("none", "setup", c)
                   for c in ("nf_conntrack_expect", "kmalloc-512", "kmalloc-1k", "kmalloc-2k"))
        summary.append((f"Scale: {n} sessions at once, got their stream",
                        f"{media.get('helper', {}).get('full', '?')} / {n}, setup {setup.get('helper', {}).get('secs', '?')} s "
                        f"(guest time)", "all"))
        summary.append(("Scale: kernel memory the helper adds per session (slab, set up)",
                        f"{tot:,.0f} B (nf_conntrack_expect + kmalloc-512/1k/2k: {ours:,.0f} B)", "~0.5 KiB + expectation"))
    same_media = {d.get("mode", "helper"): d for s, d in sc if s == "scale_sameport_media"}
    if len(same) == 1 and "mode" not in same[0] and not same_media:
        d = same[0]
        body.append(f"Same client port: {d.get('sessions')} decoders all asking client_port=27336 at once, with the "
                    f"helper: {d.get('ok')} set up, {d.get('failed')} not (no reply within 3 s); the VoD server saw "
                    f"{d.get('distinct_wan_ports')} distinct router ports.\n")
        summary.append(("Scale: decoders asking the same client_port at once, set up",
                        f"{d.get('ok')} / {d.get('sessions')}", "—"))
    elif same:
        k = next((d.get("sent_sent") for d in same_media.values() if d.get("sent_sent")), "?")
        body.append(f"Same client port: {same[0].get('sessions')} decoders (addresses as above) all asking "
                    "client_port=27336 at once, as Movistar boxes do, set up (no reply within 3 s: failed); "
                    "then the MPEG server sends the same number of datagrams to every router port the VoD "
                    "server saw in the SETUPs, and each decoder counts its own. With our helper and, swapped in "
                    "for it in the same VM, each anchor variant:\n")
        body.append("| | set up | distinct router ports the VoD server saw | got all their datagrams | … some | … none | datagrams received / sent |")
        body.append("|---|---|---|---|---|---|---|")
        for d in same:
            m = d.get("mode", "helper")
            md = same_media.get(m, {})
            body.append(f"| {mode_label(m)} | {d.get('ok')} / {d.get('sessions')} | {d.get('distinct_wan_ports')} | "
                        f"{md.get('full', 'n/a')} | {md.get('partial', 'n/a')} | {md.get('none', 'n/a')} | "
                        f"{md.get('datagrams', 'n/a')} / {md.get('sent_sent', 'n/a')} |")
            lab = "Scale: decoders asking the same client_port at once, set up; got their stream" if m == "helper" \
                else f"… anchor {mode_label(m)}"
            summary.append((lab, f"{d.get('ok')} / {d.get('sessions')}; {md.get('full', '?')} / {d.get('sessions')}", "—"))
        body.append("")

# --- 5. parallel -------------------------------------------------------------------
LOCKS = ("By construction the helper's own state is per connection (a spinlock in its per-connection "
         "struct); max_per_host's index of client hosts has a lock per bucket, taken when a connection "
         "starts or stops holding expectations; the one global lock on its path is the kernel's "
         "(`nf_conntrack_expect_lock` when an expectation is added or removed, as for every helper).")
par = control_table(
    "parallel", "parallel", "## 5. Parallelism (VMs): several decoders at once, 1 vs 2 vCPUs\n",
    "The control-path test with several decoders (one client thread and source address each) sending "
    "SETUP/TEARDOWN connections at once, the responder with one thread per vCPU, in a VM with 1 vCPU and "
    "in one with 2 (`tests/e2e/run --smp 1|2`; 2 vCPUs run as 2 host threads, multi-threaded TCG). "
    "Real time (no icount: it cannot run multi-threaded), so these figures move with the host's load; "
    "helper and none alternate in each VM.\n")
if par:
    rows, ratios = par
    body += rows
    sm = {}
    for (smp, seq), (_, ch, cn, *_rest) in ratios.items():
        sm[smp] = (ch, cn)
    if "1" in sm and "2" in sm:
        sh = sm["2"][0] / sm["1"][0] if sm["1"][0] else None
        sn = sm["2"][1] / sm["1"][1] if sm["1"][1] else None
        body.append("| | helper | none |\n|---|---|---|")
        body.append(f"| **speed-up 2 vCPUs / 1 vCPU** (median connections/s) | **{fmt(sh, 2)}** | {fmt(sn, 2)} |")
        body.append("")
        summary.append(("Parallelism: speed-up 1 → 2 vCPUs, helper (none)", f"**{fmt(sh, 2)}** ({fmt(sn, 2)})",
                        "like none"))
        if sh and sn and max(sh, sn) < 1.2:
            body.append("The 2-vCPU VM was not faster than the 1-vCPU one, with or without the helper: its two "
                        "vCPU threads competed with the other jobs on the host's 2 CPUs (load average above), "
                        "and multi-threaded TCG adds its own cost. These figures therefore do not show how the "
                        "helper scales; they need an idle host (or KVM). What they do show: helper and none "
                        "moved together in both VMs. " + LOCKS + "\n")
        elif sh and sn:
            verdict = ("within 10% of each other: the helper adds no serialization of its own"
                       if sh >= 0.9 * sn else
                       "less with the helper: look for a lock it serializes on")
            body.append(f"With 2 vCPUs the connections/s grew {sh:.2f}x with the helper and {sn:.2f}x without "
                        f"one, {verdict}. " + LOCKS + "\n")
    for (smp, seq), ((r_med, r_txt), *_rest) in ratios.items():
        body.append(f"- {smp} vCPU(s): ratio helper/none {r_txt}")
    body.append("")

# --- 6. profile (optional) ---------------------------------------------------------
prof = [line.split() for line in read("profile.bench").splitlines() if line.startswith("PROFILE ")]
if prof:
    body.append("## 6. Kernel profile of the control path (VM)\n")
    body.append("`perf record -e cpu-clock -a` in the guest during the SETUP/TEARDOWN connection load of "
                "section 3, with the helper and without; under icount the samples are proportional to "
                "instructions. Share of all samples by module (kernel = everything built in), and the "
                "functions of our two modules.\n")
    tot = {}
    dso = {}
    ours = {}
    for t in prof:
        mode = t[1]
        if t[2].startswith("samples="):
            tot[mode] = (int(float(t[2].split("=")[1] or 0)), int(t[3].split("=")[1] or 1))
        elif t[2].startswith("idle_pct="):
            dso.setdefault("(idle: the vCPU had nothing to run)", {})[mode] = float(t[2].split("=")[1])
        elif t[2] == "dso":
            dso.setdefault(t[4], {})[mode] = float(t[3].rstrip("%"))
        elif t[2] == "ours":
            ours.setdefault(" ".join(t[5:]), {})[mode] = float(t[3].rstrip("%"))
    if tot:
        body.append("| | helper | none |\n|---|---:|---:|")
        body.append("| samples per connection | " + " | ".join(
            f"{tot[m][0] / tot[m][1]:.2f}" if m in tot else "n/a" for m in ("helper", "none")) + " |")
        for name, v in sorted(dso.items(), key=lambda kv: -kv[1].get("helper", 0)):
            body.append(f"| {name} | {v.get('helper', 0):.2f}% | {v.get('none', 0):.2f}% |")
        body.append("")
    if ours:
        body.append("Our functions and the netfilter functions that only helpers use "
                    "(share of all samples):\n")
        body.append("| function | helper | none |\n|---|---:|---:|")
        for name, v in sorted(ours.items(), key=lambda kv: -kv[1].get("helper", 0)):
            body.append(f"| `{name}` | {v.get('helper', 0):.2f}% | {v.get('none', 0):.2f}% |")
        body.append(f"| **sum** | {sum(v.get('helper', 0) for v in ours.values()):.2f}% | "
                    f"{sum(v.get('none', 0) for v in ours.values()):.2f}% |")
        body.append("")
        body.append("`rtsp_walk_specs` includes what the compiler inlined into it: `rtsp_host_expectations` "
                    "(max_per_host: the live expectations of the client's own indexed connections; until "
                    "dfcb880 it was a walk of the whole expectation hash table on each SETUP, 3.2% of all "
                    "samples), `rtsp_expect_spec` and `rtsp_media_add`. The `rtspp_*` functions, "
                    "`nf_rtsp_parse_msg` and `nf_rtsp_transport_next` are the parser.\n")

# --- 7. cost (optional) --------------------------------------------------------------
cost = [line.split() for line in read("cost.bench").splitlines() if line.startswith("COST ")]
if cost:
    per = {}     # (seq, mode, round) -> {"fn": {f: (calls, ns)}, "nested": {...}, "conns": n}
    for t in cost:
        if len(t) > 1 and t[1] == "calib":
            continue
        kv = dict(x.split("=", 1) for x in t[1:] if "=" in x)
        key = (kv.get("seq"), kv.get("mode"), kv.get("round"))
        d = per.setdefault(key, {"fn": {}, "nested": {}, "conns": 0})
        if "total" in t:
            d["conns"] = int(kv.get("conns", 0) or 0)
            d["errors"] = int(kv.get("errors", 0) or 0)
        elif "fn" in kv:
            d["fn"][kv["fn"]] = (int(kv["calls"]), float(kv["ns"]))
        elif "nested" in kv:
            d["nested"][kv["nested"]] = (int(kv["calls"]), float(kv["ns"]))
    ipn = 2 ** SHIFT    # ns per instruction under icount

    calib = [dict(x.split("=", 1) for x in t[2:] if "=" in x) for t in cost if len(t) > 1 and t[1] == "calib"]
    tracer = num(calib[0].get("median_ns")) / ipn if calib else 0
    # The kernel's conntrack free, where the other pairs leave it outside
    # (a traced call of its own): instructions per call.
    frees = [v["fn"]["nf_conntrack_free"] for k, v in per.items()
             if k[1] != "helper" and k[2] != "plain" and "nf_conntrack_free" in v["fn"]]
    ct_free = med([n_ / ipn / c - tracer for c, n_ in frees if c]) if frees else None

    def ours_rcu(seq, d):
        """Our RCU callback per connection without the conntrack frees in
        it: its time in the "plain" trial (the free not traced, so no
        tracer's cost of a call within it), less the frees it ran (counted
        in the round @d) at the others' cost per free."""
        pl = per.get((seq, "helper", "plain"))
        if not pl or not pl["conns"] or ct_free is None or "rtsp_conn_free_rcu" not in pl["fn"]:
            return None
        c, n_ = pl["fn"]["rtsp_conn_free_rcu"]
        nested = d["nested"].get("nf_conntrack_free", (0, 0))[0] / d["conns"]
        return (n_ / ipn - tracer * c) / pl["conns"] - nested * ct_free

    def own(seq, d):
        """The pair's instructions per connection: its entry points' own
        time (cost.sh's report takes the traced calls within a call out
        of it), less the tracer's own cost per traced call; our RCU
        callback from ours_rcu()."""
        if not d["conns"]:
            return None, None, None
        rcu = ours_rcu(seq, d) if "rtsp_conn_free_rcu" in d["fn"] and \
            d["nested"].get("nf_conntrack_free") else None
        skip = {"nf_conntrack_free"} | ({"rtsp_conn_free_rcu"} if rcu is not None else set())
        ns = sum(v[1] for f, v in d["fn"].items() if f not in skip)
        traced = sum(v[0] for f, v in d["fn"].items() if f not in skip)
        calls = sum(v[0] for f, v in d["fn"].items() if f != "nf_conntrack_free")
        hc, hns = d["fn"].get("rtsp_help", d["fn"].get("help", (0, 0)))
        total = (ns / ipn - tracer * traced) / d["conns"] + (rcu or 0)
        return total, calls / d["conns"], (hns / ipn - tracer * hc) / d["conns"]

    seqs = []
    modes = []
    for (seq, mode, r_) in per:
        if r_ == "plain":
            continue
        if seq not in seqs:
            seqs.append(seq)
        if mode not in modes:
            modes.append(mode)
    modes.sort(key=lambda m: (m != "helper", m))
    body.append("## 7. The helper's own cost on the control path, counted (VM)\n")
    body.append("Instructions the kernel spends inside the helper pair per RTSP connection, counted "
                "rather than sampled: the connection load of section 3 runs with the `function_graph` "
                "tracer on the pair's entry points only (the help and destroy callbacks, its work items "
                "and RCU callbacks, the expectation callbacks; rtsp-linux: its help callback), so that "
                "the functions they call, the parser, the NAT planner and the kernel's expectation and "
                "slab code among them, count in their callers' durations and are not traced themselves. "
                f"Under icount a duration is executed instructions ({ipn} ns each), without the time the "
                "task was scheduled out. Each traced call also carries the tracer's own cost, taken off "
                + (f"here: {tracer:,.0f} instructions per call, the duration the tracer gives "
                   "`__rcu_read_lock()` (two instructions) in the same VM. "
                   if tracer else "nowhere (no calibration in this run). ")
                + "Our state holds a reference to its conntrack, so the conntrack may be freed inside our RCU "
                "callback when that reference is the last; the other pairs leave that free to the kernel, "
                "outside the pair. So `nf_conntrack_free` is traced too: it counts our callback's frees and "
                "gives the others' cost per free"
                + (f" ({ct_free:,.0f} instructions)" if ct_free is not None else "")
                + "; our callback's own cost is its time in one more trial of ours with the free not traced "
                "(a traced call within it would add the tracer's cost to it), less those frees at that cost. "
                "What else the last reference frees stays in ours. "
                "Alternated in one VM: median of the rounds (min–max).\n")
    errs = sum(v.get("errors", 0) for v in per.values())
    if errs:
        body.append(f"**{errs} connection(s) failed in these trials** (rtspcli errors=): the figures are per "
                    "completed connection.\n")
    ref_i = {}
    for seq in seqs:
        body.append(f"**{seq}**\n")
        body.append("| pair | traced calls per connection | instructions per connection | of which the help callback | / ours at REF |\n|---|---:|---:|---:|---:|")
        vals = {}
        for mode in modes:
            xs = [own(seq, per[k]) for k in per if k[0] == seq and k[1] == mode and k[2] != "plain"]
            xs = [x for x in xs if x[0] is not None]
            if xs:
                vals[mode] = ([x[0] for x in xs], med([x[1] for x in xs]), [x[2] for x in xs])
        base = med(vals["anchor-ref"][0]) if "anchor-ref" in vals else None
        for mode, (ins, calls, helps) in vals.items():
            r = f"{med(ins) / base:.3f}" if base else "n/a"
            name = "ours (this tree)" if mode == "helper" else mode_label(mode)
            body.append(f"| {name} | {calls:.1f} | {spread(ins, 0)} | {spread(helps, 0)} | {r} |")
        body.append("")
        if base and "helper" in vals:
            ref_i[seq] = (med(vals["helper"][0]), base, len(vals["helper"][0]))
    for seq, (a, b_, n) in ref_i.items():
        summary.append((f"… the helper pair's own instructions per connection, counted, this tree / ours at {REF_REV} ({seq})",
                        f"**{a / b_:.3f}** ({a:,.0f} / {b_:,.0f}, {a - b_:+,.0f} per connection, n={n})",
                        "<= 1.00"))

# --- assemble -----------------------------------------------------------------------
w("## Summary\n")
w("| measure | result | goal |\n|---|---|---|")
for a, b_, c in summary:
    w(f"| {a} | {b_} | {c} |")
w("")
out += body

w("## Commands\n")
w("Everything above came from `make bench` (= `bench/run.sh`, after `make bench-build`), which ran:\n")
w("```")
for part in PARTS:
    c = read(part + ".cmd").strip()
    if c:
        w(c)
w("```\n")
w(f"Parameters: `{M.get('params', '').strip() or '(defaults)'}`\n")

w("## Raw figures\n")
w("The `BENCH` lines of each VM (guest scripts in `bench/guest/`) and the parser runs; "
  "the full logs are in `build/bench/logs/`.\n")
w("```")
for part in PARTS:
    r = read(part + ".bench").strip()
    if r:
        w(r)
w("```")

print("\n".join(out))
