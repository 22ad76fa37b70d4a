#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""VRRP under host pressure (issue #20): a director pair in namespaces (VRRPv3, one VIP),
the host loaded by stress-ng, counting false failovers (the Backup sending adverts while
the Master is alive) and the Master's advert gaps, side by side for hadirector and
keepalived, each with its defaults and with its real-time option.

Where a late advert's delay came from is read off two kernel timestamps per advert: when it
left the Master's interface (a packet socket in the Master's namespace sees outgoing frames)
and when it reached the Backup's. For each false failover: the Master's last send before it
more than Master_Down_Interval old -> "send" (the Master was late); sent in time but received
late -> "path" (softirq, bridge); received in time -> "recv" (the Backup woke late and did
not look at what was queued). Asserts nothing: prints a table (and --json).

usage: pressure_bench.py [--intervals 10,20,50] [--profiles cpu,cpu-mem,cpu-io,checks]
                         [--daemons floor,hd,hd-rt,hd-rt-pin,ka,ka-rt] [--seconds 40] [--hadirector PATH]
                         [--kernel-rt] [--dump DIR]

Daemon "floor" is no daemon: cyclictest (rt-tests) at SCHED_FIFO 10, one 1 ms sleeper per
CPU, under the same load for the same time. Its worst wake-up latency is what the host does to
any real-time timer (a hypervisor's CPU quota, a guest faulting in fresh memory): a VRRP
Master cannot send sooner than its timer fires, so a floor above Master_Down_Interval minus
one interval means no daemon can avoid false failovers at that interval on that host.

Daemon "hd-rt-pin" is hadirector real-time with each director's VRRP thread pinned to a
CPU of its own (vrrp_cpu_affinity: the Master's to CPU 1, the Backup's to CPU 0).

For hadirector the Master's own account is read from its status before it stops:
adverts_late (sent more than one interval after due) and advert_late_max_ms.

--kernel-rt applies the kernel-side measure docs/BENCHMARKS.md describes to the lab's own
links: GRO on every veth end (so veth receives through NAPI), threaded NAPI, and the NAPI
threads of those links (created by this lab, gone with it) at SCHED_FIFO 20; without it a
received advert waits for softirq processing, which a loaded host defers to ksoftirqd at
normal priority. --dump writes each run's advert timestamps (JSON, wall clock) for
correlation with perf (record with `-k mono` and add the wall-minus-monotonic offset).
Needs root, stress-ng and keepalived (apt-get install stress-ng keepalived)."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
from netlab import Lab, sh  # noqa: E402
from keepalived import keepalived_argv, keepalived_conf  # noqa: E402
from check_load import check_load_toml  # noqa: E402

A_IP, B_IP, VIP = "10.9.0.2", "10.9.0.3", "10.9.0.100"

# stress-ng loads (the measurement used all three together).
PROFILES = {
    "none": [],
    "cpu": ["--cpu", "4"],
    "cpu-mem": ["--cpu", "4", "--vm", "2", "--vm-bytes", "2G"],
    "cpu-io": ["--cpu", "4", "--io", "2", "--hdd", "1", "--hdd-bytes", "256M"],
    "all": ["--cpu", "4", "--vm", "2", "--vm-bytes", "2G", "--io", "2", "--hdd", "1",
            "--hdd-bytes", "256M"],
    # 10,000 tcp checks a second in the same daemon (hadirector only: keepalived's checker
    # needs IPVS, which this kernel lacks) plus the cpu load.
    "checks": ["--cpu", "4"],
}


def hd_config(tmp, name, prio, interval_ms, realtime, checks, pin=None):
    lines = ['[global]\ncontrol_socket = "%s/%s.sock"\nruntime_dir = "%s/%s-run"\n'
             'dataplane = "none"\nvrrp_realtime = %s\nvrrp_rt_priority = 10\n%s'
             % (tmp, name, tmp, name, "true" if realtime else "false",
                "vrrp_cpu_affinity = [%d]\n" % pin if pin is not None else ""),
             '[[vrrp_instance]]\nname = "VI_1"\ninterface = "eth0"\nvirtual_router_id = 51\n'
             'priority = %d\nversion = 3\nadvert_interval = "%dms"\n'
             'virtual_ipaddresses = ["%s/24"]\n' % (prio, interval_ms, VIP)]
    if checks:
        lines.append(check_load_toml(checks))
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def ka_config(tmp, name, prio, interval_ms, realtime):
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write(keepalived_conf(name, prio, interval_ms / 1000.0, VIP,
                                rt_priority=10 if realtime else None))
    return path


def start_daemon(kind, ns, tmp, name, prio, interval_ms, checks, hadirector):
    log = open(os.path.join(tmp, name + ".log"), "w")
    if kind.startswith("hd"):
        # hd-rt-pin: real-time and pinned, each director's VRRP thread on its own CPU.
        pin = (1 if name == "a" else 0) if kind == "hd-rt-pin" else None
        cfg = hd_config(tmp, name, prio, interval_ms, kind in ("hd-rt", "hd-rt-pin"), checks, pin)
        argv = [hadirector, "run", "-c", cfg]
    else:
        cfg = ka_config(tmp, name, prio, interval_ms, kind == "ka-rt")
        argv = keepalived_argv(cfg, os.path.join(tmp, name))
    return subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=log,
                            stderr=subprocess.STDOUT)


