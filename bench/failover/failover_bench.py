#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Failover benchmark: SIGKILL the Master director and time how long until the
Backup holds the VIP and the client sees its gratuitous ARP. Runs the same
drills for hadirector and for keepalived with identical settings (VRRP v3,
100 ms adverts, priorities 150/100) and prints them side by side.

usage: failover_bench.py [--drills N] [--hadirector PATH] [--json]
Needs root (network namespaces), keepalived, python3. Prints numbers; asserts nothing."""
import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from netlab import Lab, sh  # noqa: E402
from keepalived import keepalived_argv, keepalived_conf  # noqa: E402

VIP = "10.9.0.100"
ADVERT = 0.1
MDI_BACKUP = 3 * ADVERT + (256 - 100) * ADVERT / 256  # RFC 5798 Master_Down_Interval


class Lines(threading.Thread):
    """Collects timestamped lines from a subprocess."""

    def __init__(self, cmd, parse):
        super().__init__(daemon=True)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.parse = parse
        self.events = []
        self.lock = threading.Lock()
        self.start()

    def run(self):
        for line in self.proc.stdout:
            ev = self.parse(line)
            if ev:
                with self.lock:
                    self.events.append(ev)

    def since(self, t0):
        with self.lock:
            return [e for e in self.events if e[1] >= t0]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def parse_sniff(line):
    f = line.split()
    if f and f[0] in ("ADV", "GARP"):
        return (f[0], float(f[1]), f[2], f[3])
    return None


def parse_monitor(line):
    f = line.split()
    if len(f) == 3 and f[0] == "ADD" and f[2] == VIP:
        return ("ADD", float(f[1]), f[2], "")
    return None


class Impl:
    def __init__(self, name, tmp, binary):
        self.name, self.tmp, self.binary = name, tmp, binary

    def start(self, ns, tag, prio):
        base = os.path.join(self.tmp, "%s-%s" % (self.name, tag))
        log = open(base + ".log", "w")
        if self.name == "hadirector":
            cfg = base + ".toml"
            with open(cfg, "w") as f:
                f.write("""[global]
