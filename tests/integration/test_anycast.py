# SPDX-License-Identifier: GPL-2.0-or-later
"""announce = "bgp" against a real routing daemon (docs/anycast.md): an upstream router and
two directors in network namespaces, each running BIRD 2 (Debian's bird2); each director
also runs hadirector (dataplane = "nftables", one virtual server on the anycast address, a
TCP check of one real server). The router learns the address over eBGP from both and installs
it as ECMP. Judged: both announce once serving (two next hops, and the address answers
from the router); a director whose check fails (only its own: its packets to the real
server dropped) withdraws alone and comes back; ctl withdraw and announce, the withdrawal
kept across a restart; SIGTERM withdraws first and keeps serving for withdraw_linger;
SIGKILL withdraws too (the TUN device goes with the process); a restarted director
announces again after its first reconcile (it adopts the table it left serving). Times are
printed, not judged. (That nothing is announced before the first evaluation is unit-tested:
anycast_subsystem_test.)"""
import os
import signal
import subprocess
import time
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, listener, sh

VIP = "10.99.0.100"
ROUTER = "10.77.0.1"
DIRECTORS = ["10.77.0.11", "10.77.0.12"]
REAL = "10.77.0.21"

# BIRD imports hadirector's routes (kernel table 200, proto 250) and exports only them.
BIRD_DIRECTOR = """
log "{log}" all;
router id {me};
protocol device {{ scan time 10; }}
protocol kernel k_anycast {{
    kernel table 200;
    learn;
    scan time 10;
    ipv4 {{ import where krt_source = 250 && net ~ [ 10.99.0.0/16{{32,32}} ]; export none; }};
}}
protocol bgp upstream {{
    local {me} as {asn};
    neighbor {router} as 65000;
    hold time 3; keepalive time 1;
    connect delay time 1; connect retry time 1; error wait time 1, 5;
    graceful restart off;
    ipv4 {{ import none; export where proto = "k_anycast"; }};
}}
"""
BIRD_ROUTER = """
log "{log}" all;
router id {router};
protocol device {{ scan time 10; }}
protocol kernel k_main {{
    merge paths on limit 16;
    ipv4 {{ import none; export where source = RTS_BGP; }};
}}
template bgp director {{
    local {router} as 65000;
    hold time 3; keepalive time 1;
    connect delay time 1; connect retry time 1; error wait time 1, 5;
    graceful restart off;
    ipv4 {{ import where net ~ [ 10.99.0.0/16{{32,32}} ]; export none; }};
}}
protocol bgp d1 from director {{ neighbor {d1} as 65001; }}
protocol bgp d2 from director {{ neighbor {d2} as 65002; }}
"""


