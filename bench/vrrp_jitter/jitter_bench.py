#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""VRRP advert jitter under health-check load: a Master with 100 ms adverts, first
alone, then with N TCP checks per second running in the same daemon (default
10,000: half-open probes by default, full connects with --probe connect; all on the
main loop). A sniffer in a peer namespace
timestamps every advert (kernel receive time); prints the interval spread for both
runs, and the daemon's CPU use. Asserts nothing.

usage: jitter_bench.py [--checks N] [--seconds S] [--probe syn|connect] [--hadirector PATH]"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
from netlab import Lab, sh  # noqa: E402
from check_load import check_load_toml  # noqa: E402


def config(tmp, checks, probe="syn"):
    lines = ["""[global]
control_socket = "%s/j.sock"
dataplane = "none"
[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 200
advert_interval = "100ms"
virtual_ipaddresses = ["10.9.0.100/24"]
""" % tmp]
    # Targets: closed ports on loopback addresses (refused at once: an RST to each SYN).
    lines.append(check_load_toml(checks, probe))
    path = os.path.join(tmp, "j%d.toml" % checks)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(binary, lab, ns_a, ns_b, tmp, checks, seconds, probe="syn"):
    cfg = config(tmp, checks, probe)
    d = subprocess.Popen(["ip", "netns", "exec", ns_a, binary, "run", "-c", cfg],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)  # MASTER after Master_Down_Interval; checks spread over their first second
        sniff = subprocess.Popen(["ip", "netns", "exec", ns_b, sys.executable, "-u",
                                  os.path.join(HERE, "..", "failover", "sniff.py"), "eth0"],
                                 stdout=subprocess.PIPE, text=True)
        times = []
        t = threading.Thread(target=lambda: [times.append(float(l.split()[1])) for l in sniff.stdout
                                             if l.startswith("ADV")], daemon=True)
        t.start()
        c0, w0 = cpu_seconds(d.pid), time.time()
        time.sleep(seconds)
        c1, w1 = cpu_seconds(d.pid), time.time()
        sniff.kill()
        sniff.wait()
        iv = [(b - a) * 1e3 for a, b in zip(times, times[1:])]
        return {"checks": checks, "adverts": len(times), "cpu_pct": 100 * (c1 - c0) / (w1 - w0),
                "p50": statistics.median(iv), "p1": statistics.quantiles(iv, n=100)[0],
                "p99": statistics.quantiles(iv, n=100)[98], "min": min(iv), "max": max(iv),
                "late_max": max(x - 100 for x in iv)}
    finally:
        d.terminate()
        d.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--probe", choices=["syn", "connect"], default="syn")
    ap.add_argument("--hadirector", default=os.path.join(HERE, "..", "..", "build", "sbin",
                                                         "hadirector"))
    a = ap.parse_args()
    lab = Lab("jb")
    tmp = tempfile.mkdtemp(prefix="hd-jitter-")
    try:
        ns_a = lab.host("a", ["10.9.0.2/24"])
        ns_b = lab.host("b", ["10.9.0.3/24"])
        sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=10000 65000", ns=ns_a)
        res = [run(os.path.abspath(a.hadirector), lab, ns_a, ns_b, tmp, n, a.seconds, a.probe)
               for n in (0, a.checks)]
    finally:
        lab.close()
        subprocess.run(["rm", "-rf", tmp])
    print("VRRP advert intervals (ms), advert_interval 100 ms, %.0f s each, Master on its own "
          "thread, checks on the main loop" % a.seconds)
    print("%-14s %8s %7s %7s %7s %7s %7s %7s %9s" % ("checks/s", "adverts", "min", "p1", "p50",
                                                      "p99", "max", "late", "CPU %"))
    for r in res:
        print("%-14d %8d %7.2f %7.2f %7.2f %7.2f %7.2f %+7.2f %9.1f" % (
            r["checks"], r["adverts"], r["min"], r["p1"], r["p50"], r["p99"], r["max"],
            r["late_max"], r["cpu_pct"]))


if __name__ == "__main__":
    main()