control_socket = "%s.sock"
[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = %d
advert_interval = "100ms"
virtual_ipaddresses = [ { address = "%s/24", label = "eth0:1" } ]
""" % (base, prio, VIP))
            cmd = [self.binary, "run", "-c", cfg]
        else:
            cfg = base + ".conf"
            with open(cfg, "w") as f:
                f.write(keepalived_conf(tag, prio, 0.1, VIP, label="eth0:1"))
            cmd = keepalived_argv(cfg, base)
        return subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=log,
                                stderr=subprocess.STDOUT)


def kill_all_in(ns):
    pids = sh("ip", "netns", "pids", ns).split()
    for p in pids:
        try:
            os.kill(int(p), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def has_vip(ns):
    return (VIP + "/") in sh("ip", "-o", "addr", "show", "dev", "eth0", ns=ns)


def run_impl(impl, drills, mac_b, lab, ns_a, ns_b, ns_c, sniffer, monitor):
    results = []
    backup = impl.start(ns_b, "b", 100)
    try:
        for i in range(drills):
            master = impl.start(ns_a, "a%d" % i, 150)
            if not wait(lambda: has_vip(ns_a) and not has_vip(ns_b), 10):
                raise RuntimeError("%s: A never became the only Master" % impl.name)
            time.sleep(0.5 + random.random() * ADVERT)  # steady state, random advert phase
            t_kill = time.time()
            kill_all_in(ns_a)
            master.wait()
            if not wait(lambda: any(e[0] == "GARP" and e[3] == mac_b for e in sniffer.since(t_kill))
                        and monitor.since(t_kill), 5):
                raise RuntimeError("%s: no takeover seen in drill %d (events %s %s; b has %s)" % (
                    impl.name, i, sniffer.since(t_kill)[:2], monitor.since(t_kill - 5)[-3:],
                    sh("ip", "-o", "addr", "show", "dev", "eth0", ns=ns_b)))
            time.sleep(0.05)
            advs = [e for e in sniffer.since(t_kill - 1) if e[0] == "ADV" and e[2] == "10.9.0.2"
                    and e[1] <= t_kill + 0.002]  # one may be in flight as the kill lands
            last_adv = max(e[1] for e in advs)
            t_garp = min(e[1] for e in sniffer.since(t_kill) if e[0] == "GARP" and e[3] == mac_b)
            t_vip = min(e[1] for e in monitor.since(t_kill))
            results.append({"kill_to_vip_ms": (t_vip - t_kill) * 1e3,
                            "kill_to_garp_ms": (t_garp - t_kill) * 1e3,
                            "last_advert_to_vip_ms": (t_vip - last_adv) * 1e3,
                            "last_advert_to_garp_ms": (t_garp - last_adv) * 1e3})
            # The killed director's kernel keeps the VIP: a rebooted box would not.
            sh("ip", "addr", "del", VIP + "/24", "dev", "eth0", ns=ns_a, check=False)
            print("  %s drill %2d: kill->VIP %6.1f ms, last advert->VIP %6.1f ms, kill->GARP %6.1f ms"
                  % (impl.name, i + 1, results[-1]["kill_to_vip_ms"],
                     results[-1]["last_advert_to_vip_ms"], results[-1]["kill_to_garp_ms"]),
                  file=sys.stderr)
            # Let the backup settle as Master, then the next drill's A preempts it.
            time.sleep(0.2)
    finally:
        kill_all_in(ns_a)
        kill_all_in(ns_b)
        backup.wait()
    sh("ip", "addr", "flush", "dev", "eth0", "label", "eth0:1", ns=ns_b, check=False)
    return results


def summary(values):
    v = sorted(values)
    q = statistics.quantiles(v, n=10) if len(v) >= 2 else [v[0]] * 9
    return {"median": statistics.median(v), "p10": q[0], "p90": q[8], "min": v[0], "max": v[-1],
            "stdev": statistics.pstdev(v)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drills", type=int, default=20)
    ap.add_argument("--hadirector", default=os.path.join(HERE, "..", "..", "build", "sbin",
                                                         "hadirector"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hd-failover-")
    report = {"master_down_interval_ms": MDI_BACKUP * 1e3, "drills": args.drills}
    try:
        # A fresh lab per implementation: nothing one leaves behind can affect the other.
        for name in os.environ.get("HD_BENCH_IMPLS", "hadirector keepalived").split():
            lab = Lab("fb")
            try:
                ns_a = lab.host("a", ["10.9.0.2/24"])
                ns_b = lab.host("b", ["10.9.0.3/24"])
                ns_c = lab.host("c", ["10.9.0.50/24"])
                mac_b = sh("ip", "-o", "link", "show", "eth0", ns=ns_b).split("link/ether")[1].split()[0]
                sniffer = Lines(["ip", "netns", "exec", ns_c, sys.executable, "-u",
                                 os.path.join(HERE, "sniff.py"), "eth0"], parse_sniff)
                monitor = Lines(["ip", "netns", "exec", ns_b, sys.executable, "-u",
                                 os.path.join(HERE, "addrwatch.py")], parse_monitor)
                time.sleep(0.3)
                impl = Impl(name, tmp, os.path.abspath(args.hadirector))
                res = run_impl(impl, args.drills, mac_b, lab, ns_a, ns_b, ns_c, sniffer, monitor)
                report[name] = {k: summary([r[k] for r in res]) for k in res[0]}
                sniffer.stop()
                monitor.stop()
            finally:
                lab.close()
    finally:
        if not os.environ.get("HD_BENCH_KEEP"):
            subprocess.run(["rm", "-rf", tmp])
        else:
            print("kept", tmp, file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    mdi = report["master_down_interval_ms"]
    print("\nFailover after SIGKILL of the Master, %d drills each, VRRP v3, 100 ms adverts, "
          "backup priority 100 (Master_Down_Interval %.1f ms)" % (args.drills, mdi))
    print("%-26s %22s %22s %8s" % ("metric (ms)", "hadirector med [p10-p90]",
                                   "keepalived med [p10-p90]", "ratio"))
    if "hadirector" not in report or "keepalived" not in report:
        print(json.dumps(report, indent=2))
        return
    for k in ("kill_to_vip_ms", "kill_to_garp_ms", "last_advert_to_vip_ms", "last_advert_to_garp_ms"):
        h, ka = report["hadirector"][k], report["keepalived"][k]
        print("%-26s %8.1f [%5.1f-%5.1f] %8.1f [%5.1f-%5.1f] %8.2f" % (
            k[:-3], h["median"], h["p10"], h["p90"], ka["median"], ka["p10"], ka["p90"],
            h["median"] / ka["median"]))
    print("hadirector last advert->VIP minus Master_Down_Interval: %+.1f ms (median)" %
          (report["hadirector"]["last_advert_to_vip_ms"]["median"] - mdi))
    print("keepalived last advert->VIP minus Master_Down_Interval: %+.1f ms (median)" %
          (report["keepalived"]["last_advert_to_vip_ms"]["median"] - mdi))


if __name__ == "__main__":
    main()
