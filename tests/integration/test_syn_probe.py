# SPDX-License-Identifier: GPL-2.0-or-later
"""Half-open TCP checks (probe = "syn", the default for tcp checks) against a
real server in another namespace: up, refused, ICMP unreachable and silence
each give their reason; the server's application never sees a connection and
no half-open connection stays on the server; tshark sees only SYNs and RSTs
from the director, every SYN with a good checksum, every SYN-ACK answered by
an RST. IPv4 and IPv6."""
import collections
import os
import signal
import subprocess
import time
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, sh

LISTENER = r"""
import socket, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s4.bind(("0.0.0.0", 8080)); s4.listen(16)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::", 8080)); s6.listen(16)
print("ready", flush=True)
time.sleep(3600)
"""

NFT = """table inet hdsyntest {
  chain input {
    type filter hook input priority 0;
    tcp dport 8082 reject with icmpx type host-unreachable
    tcp dport 8083 drop
  }
}
"""


class SynProbe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Class cleanups run even when setUpClass fails half-way.
        cls.tmp = TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.lab = Lab("hdsyn")
        cls.addClassCleanup(cls.lab.close)
        cls.d_ns = cls.lab.host("dir", ["10.77.0.1/24", "fd77::1/64"])
        cls.s_ns = cls.lab.host("srv", ["10.77.0.2/24", "fd77::2/64"])
        cls.listener = subprocess.Popen(["ip", "netns", "exec", cls.s_ns, "python3", "-c", LISTENER],
                                        stdout=subprocess.PIPE, text=True)
        cls.addClassCleanup(lambda: (cls.listener.kill(), cls.listener.wait()))
        assert cls.listener.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "netns", "exec", cls.s_ns, "nft", "-f", "-"], input=NFT, text=True,
                       check=True)
        sock = os.path.join(cls.tmp.path, "c.sock")
        rs = lambda addr, port: """  [[virtual_server.real_server]]
  address = "%s"
  port = %d
  check = { type = "tcp", interval = "300ms", timeout = "250ms" }
""" % (addr, port)
        cfg = cls.tmp.file("c.toml", """[global]
control_socket = "%s"
dataplane = "none"
[[virtual_server]]
address = "10.77.0.100"
port = 80
%s
[[virtual_server]]
address = "fd77::100"
port = 80
%s
""" % (sock, "".join(rs("10.77.0.2", p) for p in (8080, 8081, 8082, 8083)),
       "".join(rs("fd77::2", p) for p in (8080, 8081, 8082, 8083))))
        # The capture runs from before the first probe.
        cls.pcap = os.path.join(cls.tmp.path, "srv.pcap")
        cls.tshark = subprocess.Popen(["ip", "netns", "exec", cls.s_ns, "tshark", "-q", "-i", "eth0",
                                       "-a", "duration:4", "-w", cls.pcap, "-f", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.addClassCleanup(lambda: (cls.tshark.poll() is None and cls.tshark.kill(), cls.tshark.wait()))
        time.sleep(1.0)  # tshark needs a moment before it captures
        cls.d = Daemon(cfg, sock, netns=cls.d_ns)
        cls.addClassCleanup(lambda: cls.d.stop(signal.SIGKILL))
        cls.d.wait_ready()

    def results(self):
        # ids: "tcp 10.77.0.100:80 -> 10.77.0.2:8080"
        return {t["id"].split(" -> ", 1)[-1]: (t["state"], t["last_result"])
                for t in self.d.status()["checkers"]["targets"]}

    def test_reasons(self):
        want = {
            "10.77.0.2:8080": ("up", "ok"),
            "10.77.0.2:8081": ("down", "connect refused"),
            "10.77.0.2:8082": ("down", "connect failed: No route to host"),
            "10.77.0.2:8083": ("down", "connect timeout"),
            "[fd77::2]:8080": ("up", "ok"),
            "[fd77::2]:8081": ("down", "connect refused"),
            "[fd77::2]:8082": ("down", "connect failed: No route to host"),
            "[fd77::2]:8083": ("down", "connect timeout"),
        }
        self.maxDiff = None
        try:
            wait_for(lambda: self.results() == want, 5, what="every check's reason")
        except AssertionError:
            self.assertEqual(self.results(), want)
        # Stable: still the same a few intervals later.
        time.sleep(1.0)
        self.assertEqual(self.results(), want)
        self.assertIn("syn probes use source ports", self.d.logs())

    def test_the_server_application_sees_nothing(self):
        wait_for(lambda: self.results().get("10.77.0.2:8080", ("", ""))[0] == "up", 5, what="up")
        time.sleep(1.0)  # a few more probes
        # Recv-Q of a listening socket is its accept queue.
        rows = sh("ss", "-Hltn", "sport", "= :8080", ns=self.s_ns).split("\n")
        queues = [int(r.split()[1]) for r in rows if r.strip()]
        self.assertEqual(len(queues), 2, rows)
        self.assertEqual(queues, [0, 0])
        self.assertEqual(sh("ss", "-Htn", "state", "syn-recv", ns=self.s_ns).strip(), "")

    def test_wire_only_syn_and_rst_with_good_checksums(self):
        self.tshark.wait(timeout=15)
        r = subprocess.run(["tshark", "-r", self.pcap, "-o", "tcp.check_checksum:TRUE", "-T", "fields",
                            "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "tcp.dstport",
                            "-e", "tcp.flags", "-e", "tcp.checksum.status", "-e", "tcp.seq_raw",
                            "-e", "tcp.ack_raw", "-e", "frame.time_relative"],
                           capture_output=True, text=True, check=True)
        syns = collections.Counter()
        synacks, rsts = set(), set()
        lines = r.stdout.splitlines()
        # The capture stops after a fixed time: a SYN-ACK in its last moment may have had
        # its RST cut off, so those are not counted.
        end = max(float(l.split("\t")[-1]) for l in lines)
        for line in lines:
            src4, src6, sport, dport, flags, cks, seq, ack, t = line.split("\t")
            src = src4 or src6
            flags = int(flags, 16)
            if src in ("10.77.0.1", "fd77::1"):
                if flags == 0x002:
                    self.assertEqual(cks, "1", "SYN with a bad checksum: " + line)
                    syns[(src, dport)] += 1
                elif flags & 0x004:
                    rsts.add((src, sport, dport))
                else:
                    self.fail("the director sent more than SYN and RST: " + line)
            elif flags & 0x012 == 0x012 and float(t) < end - 0.2:
                synacks.add(("10.77.0.1" if src == "10.77.0.2" else "fd77::1", dport, sport))
        for src in ("10.77.0.1", "fd77::1"):
            for port in ("8080", "8081", "8082", "8083"):
                self.assertGreaterEqual(syns[(src, port)], 2, (src, port, dict(syns)))
        self.assertTrue(synacks)
        self.assertEqual(synacks - rsts, set(), "SYN-ACKs the director did not reset")


if __name__ == "__main__":
    hdtest.main()