def napi_threads():
    out = subprocess.run(["ps", "-eo", "pid=,comm="], capture_output=True, text=True).stdout
    return {int(l.split()[0]) for l in out.splitlines() if l.split()[1:2] and
            l.split()[1].startswith("napi/")}


def kernel_rt(lab, hosts):
    """Threaded NAPI at SCHED_FIFO 20 on the lab's veths (switch ports and hosts' eth0)."""
    before = napi_threads()
    links = [(lab.switch, lab.port_of(i + 1)) for i in range(len(hosts))] + \
        [(ns, "eth0") for ns in hosts]
    for ns, dev in links:
        sh("ethtool", "-K", dev, "gro", "on", ns=ns)
        sh("sh", "-c", "echo 1 > /sys/class/net/%s/threaded" % dev, ns=ns)
    ours = napi_threads() - before
    for pid in ours:
        sh("chrt", "-f", "-p", "20", str(pid))
    return len(ours)


class Sniffer:
    """Adverts on eth0 of `ns` with kernel timestamps: [(t, src)]."""

    def __init__(self, ns):
        self.adverts = []
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-u",
                                   os.path.join(HERE, "..", "failover", "sniff.py"), "eth0"],
                                  stdout=subprocess.PIPE, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            f = line.split()
            if f and f[0] == "ADV":
                self.adverts.append((float(f[1]), f[2]))

    def stop(self):
        self.p.kill()
        self.p.wait()


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def judge(sent, recv, interval, mdi):
    """Figures from the Master's sends (its own interface) and what the Backup received."""
    a_sent = [t for t, s in sent if s == A_IP]
    a_recv = [t for t, s in recv if s == A_IP]
    b_recv = [t for t, s in recv if s == B_IP]  # the Backup's own adverts, outgoing
    # A false failover: the Backup starts sending (more than a second after its last advert).
    starts = [t for i, t in enumerate(b_recv) if i == 0 or t - b_recv[i - 1] > 1.0]
    cause = {"send": 0, "path": 0, "recv": 0}
    for t in starts:
        last_sent = max([x for x in a_sent if x < t], default=None)
        last_recv = max([x for x in a_recv if x < t], default=None)
        if last_sent is None or t - last_sent > mdi:
            cause["send"] += 1
        elif last_recv is None or t - last_recv > mdi:
            cause["path"] += 1
        else:
            cause["recv"] += 1
    gs, gr = gaps(a_sent), gaps(a_recv)
    late = 3 * interval
    # Each received gap longer than Master_Down_Interval, and whose it was: the Master's
    # send gap over the same stretch tells how much of it the Master caused.
    worst = []
    for (t0, t1) in zip(a_recv, a_recv[1:]):
        if t1 - t0 > mdi:
            s0 = max([x for x in a_sent if x <= t0 + 1e-4], default=t0)
            s1 = min([x for x in a_sent if x > s0], default=t1)
            worst.append({"at": t0, "recv_gap_ms": 1e3 * (t1 - t0),
                          "send_gap_ms": 1e3 * (s1 - s0)})
    return {
        "false_failovers": len(starts),
        "causes": cause,
        "adverts_sent": len(a_sent),
        "send_gap_max_ms": 1e3 * max(gs, default=0),
        "send_gaps_over_3x": sum(g > late for g in gs),
        "recv_gap_max_ms": 1e3 * max(gr, default=0),
        "recv_gaps_over_3x": sum(g > late for g in gr),
        "recv_gap_p99_ms": 1e3 * sorted(gr)[int(0.99 * (len(gr) - 1))] if gr else 0,
        "gaps_over_mdi": worst,
    }


