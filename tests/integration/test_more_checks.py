# SPDX-License-Identifier: GPL-2.0-or-later
"""The checkers keepalived users rely on (#15), against real servers in namespaces.
The udp check against a real UDP server: Debian's dnsmasq answers DNS in a namespace of
its own; hadirector (dataplane = "none") checks it with a DNS query as the payload and the
answer's address as the expected bytes. Up while dnsmasq answers; "expect mismatch" for a
name it does not know; "connect refused: port unreachable" (the ICMP error the real server's
kernel sends) once dnsmasq is gone; up again when it is back. The ping check: up while the
host answers, down ("timeout: no echo reply") once its interface is down. The smtp check
against Python's own SMTP server (smtpd): up while it runs, "connect refused" once stopped."""
import os
import shutil
import signal
import subprocess
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, sh


def dns_query(name, qid=0x1234):
    """A DNS query for `name`, type A, class IN, recursion desired, as hex."""
    q = bytes([qid >> 8, qid & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return (q + b"\x00\x00\x01\x00\x01").hex()


class MoreChecks(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("ud")
        self.tmp = TempDir()
        self.ns_dns = self.lab.host("dns", ["10.9.0.53/24"])
        self.ns_dir = self.lab.host("dir", ["10.9.0.2/24"])
        self.dnsmasq = None
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop(signal.SIGKILL)
        self.stop_dnsmasq()
        self.lab.close()
        self.tmp.cleanup()

    def start_dnsmasq(self):
        self.assertTrue(shutil.which("dnsmasq"), "dnsmasq (scripts/install-deps.sh: dnsmasq-base)")
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.ns_dns, "dnsmasq", "--keep-in-foreground",
             "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
             "--listen-address=10.9.0.53", "--port=53", "--address=/example.test/192.0.2.7",
             "--pid-file=" + os.path.join(self.tmp.path, "dnsmasq.pid"), "--user=root"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_dnsmasq(self):
        if self.dnsmasq and self.dnsmasq.poll() is None:
            self.dnsmasq.kill()
            self.dnsmasq.wait()

    def target(self, rs):
        for t in self.d.status()["checkers"]["targets"]:
            if rs in t["id"]:
                return t

    def test_a_dns_server_checked_over_udp(self):
        self.start_dnsmasq()
        sock = os.path.join(self.tmp.path, "c.sock")
        check = ('{ type = "udp", send_hex = "%s", expect_hex = "c0000207", interval = "200ms", '
                 'timeout = "150ms" }')
        cfg = self.tmp.file("c.toml", """[global]
control_socket = "%s"
dataplane = "none"
[[virtual_server]]
address = "10.9.0.100"
port = 53
protocol = "udp"
  [[virtual_server.real_server]]
  address = "10.9.0.53"
  check = %s
[[virtual_server]]
address = "10.9.0.101"
port = 53
protocol = "udp"
  [[virtual_server.real_server]]
  address = "10.9.0.53"
  check = %s
""" % (sock, check % dns_query("example.test"), check % dns_query("unknown.test")))
        self.d = Daemon(cfg, sock, netns=self.ns_dir).wait_ready()
        known = lambda: self.target("10.9.0.100:53 ")
        unknown = lambda: self.target("10.9.0.101:53 ")
        wait_for(lambda: known()["state"] == "up", 5, what="the udp check up")
        self.assertEqual(known()["last_result"], "ok")
        # dnsmasq answers an unknown name too (no address in it): a wrong reply.
        wait_for(lambda: (unknown()["last_result"] or "").startswith("expect mismatch"), 5,
                 what="expect mismatch for the unknown name")
        self.assertEqual(unknown()["state"], "down")
        self.stop_dnsmasq()
        wait_for(lambda: known()["state"] == "down", 5, what="down once dnsmasq is gone")
        self.assertEqual(known()["last_result"], "connect refused: port unreachable")
        self.start_dnsmasq()
        wait_for(lambda: known()["state"] == "up", 5, what="up again")

    def test_udp_to_a_dead_host_is_down(self):
        # No reply needed, but the host is gone: ARP fails and the director's kernel says
        # host unreachable, which the check must hear (IP_RECVERR), or it would pass.
        sh("sysctl", "-qw", "net.ipv4.neigh.eth0.mcast_solicit=1", ns=self.ns_dir)
        sh("sysctl", "-qw", "net.ipv4.neigh.eth0.retrans_time_ms=100", ns=self.ns_dir)
        sock = os.path.join(self.tmp.path, "x.sock")
        cfg = self.tmp.file("x.toml", """[global]
control_socket = "%s"
dataplane = "none"
[[virtual_server]]
address = "10.9.0.100"
port = 514
protocol = "udp"
  [[virtual_server.real_server]]
  address = "10.9.0.99"
  check = { type = "udp", send = "ping", interval = "1s", timeout = "800ms", initial_state = "up" }
""" % sock)
        self.d = Daemon(cfg, sock, netns=self.ns_dir).wait_ready()
        t = lambda: self.target("10.9.0.99")
        wait_for(lambda: t()["state"] == "down", 6, what="the dead host down")
        self.assertEqual(t()["last_result"], "connect failed: No route to host")

    def test_dns(self):
        self.start_dnsmasq()
        sock = os.path.join(self.tmp.path, "d.sock")
        check = '{ type = "dns", query_name = "%s", interval = "200ms", timeout = "150ms" }'
        cfg = self.tmp.file("d.toml", """[global]
control_socket = "%s"
dataplane = "none"
[[virtual_server]]
address = "10.9.0.100"
port = 53
protocol = "udp"
  [[virtual_server.real_server]]
  address = "10.9.0.53"
  check = %s
[[virtual_server]]
address = "10.9.0.101"
port = 53
protocol = "udp"
  [[virtual_server.real_server]]
  address = "10.9.0.53"
  check = %s
""" % (sock, check % "example.test", check % "unknown.test"))
        self.d = Daemon(cfg, sock, netns=self.ns_dir).wait_ready()
        known = lambda: self.target("10.9.0.100:53 ")
        unknown = lambda: self.target("10.9.0.101:53 ")
        wait_for(lambda: known()["state"] == "up", 5, what="the dns check up")
        # dnsmasq, with no upstream, refuses what it cannot answer: an RCODE, so down.
        wait_for(lambda: (unknown()["last_result"] or "").startswith("bad status"), 5,
                 what="an RCODE for the unknown name")
        self.assertEqual(unknown()["state"], "down")
        self.stop_dnsmasq()
        wait_for(lambda: known()["state"] == "down", 5, what="down once dnsmasq is gone")
        self.assertEqual(known()["last_result"], "connect refused: port unreachable")

    def test_ping(self):
        sock = os.path.join(self.tmp.path, "p.sock")
        cfg = self.tmp.file("p.toml", """[global]
control_socket = "%s"
dataplane = "none"
[[virtual_server]]
address = "10.9.0.100"
port = 80
  [[virtual_server.real_server]]
  address = "10.9.0.53"
  check = { type = "ping", interval = "200ms", timeout = "150ms" }
""" % sock)
        self.d = Daemon(cfg, sock, netns=self.ns_dir).wait_ready()
        t = lambda: self.target("10.9.0.53")
        wait_for(lambda: t()["state"] == "up", 5, what="ping up")
        self.assertEqual(t()["last_result"], "ok")
        sh("ip", "link", "set", "eth0", "down", ns=self.ns_dns)
        wait_for(lambda: t()["state"] == "down", 5, what="ping down")
        self.assertEqual(t()["last_result"], "timeout: no echo reply")
        sh("ip", "link", "set", "eth0", "up", ns=self.ns_dns)
        wait_for(lambda: t()["state"] == "up", 5, what="ping up again")

    def test_smtp(self):
        smtpd = subprocess.Popen(
            ["ip", "netns", "exec", self.ns_dns, "python3", "-W", "ignore", "-c",
             "import smtpd, asyncore\n"
             "smtpd.DebuggingServer(('10.9.0.53', 25), None)\n"
             "asyncore.loop()"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            sock = os.path.join(self.tmp.path, "s.sock")
            cfg = self.tmp.file("s.toml", """[global]
control_socket = "%s"
dataplane = "none"
[[virtual_server]]
address = "10.9.0.100"
port = 25
  [[virtual_server.real_server]]
  address = "10.9.0.53"
  check = { type = "smtp", helo_name = "director.test", interval = "300ms", timeout = "250ms" }
""" % sock)
            self.d = Daemon(cfg, sock, netns=self.ns_dir).wait_ready()
            t = lambda: self.target("10.9.0.53")
            wait_for(lambda: t()["state"] == "up", 5, what="smtp up")
            self.assertEqual(t()["last_result"], "ok")
        finally:
            smtpd.kill()
            smtpd.wait()
        wait_for(lambda: t()["state"] == "down", 5, what="smtp down")
        self.assertEqual(t()["last_result"], "connect refused")


if __name__ == "__main__":
    hdtest.main()
