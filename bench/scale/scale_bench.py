#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scale benchmark (#17): memory, config load, reload and status at VS x RS real servers.

  scale_bench.py [--hadirector build/sbin/hadirector] [--sizes 1000x10,10000x10]
                 [--interval 5s] [--settle 8]

Per size, with `dataplane = "none"` and a TCP half-open check on every real server (targets
on loopback, where nothing listens: each probe gets a RST), prints:
  - `hadirector check`: wall time and peak resident memory (its own process, wait4);
  - the daemon: resident memory (VmRSS, RssAnon) once every check has run, and its peak
    (VmHWM); the file-backed part (shared libraries) is printed apart;
  - a reload that changes one real server's weight: wall time of `hadirector reload` (it waits
    for the result) and the checker's report of what it rebuilt (from the daemon's log);
  - `status --json`: wall time and size, and the checker's lateness max from that status.
Root is not needed when the binary has CAP_NET_RAW or runs as root (half-open probes need a
raw socket; without it the checks fall back to connect()).
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) / 1024.0
    return out


class LoopProbe:
    """Asks the daemon's control socket a small question ("overrides") every 5 ms from a
    thread: the longest wait for an answer is how long the main loop could not serve
    anything (checks included)."""

    def __init__(self, sock):
        self.sock, self.waits, self.stop = sock, [], threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.settimeout(30)
                c.connect(self.sock)
                c.sendall(b"overrides\n")
                while c.recv(65536):
                    pass
                c.close()
            except OSError:
                pass
            self.waits.append(time.monotonic() - t0)
            time.sleep(0.005)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.t.join()

    def summary(self):
        w = sorted(self.waits)
        if not w:
            return "no answer"
        return (f"main loop answered {len(w)} probes, slowest {w[-1] * 1000:.0f} ms, "
                f"p99 {w[int(len(w) * 0.99)] * 1000:.0f} ms")


def timed_child(argv, **kw):
    """Runs argv; returns (rc, wall seconds, peak RSS MiB, stdout)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, time.monotonic() - t0, ru.ru_maxrss / 1024.0, out


def one(hd, vs, rs, interval, settle):
    n = vs * rs
    tmp = tempfile.mkdtemp(prefix="hd-scale-")
    sock = os.path.join(tmp, "c.sock")
    cfg = os.path.join(tmp, "c.toml")
    gen = [sys.executable, os.path.join(HERE, "gen.py"), str(vs), str(rs), cfg, "--socket", sock,
           "--interval", interval, "--log-level", "info"]
    subprocess.run(gen, check=True)
    lines = sum(1 for _ in open(cfg))
    print(f"\n== {vs} x {rs} = {n} real servers ({lines} lines of TOML) ==")
    rc, wall, peak, out = timed_child([hd, "check", "-c", cfg])
    if rc != 0:
        print(out.decode()[-2000:])
        raise SystemExit("check failed")
    print(f"check: {wall:.2f} s, peak {peak:.1f} MiB")
    log = open(os.path.join(tmp, "daemon.log"), "w")
    t0 = time.monotonic()
    d = subprocess.Popen([hd, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        while not os.path.exists(sock):
            if d.poll() is not None:
                raise SystemExit("the daemon exited; log in " + log.name)
            time.sleep(0.02)
        print(f"start: control socket after {time.monotonic() - t0:.2f} s")
        time.sleep(settle)  # every check has run once (first starts spread over one interval)
        st = proc_status(d.pid)
        print(f"daemon: resident {st['VmRSS']:.1f} MiB (anonymous {st['RssAnon']:.1f}, "
              f"file-backed {st['RssFile']:.1f}), peak {st['VmHWM']:.1f} MiB, "
              f"{st['RssAnon'] * 1048576 / n:.0f} bytes anonymous per real server")
        # A reload with one real server's weight changed.
        subprocess.run(gen + ["--change", "1"], check=True)
        with LoopProbe(sock) as probe:
            time.sleep(0.2)
            rc, wall, _, out = timed_child([hd, "reload", "--socket", sock])
            time.sleep(0.2)
        log.flush()
        rebuilt = re.findall(r"(\d+ checks: .*stopped)", open(log.name).read())
        print(f"reload (one weight changed): {wall:.2f} s (rc {rc}); checker: "
              f"{rebuilt[-1] if rebuilt else '?'}")
        print(f"  during the reload: {probe.summary()}")
        st = proc_status(d.pid)
        print(f"daemon after reload: resident {st['VmRSS']:.1f} MiB, peak {st['VmHWM']:.1f} MiB")
        with LoopProbe(sock) as probe:
            time.sleep(0.2)
            rc, wall, _, out = timed_child([hd, "status", "--json", "--socket", sock])
            time.sleep(0.2)
        late = re.search(rb'"late_max_ms":\s*([0-9.]+)', out)
        print(f"status --json: {wall * 1000:.0f} ms, {len(out) / 1e6:.1f} MB; checker lateness "
              f"max since start {float(late.group(1)) if late else float('nan'):.1f} ms")
        print(f"  during the status: {probe.summary()}")
        st = proc_status(d.pid)
        print(f"daemon after status: resident {st['VmRSS']:.1f} MiB, peak {st['VmHWM']:.1f} MiB")
    finally:
        d.terminate()
        try:
            d.wait(30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hadirector", default="build/sbin/hadirector")
    ap.add_argument("--sizes", default="1000x10,10000x10")
    ap.add_argument("--interval", default="5s")
    ap.add_argument("--settle", type=float, default=8.0)
    a = ap.parse_args()
    print("targets (#17): 1,000 x 10 resident <= 20 MB, 10,000 x 10 <= 150 MB; check and reload "
          "of 100,000 < 2 s, < 100 MB peak")
    print("before (session 9, 1,000 x 10): resident 70 MB, check peak 36 MB, status 60-90 ms")
    for size in a.sizes.split(","):
        vs, rs = (int(x) for x in size.split("x"))
        one(a.hadirector, vs, rs, a.interval, a.settle)


if __name__ == "__main__":
    main()