def start_stress(profile, seconds, tmp):
    """stress-ng with the profile's load for `seconds` (None for no load); --temp-path: the
    hdd stressor's files go to our temporary directory."""
    if not PROFILES[profile]:
        return None
    return subprocess.Popen(["stress-ng"] + PROFILES[profile] +
                            ["--timeout", "%ds" % seconds, "--quiet", "--temp-path", tmp],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_stress(stress):
    if stress and stress.poll() is None:
        os.killpg(stress.pid, signal.SIGKILL)
        stress.wait()


def floor(profile, seconds):
    """cyclictest's worst wake-up latency (ms) under the profile's load."""
    tmp = tempfile.mkdtemp(prefix="hd-pressure-")
    stress = start_stress(profile, seconds + 2, tmp)
    try:
        time.sleep(1 if stress else 0)
        out = subprocess.run(["cyclictest", "-t", "-a", "-p", "10", "-i", "1000", "-D",
                              str(seconds), "-q", "-m"], capture_output=True, text=True).stdout
        worst = max(int(x) for line in out.splitlines() if "Max:" in line
                    for x in [line.split("Max:")[1].split()[0]])
        return {"floor_max_ms": worst / 1000.0}
    finally:
        stop_stress(stress)
        shutil.rmtree(tmp, ignore_errors=True)


def master_timing(hadirector, tmp):
    """The Master's self-measured advert lateness, from its status."""
    out = subprocess.run([hadirector, "status", "--json", "--socket",
                          os.path.join(tmp, "a.sock")], capture_output=True, text=True)
    try:
        c = json.loads(out.stdout)["vrrp"]["instances"][0]["counters"]
        return c["adverts_late"], c["advert_late_max_ms"]
    except (ValueError, KeyError, IndexError):
        return None, None


def one(kind, profile, interval_ms, seconds, hadirector, krt=False, dump=None):
    if profile == "checks" and kind.startswith("ka"):
        return None
    if kind == "floor":
        return floor(profile if profile != "checks" else "cpu", seconds)
    lab = Lab("vp")
    tmp = tempfile.mkdtemp(prefix="hd-pressure-")
    procs, stress = [], None
    try:
        ns_a = lab.host("a", [A_IP + "/24"])
        ns_b = lab.host("b", [B_IP + "/24"])
        napi = kernel_rt(lab, [ns_a, ns_b]) if krt else 0
        checks = 10000 if profile == "checks" else 0
        if checks:
            sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=10000 65000", ns=ns_a)
        procs.append(start_daemon(kind, ns_a, tmp, "a", 200, interval_ms, checks, hadirector))
        time.sleep(0.3)
        procs.append(start_daemon(kind, ns_b, tmp, "b", 100, interval_ms, checks, hadirector))
        time.sleep(3)  # A Master, B Backup, checks spread over their first second
        sent, recv = Sniffer(ns_a), Sniffer(ns_b)
        time.sleep(0.5)
        t0 = time.time()
        stress = start_stress(profile, seconds, tmp)
        time.sleep(seconds)
        sent.stop()
        recv.stop()
        late = master_timing(hadirector, tmp) if kind.startswith("hd") else (None, None)
        interval = interval_ms / 1000.0
        mdi = 3 * interval + (256 - 100) * interval / 256
        sent_t = [x for x in sent.adverts if x[0] >= t0]
        recv_t = [x for x in recv.adverts if x[0] >= t0]
        r = judge(sent_t, recv_t, interval, mdi)
        if late[0] is not None:
            r["self_adverts_late"], r["self_late_max_ms"] = late
        if krt:
            r["napi_threads"] = napi
        if dump:
            os.makedirs(dump, exist_ok=True)
            with open(os.path.join(dump, "%s-%s-%dms.json" % (kind, profile, interval_ms)),
                      "w") as f:
                json.dump({"t0": t0, "sent": sent_t, "recv": recv_t}, f)
        dead = [p.args[-1] for p in procs if p.poll() is not None]
        if dead:
            r["note"] = "a daemon exited early; logs in " + tmp
        return r
    finally:
        stop_stress(stress)
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--intervals", default="10,20,50")
    ap.add_argument("--profiles", default="cpu,cpu-mem,cpu-io,checks")
    ap.add_argument("--daemons", default="floor,hd,hd-rt,ka,ka-rt")
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--kernel-rt", action="store_true")
    ap.add_argument("--dump")
    ap.add_argument("--hadirector", default=os.path.join(HERE, "..", "..", "build", "sbin",
                                                         "hadirector"))
    a = ap.parse_args()
    for tool, pkg, needed in (("stress-ng", "stress-ng", True),
                              ("keepalived", "keepalived", "ka" in a.daemons),
                              ("cyclictest", "rt-tests", "floor" in a.daemons),
                              ("ethtool", "ethtool", a.kernel_rt)):
        if needed and not shutil.which(tool):
            sys.exit("pressure_bench: %s is missing (apt-get install %s)" % (tool, pkg))
    rows = []
    for iv in [int(x) for x in a.intervals.split(",")]:
        for prof in a.profiles.split(","):
            for kind in a.daemons.split(","):
                r = one(kind, prof, iv, a.seconds, os.path.abspath(a.hadirector), a.kernel_rt,
                        a.dump)
                row = {"interval_ms": iv, "profile": prof, "daemon": kind, "result": r}
                rows.append(row)
                if r and "floor_max_ms" in r:
                    sys.stderr.write("%3d ms %-8s floor  cyclictest worst wake-up %.1f ms\n"
                                     % (iv, prof, r["floor_max_ms"]))
                elif r:
                    sys.stderr.write("%3d ms %-8s %-6s false failovers %d (send %d, path %d, recv %d) "
                                     "send gap max %.1f ms, recv gap max %.1f ms\n"
                                     % (iv, prof, kind, r["false_failovers"], r["causes"]["send"],
                                        r["causes"]["path"], r["causes"]["recv"],
                                        r["send_gap_max_ms"], r["recv_gap_max_ms"]))
                    for g in r["gaps_over_mdi"]:
                        sys.stderr.write("        gap at %.3f: received %.1f ms, sent %.1f ms\n"
                                         % (g["at"], g["recv_gap_ms"], g["send_gap_ms"]))
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print("VRRPv3 pair under stress-ng, %d s per run%s; hd = hadirector, ka = keepalived %s; "
          "-rt = real-time option" % (a.seconds, ", kernel-rt (threaded NAPI at FIFO 20)"
                                      if a.kernel_rt else "", subprocess.run(
              ["keepalived", "--version"], capture_output=True, text=True).stderr.split()[1]
              if shutil.which("keepalived") else ""))
    print("%-5s %-8s %-9s %6s %-14s %9s %6s %9s %6s %9s %11s" % (
        "adv", "profile", "daemon", "false", "cause s/p/r", "send max", ">3x", "recv max", ">3x",
        "recv p99", "self late"))
    for row in rows:
        r = row["result"]
        if r is None:
            print("%-5s %-8s %-9s %6s" % ("%dms" % row["interval_ms"], row["profile"], row["daemon"], "n/a"))
            continue
        if "floor_max_ms" in r:
            print("%-5s %-8s %-9s %6s %-14s %7.1fms  (cyclictest SCHED_FIFO 10: worst wake-up)" % (
                "%dms" % row["interval_ms"], row["profile"], "floor", "-", "-", r["floor_max_ms"]))
            continue
        c = r["causes"]
        self_late = ("%d/%.1fms" % (r["self_adverts_late"], r["self_late_max_ms"])
                     if "self_adverts_late" in r else "-")
        print("%-5s %-8s %-9s %6d %-14s %7.1fms %6d %7.1fms %6d %7.1fms %11s%s" % (
            "%dms" % row["interval_ms"], row["profile"], row["daemon"], r["false_failovers"],
            "%d/%d/%d" % (c["send"], c["path"], c["recv"]), r["send_gap_max_ms"],
            r["send_gaps_over_3x"], r["recv_gap_max_ms"], r["recv_gaps_over_3x"],
            r["recv_gap_p99_ms"], self_late, ("  " + r["note"]) if "note" in r else ""))


if __name__ == "__main__":
    main()