class Anycast(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("hda")
        self.tmp = TempDir()
        self.daemons = [None, None]
        self.procs = []
        try:
            self.ns_router = self.lab.host("rt", [ROUTER + "/24"])
            self.ns_d = [self.lab.host("d%d" % (i + 1), [ip + "/24"])
                         for i, ip in enumerate(DIRECTORS)]
            self.ns_real = self.lab.host("rs", [REAL + "/24"])
            self.procs.append(listener(self.ns_real, 80, REAL, seconds=600))
            self.bird(self.ns_router, "router", BIRD_ROUTER.format(
                log=self.tmp.path + "/bird-router.log", router=ROUTER, d1=DIRECTORS[0],
                d2=DIRECTORS[1]))
            for i, ns in enumerate(self.ns_d):
                self.bird(ns, "d%d" % (i + 1), BIRD_DIRECTOR.format(
                    log="%s/bird-d%d.log" % (self.tmp.path, i + 1), me=DIRECTORS[i],
                    asn=65001 + i, router=ROUTER))
        except Exception:
            self.tearDown()
            raise

    def tearDown(self):
        for d in self.daemons:
            if d:
                d.stop(signal.SIGKILL)
        for p in self.procs:
            p.kill()
            p.wait()
        self.lab.close()  # kills what still runs in the lab's namespaces (BIRD), removes them
        self.tmp.cleanup()

    def bird(self, ns, name, conf):
        path = self.tmp.file("bird-%s.conf" % name, conf)
        sh("bird", "-c", path, "-s", "%s/bird-%s.ctl" % (self.tmp.path, name),
           "-P", "%s/bird-%s.pid" % (self.tmp.path, name), ns=ns)

    def config(self, i):
        sock = "%s/d%d.sock" % (self.tmp.path, i + 1)
        return self.tmp.file("d%d.toml" % (i + 1), """[global]
control_socket = "%s"
state_dir = "%s/state%d"
dataplane = "nftables"
reconcile_interval = "1s"
metrics = { listen = "127.0.0.1:9406" }

[anycast]
withdraw_linger = "1500ms"

[[virtual_server]]
address = "%s"
port = 80
announce = "bgp"
forwarding = "nat"
  [[virtual_server.real_server]]
  address = "%s"
  port = 80
  check = { type = "tcp", probe = "connect", interval = "200ms", timeout = "200ms", fall = 1, rise = 1 }
""" % (sock, self.tmp.path, i + 1, VIP, REAL)), sock

    def start(self, i, log_suffix=""):
        cfg, sock = self.config(i)
        self.daemons[i] = Daemon(cfg, sock, netns=self.ns_d[i],
                                 log_path=cfg + log_suffix + ".log").wait_ready()
        return self.daemons[i]

    def next_hops(self):
        out = sh("ip", "route", "show", VIP, ns=self.ns_router)
        return sorted(ip for ip in DIRECTORS if "via %s " % ip in out + " ")

    def wait_hops(self, want, what, timeout=10):
        t0 = time.monotonic()
        wait_for(lambda: self.next_hops() == sorted(want), timeout, step=0.01, what=what)
        dt = time.monotonic() - t0
        print("%-55s %6.3f s" % (what, dt))
        return dt

    def announced(self, i):
        a = self.daemons[i].status()["anycast"]["addresses"][0]
        return a["announced"], a["why"]

    def test_announce_follows_serving_and_the_process(self):
        for i in range(2):
            self.start(i)
        self.wait_hops(DIRECTORS, "both directors serving: two next hops")
        self.assertEqual(self.announced(0), (True, "serving"))
        route = sh("ip", "route", "show", "table", "200", ns=self.ns_d[0])
        self.assertIn("%s dev hd-anycast proto 250" % VIP, route)
        # The address answers from the router (local on the director that ECMP picks).
        sh("ping", "-c", "1", "-W", "2", VIP, ns=self.ns_router)
        # The metrics say so, in a format promtool accepts.
        text = sh("curl", "-sf", "http://127.0.0.1:9406/metrics", ns=self.ns_d[0])
        self.assertIn('hadirector_anycast_announced{address="%s"} 1' % VIP, text)
        self.assertIn('hadirector_anycast_changes_total{change="announce"} 1', text)
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # d1's own path to the real server breaks: its check fails, it alone withdraws.
        sh("nft", "add table ip t; add chain ip t o { type filter hook output priority 0; }; "
           "add rule ip t o ip daddr %s tcp dport 80 drop" % REAL, ns=self.ns_d[0])
        self.wait_hops([DIRECTORS[1]], "d1 loses its real server: d1 withdrawn")
        self.assertEqual(self.announced(0), (False, "tcp %s:80 has no quorum" % VIP))
        sh("nft", "delete table ip t", ns=self.ns_d[0])
        self.wait_hops(DIRECTORS, "d1's real server back: announced again")

        # The operator withdraws d2 (maintenance); the withdrawal survives a restart.
        r = self.daemons[1].request("withdraw %s" % VIP)
        self.assertIn('"override":"withdrawn"', r)
        self.wait_hops([DIRECTORS[0]], "ctl withdraw on d2")
        self.assertEqual(self.announced(1), (False, "withdrawn by the operator"))
        first_run = self.daemons[1]
        self.assertEqual(first_run.stop(signal.SIGTERM), 0)
        self.assertIn("withdrawing %s (withdrawn by the operator)" % VIP, first_run.logs())
        self.start(1, ".2")
        time.sleep(1.0)  # its check passes within 0.4 s: it would have announced by now
        self.assertEqual(self.next_hops(), [DIRECTORS[0]])
        self.assertEqual(self.announced(1), (False, "withdrawn by the operator"))
        self.daemons[1].request("announce %s" % VIP)
        self.wait_hops(DIRECTORS, "ctl announce on d2")

        # SIGTERM: withdrawn first, then the process serves on for withdraw_linger (1.5 s).
        t0 = time.monotonic()
        self.daemons[0].send(signal.SIGTERM)
        self.wait_hops([DIRECTORS[1]], "SIGTERM on d1: withdrawn")
        self.assertIsNone(self.daemons[0].proc.poll(), "d1 left before its withdraw_linger")
        self.assertIn("hd-anycast", sh("ip", "link", "show", ns=self.ns_d[0]))
        self.assertEqual(self.daemons[0].stop(signal.SIGTERM, timeout=10), 0)
        lingered = time.monotonic() - t0
        print("%-55s %6.3f s" % ("SIGTERM on d1: process gone after", lingered))
        self.assertGreaterEqual(lingered, 1.4)
        self.assertNotIn("hd-anycast", sh("ip", "link", "show", ns=self.ns_d[0]))

        # Restarted, it adopts the table it left and announces after its first reconcile.
        self.start(0, ".2")
        self.wait_hops(DIRECTORS, "d1 restarted: announced again")

        # SIGKILL: the device (and the route) go with the process.
        self.daemons[0].stop(signal.SIGKILL)
        self.wait_hops([DIRECTORS[1]], "SIGKILL on d1: withdrawn")
        self.assertNotIn("hd-anycast", sh("ip", "link", "show", ns=self.ns_d[0]))
        self.assertNotIn(VIP, sh("ip", "route", "show", "table", "200", ns=self.ns_d[0]))


    def test_a_persistent_device_of_that_name_is_refused(self):
        # One that outlives the daemon would keep announcing after a crash: not taken over.
        sh("ip", "tuntap", "add", "dev", "hd-anycast", "mode", "tun", ns=self.ns_d[0])
        cfg, sock = self.config(0)
        d = Daemon(cfg, sock, netns=self.ns_d[0])
        self.assertEqual(d.proc.wait(10), 1)
        d.stop()
        self.assertIn("TUN interface hd-anycast exists and is persistent", d.logs())
        sh("ip", "tuntap", "del", "dev", "hd-anycast", "mode", "tun", ns=self.ns_d[0])
        self.start(0, ".2")
        wait_for(lambda: self.announced(0)[0], 10, what="announced once the name is free")


if __name__ == "__main__":
    hdtest.main()
