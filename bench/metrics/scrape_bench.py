#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What a Prometheus scrape costs the main loop (issue #14): hadirector with N real servers,
each with a tcp check a second (dataplane = "none": no IPVS needed), its metrics endpoint
scraped every `--every` seconds for `--seconds`. Printed: the response size and series
count, the main loop's time to build each response and its longest slice (the gauges
hadirector_metrics_last_render_seconds and _slice_max_seconds, read from the next scrape's
text), the scrape's wall time as curl saw it, and the checks' start lateness
(status: checkers.scheduler late_*) of a run without scrapes beside one with them.
Asserts nothing.

usage: scrape_bench.py [--servers 10000] [--seconds 30] [--every 1] [--hadirector PATH]"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from check_load import check_load_toml  # noqa: E402

PORT = 19406


def status(hd, sock):
    out = subprocess.run([hd, "status", "--json", "--socket", sock], capture_output=True,
                         text=True, timeout=10).stdout
    return json.loads(out)


def run(hd, servers, seconds, every, scrape):
    tmp = tempfile.mkdtemp(prefix="hd-scrape-")
    sock = os.path.join(tmp, "c.sock")
    cfg = os.path.join(tmp, "c.toml")
    with open(cfg, "w") as f:
        f.write('[global]\ncontrol_socket = "%s"\nruntime_dir = "%s"\ndataplane = "none"\n'
                'metrics = { listen = "127.0.0.1:%d" }\n\n' % (sock, tmp, PORT))
        f.write(check_load_toml(servers, probe="connect"))
    log = open(os.path.join(tmp, "log"), "w")
    p = subprocess.Popen([hd, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.time() + 20
        while time.time() < end:
            try:
                status(hd, sock)
                break
            except (ValueError, subprocess.SubprocessError):
                time.sleep(0.2)
        time.sleep(3)  # the checks' first-run spread (one interval) is over
        renders, slices, turns, walls, size, series = [], [], [], [], 0, 0
        before = status(hd, sock)["checkers"]["scheduler"]
        t_end = time.time() + seconds
        while time.time() < t_end:
            if scrape:
                t0 = time.time()
                r = subprocess.run(["curl", "-s", "--max-time", "10",
                                    "http://127.0.0.1:%d/metrics" % PORT],
                                   capture_output=True)
                walls.append(1e3 * (time.time() - t0))
                size = len(r.stdout)
                series = sum(1 for l in r.stdout.split(b"\n") if l and not l.startswith(b"#"))
                # The previous scrape's figures, from this one's text: asking status instead
                # would cost the main loop a 3.7 MB JSON render and blur the lateness.
                for line in r.stdout.split(b"\n"):
                    if line.startswith(b"hadirector_metrics_last_render_seconds "):
                        renders.append(1e3 * float(line.split()[1]))
                    elif line.startswith(b"hadirector_metrics_last_render_slice_max_seconds "):
                        slices.append(1e3 * float(line.split()[1]))
            time.sleep(every)
        st = status(hd, sock)
        after = st["checkers"]["scheduler"]
        if scrape and st.get("metrics"):
            turns.append(st["metrics"]["last_render_turns"])
        return {"renders_ms": renders, "slices_ms": slices, "turns": turns,
                "walls_ms": walls, "bytes": size, "series": series,
                "late_p99_ms": after["late_p99_ms"], "late_max_ms": after["late_max_ms"],
                "probes": after["probes"] - before["probes"]}
    finally:
        p.terminate()
        p.wait(10)
        os.system("grep STEP %s/log | sort | uniq -c | sort -rn | head -5 >&2" % tmp) if os.environ.get("HD_STEPS") else None
        shutil.rmtree(tmp, ignore_errors=True)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--hadirector", default=os.path.join(HERE, "..", "..", "build", "sbin",
                                                         "hadirector"))
    a = ap.parse_args()
    hd = os.path.abspath(a.hadirector)
    quiet = run(hd, a.servers, a.seconds, a.every, scrape=False)
    loud = run(hd, a.servers, a.seconds, a.every, scrape=True)
    print("%d real servers with a tcp check a second, %d s per run, a scrape every %g s"
          % (a.servers, a.seconds, a.every))
    print("response: %d bytes, %d series" % (loud["bytes"], loud["series"]))
    print("main-loop time per scrape (render): p50 %.1f ms, max %.1f ms over %d scrapes"
          % (pct(loud["renders_ms"], 0.5), max(loud["renders_ms"], default=0),
             len(loud["renders_ms"])))
    print("longest main-loop slice of a scrape: p50 %.1f ms, max %.1f ms (the last in %d slices)"
          % (pct(loud["slices_ms"], 0.5), max(loud["slices_ms"], default=0),
             max(loud["turns"], default=0)))
    print("scrape wall time (curl): p50 %.1f ms, max %.1f ms"
          % (pct(loud["walls_ms"], 0.5), max(loud["walls_ms"], default=0)))
    print("check start lateness (since start): without scrapes p99 %.1f ms max %.1f ms; "
          "with scrapes p99 %.1f ms max %.1f ms"
          % (quiet["late_p99_ms"], quiet["late_max_ms"], loud["late_p99_ms"], loud["late_max_ms"]))


if __name__ == "__main__":
    main()
