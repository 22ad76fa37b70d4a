# SPDX-License-Identifier: GPL-2.0-or-later
"""The real-server role (LVS-DR ARP hiding) in namespaces: a client, a director
holding the VIP, two real servers on one bridge."""
import os
import re
import signal
import subprocess
import time
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, has_addr, addrs, mac_of, sh

VIP = "10.9.0.100"


def arping_macs(ns):
    r = subprocess.run(["ip", "netns", "exec", ns, "arping", "-c", "3", "-w", "2", "-I", "eth0", VIP],
                       capture_output=True, text=True)
    return set(m.lower() for m in re.findall(r"\[([0-9A-Fa-f:]{17})\]", r.stdout))


def sysctl(ns, key):
    return sh("sysctl", "-n", key, ns=ns).strip()


# The six sysctls the role writes for an IPv4 VIP (realserver/role.cpp wanted_sysctls):
# arp_ignore and arp_announce on all, lo and the interface of the default route.
ROLE_WRITES = {"arp_ignore": "1", "arp_announce": "2"}
# An operator's own values, set before the daemon starts: neither the kernel's default
# (0) nor what the role writes, so "restored" cannot pass by accident.
OPERATOR = {"arp_ignore": "2", "arp_announce": "1"}
SIX = ["net.ipv4.conf.%s.%s" % (i, k) for i in ("all", "lo", "eth0") for k in sorted(ROLE_WRITES)]


def set_operator_values(ns):
    for key in SIX:
        sh("sysctl", "-qw", "%s=%s" % (key, OPERATOR[key.rsplit(".", 1)[1]]), ns=ns)


def role_values():
    return {key: ROLE_WRITES[key.rsplit(".", 1)[1]] for key in SIX}


class RealServerRole(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("rs")
        self.tmp = TempDir()
        self.daemons = []
        self.client = self.lab.host("client", ["10.9.0.10/24"])
        self.director = self.lab.host("dir", ["10.9.0.2/24", VIP + "/24"])
        self.rs = [self.lab.host("rs%d" % i, ["10.9.0.1%d/24" % i]) for i in (1, 2)]
        for ns in self.rs:
            sh("ip", "route", "add", "default", "via", "10.9.0.2", ns=ns)

    def tearDown(self):
        for d in self.daemons:
            d.stop(signal.SIGKILL)
        self.lab.close()
        self.tmp.cleanup()

    def start_role(self, i):
        ns = self.rs[i]
        sock = os.path.join(self.tmp.path, "rs%d.sock" % i)
        cfg = self.tmp.file("rs%d.toml" % i, """[global]
control_socket = "%s"
runtime_dir = "%s/rs%d-run"
[realserver]
vips = ["%s"]
check_interval = "500ms"
""" % (sock, self.tmp.path, i, VIP))
        d = Daemon(cfg, sock, netns=ns, log_path=cfg + ".%d.log" % len(self.daemons)).wait_ready()
        self.daemons.append(d)
        return d

    def originals(self, ns):
        return {k: sysctl(ns, k) for k in SIX}

    def test_hides_the_vip_and_restores_on_stop(self):
        rs1 = self.rs[0]
        # Without the role, a real server holding the VIP answers ARP for it.
        sh("ip", "addr", "add", VIP + "/32", "dev", "lo", ns=rs1)
        self.assertIn(mac_of(rs1), arping_macs(self.client))
        sh("ip", "addr", "del", VIP + "/32", "dev", "lo", ns=rs1)
        for ns in self.rs:
            set_operator_values(ns)
        before = [self.originals(ns) for ns in self.rs]
        self.assertEqual(before[0], {k: OPERATOR[k.rsplit(".", 1)[1]] for k in SIX})

        d = [self.start_role(0), self.start_role(1)]
        for ns in self.rs:
            self.assertIn((VIP + "/32", "lo:0"), addrs(ns, "lo"))
            self.assertEqual(self.originals(ns), role_values())
        self.assertEqual(arping_macs(self.client), {mac_of(self.director)})

        # The real server still accepts what the director would route to its MAC.
        srv = subprocess.Popen(["ip", "netns", "exec", rs1, "python3", "-c",
                                "import socket;s=socket.socket();s.setsockopt(1,2,1);"
                                "s.bind(('%s',8080));s.listen();c,_=s.accept();c.sendall(b'rs1');c.close()" % VIP])
        time.sleep(0.3)
        sh("ip", "neigh", "replace", VIP, "lladdr", mac_of(rs1), "dev", "eth0", "nud", "permanent",
           ns=self.client)
        out = sh("python3", "-c", "import socket;c=socket.create_connection(('%s',8080),2);print(c.recv(10).decode())" % VIP,
                 ns=self.client)
        self.assertEqual(out.strip(), "rs1")
        srv.wait(5)

        st = d[0].status()["realserver"]
        self.assertTrue(all(v["present"] for v in st["vips"]))
        self.assertTrue(all(s["wanted"] == s["actual"] for s in st["sysctls"]))
        self.assertEqual(sorted(s["key"] for s in st["sysctls"]),
                         sorted(k.replace(".", "/") for k in SIX))
        self.assertEqual({s["key"]: s["previous"] for s in st["sysctls"]},
                         {k.replace(".", "/"): v for k, v in before[0].items()})

        for i, dd in enumerate(d):
            self.assertEqual(dd.stop(signal.SIGTERM), 0)
            self.assertEqual(self.originals(self.rs[i]), before[i])
            self.assertFalse(has_addr(self.rs[i], VIP, "lo"))

    def test_drift_is_repaired(self):
        rs1 = self.rs[0]
        d = self.start_role(0)
        sh("ip", "addr", "del", VIP + "/32", "dev", "lo", ns=rs1)
        sh("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=0", ns=rs1)
        wait_for(lambda: has_addr(rs1, VIP, "lo") and sysctl(rs1, "net.ipv4.conf.all.arp_ignore") == "1",
                 1.5, what="drift repaired within one check period")
        self.assertGreaterEqual(d.status()["realserver"]["repairs"], 2)
        self.assertIn("was missing from lo, added back", d.logs())
        self.assertIn("arp_ignore was 0, set back to 1", d.logs())

    def test_crash_then_restart_restores_the_original_values(self):
        rs1 = self.rs[0]
        set_operator_values(rs1)  # an operator's own values, on all six
        before = self.originals(rs1)
        d = self.start_role(0)
        d.stop(signal.SIGKILL)
        self.assertEqual(self.originals(rs1), role_values())  # left behind
        d2 = self.start_role(0)
        self.assertEqual(d2.stop(signal.SIGTERM), 0)
        self.assertEqual(self.originals(rs1), before)
        self.assertFalse(has_addr(rs1, VIP, "lo"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp.path, "rs0-run", "realserver.state")))


if __name__ == "__main__":
    hdtest.main()
