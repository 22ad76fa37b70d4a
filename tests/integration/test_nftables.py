# SPDX-License-Identifier: GPL-2.0-or-later
"""dataplane = "nftables" on this machine's own kernel (no IPVS here), end to end in network
namespaces: a client, a director running hadirector (NAT: the real servers' gateway), three
real servers serving HTTP. New connections share out 1:2:3 as wrr's weights say (numgen
inc over weight-wide ranges is exact per cycle); a real server whose check fails leaves the
rotation with no failed request after its check fell; it comes back; sh sends one client to
one server every time; a restart changes nothing in the table (it keeps forwarding while the
daemon is down and is adopted); changes made to the table by hand are repaired by the drift
sweep; the table holds only
what hadirector wrote, and a foreign table is untouched."""
import collections
import json
import os
import signal
import subprocess
import sys
import time
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, sh

VIP = "10.9.0.100"
REALS = ["10.10.0.11", "10.10.0.12", "10.10.0.13"]
VIP6 = "fd00:9::100"
REALS6 = ["fd00:10::11", "fd00:10::12", "fd00:10::13"]

_CLIENT = r'''
import json, sys, urllib.request
n, url = int(sys.argv[1]), sys.argv[2]
got, failed = {}, 0
for _ in range(n):
    try:
        body = urllib.request.urlopen(url, timeout=2).read().decode().strip()
        got[body] = got.get(body, 0) + 1
    except Exception:
        failed += 1
print(json.dumps({"served": got, "failed": failed}))
'''


# Requests from one source address each, a new connection per request.
_SOURCED = r'''
import http.client, json, sys
n, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = {}
for src in sys.argv[4:]:
    got, failed = {}, 0
    for _ in range(n):
        try:
            c = http.client.HTTPConnection(host, port, timeout=2, source_address=(src, 0))
            c.request("GET", "/")
            body = c.getresponse().read().decode().strip()
            c.close()
            got[body] = got.get(body, 0) + 1
        except Exception:
            failed += 1
    out[src] = {"served": got, "failed": failed}
print(json.dumps(out))
'''


def checked_reals(weights=(1, 1, 1)):
    """The three real servers as [[virtual_server.real_server]] tables, each with a fast TCP
    check (connect, every 200 ms, one result decides)."""
    return "\n".join("""  [[virtual_server.real_server]]
  address = "%s"
  port = 80
  weight = %d
  check = { type = "tcp", probe = "connect", interval = "200ms", timeout = "200ms", fall = 1, rise = 1 }
""" % (ip, w) for ip, w in zip(REALS, weights))


class NftablesDataplane(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("hdn")
        self.tmp = TempDir()
        self.daemon = None
        self.servers = {}
        try:
            self.ns_c = self.lab.host("c", ["10.9.0.50/24", "fd00:9::50/64"])
            self.ns_d = self.lab.host("d", ["10.9.0.2/24", "10.10.0.1/24", VIP + "/32",
                                            "fd00:9::2/64", "fd00:10::1/64", VIP6 + "/128"])
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=self.ns_d)
            sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=self.ns_d)
            # Client and real servers share the bridge: no redirect past the director.
            sh("sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0", ns=self.ns_d)
            sh("sysctl", "-qw", "net.ipv4.conf.eth0.send_redirects=0", ns=self.ns_d)
            self.ns_r = []
            for i, ip in enumerate(REALS):
                ns = self.lab.host("r%d" % (i + 1), [ip + "/24", REALS6[i] + "/64"])
                sh("ip", "route", "add", "default", "via", "10.10.0.1", ns=ns)
                sh("ip", "-6", "route", "add", "default", "via", "fd00:10::1", ns=ns)
                # IPv6 has no send_redirects to turn off on the director: the real servers
                # ignore its redirects (one would send replies past it, un-NATed).
                for conf in ("all", "eth0"):
                    sh("sysctl", "-qw", "net.ipv6.conf.%s.accept_redirects=0" % conf, ns=ns)
                self.ns_r.append(ns)
                self.serve(i)
        except Exception:
            self.tearDown()
            raise

    def tearDown(self):
        if self.daemon:
            self.daemon.stop(signal.SIGKILL)
        for p in self.servers.values():
            p.kill()
            p.wait()
        self.lab.close()
        self.tmp.cleanup()

    def serve(self, i, v6=False):
        d = os.path.join(self.tmp.path, "rs%d" % (i + 1))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("rs%d\n" % (i + 1))
        key = (i, v6)
        self.servers[key] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns_r[i], sys.executable, "-m", "http.server", "80",
             "--bind", (REALS6 if v6 else REALS)[i], "-d", d],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def requests(self, n, url="http://%s/" % VIP):
        r = subprocess.run(["ip", "netns", "exec", self.ns_c, sys.executable, "-c", _CLIENT, str(n),
                            url], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def up(self):
        return self.daemon.status()["checkers"]["up"]

    def sourced(self, n, port, *sources):
        r = subprocess.run(["ip", "netns", "exec", self.ns_c, sys.executable, "-c", _SOURCED, str(n),
                            VIP, str(port)] + list(sources), capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_persistence_through_nftables(self):
        """persistence_timeout: each client keeps its real server over many new connections
        (rr would spread them: the first test shows it does), another client gets the next
        server; with persistence_netmask = 24 two clients of one /24 share one; a client
        whose server fails moves once and sticks to its new one; its record lasts the timeout
        after its last new connection; a restart keeps the records (adopted)."""
        sock = os.path.join(self.tmp.path, "d.sock")
        reals = checked_reals()
        cfg = self.tmp.file("d.toml", """[global]
control_socket = "%s"
dataplane = "nftables"
reconcile_interval = "500ms"

[[virtual_server]]
address = "%s"
port = 80
scheduler = "rr"
persistence_timeout = 4
%s
[[virtual_server]]
address = "%s"
port = 81
scheduler = "rr"
persistence_timeout = 300
persistence_netmask = 24
real_server = [ { address = "10.10.0.11", port = 80 }, { address = "10.10.0.12", port = 80 },
                { address = "10.10.0.13", port = 80 } ]
""" % (sock, VIP, reals, VIP))
        a, b = "10.9.0.50", "10.9.0.51"
        sh("ip", "addr", "add", b + "/24", "dev", "eth0", ns=self.ns_c)
        self.daemon = Daemon(cfg, sock, netns=self.ns_d).wait_ready()
        wait_for(lambda: self.up() == 3, 10, what="three real servers up")

        def one_server(res):
            self.assertEqual(res["failed"], 0, res)
            self.assertEqual(len(res["served"]), 1, res)
            return next(iter(res["served"]))

        got = self.sourced(12, 80, a, b)
        print("persistent, 12 each:", got)
        sa, sb = one_server(got[a]), one_server(got[b])
        self.assertNotEqual(sa, sb, "rr gives the second client the next server")
        # The netmask: a and b are one client in 10.9.0.0/24.
        got = self.sourced(6, 81, a, b)
        self.assertEqual(one_server(got[a]), one_server(got[b]), got)
        # The record is in the kernel: a's address in its server's set, with the timeout.
        rs_hex = "%02x%02x%02x%02x" % tuple(int(x) for x in REALS[int(sa[2:]) - 1].split("."))
        pset = "p_0a090064_tcp_80_%s_80" % rs_hex
        listed = sh("nft", "list", "set", "ip", "hadirector", pset, ns=self.ns_d)
        self.assertIn(a + " timeout 4s", listed)
        # A restart keeps the records: the table is adopted, a still reaches its server.
        self.assertEqual(self.daemon.stop(signal.SIGTERM), 0)
        self.daemon = Daemon(cfg, sock, netns=self.ns_d, log_path=cfg + ".2.log").wait_ready()
        wait_for(lambda: self.up() == 3, 10, what="three real servers up after the restart")
        self.assertIn(a + " timeout 4s", sh("nft", "list", "set", "ip", "hadirector", pset, ns=self.ns_d),
                      "a's record kept through the restart")
        self.assertEqual(one_server(self.sourced(4, 80, a)[a]), sa)
        # a's server fails: once its check fell, a moves to one other server and stays there;
        # b keeps its own.
        i = int(sa[2:]) - 1
        self.servers.pop((i, False)).kill()
        wait_for(lambda: self.up() == 2, 10, what=sa + " down")
        got = self.sourced(8, 80, a, b)
        last = time.monotonic()
        moved = one_server(got[a])
        self.assertNotEqual(moved, sa)
        self.assertEqual(one_server(got[b]), sb)
        self.assertNotIn(pset, sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d),
                         "the failed server's clients went with it")
        # The record lasts the timeout after the client's last new connection, then goes.
        self.assertIn(a + " ", sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d))
        wait_for(lambda: a + " " not in sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d), 8,
                 what="a's record expired")
        self.assertGreater(time.monotonic() - last, 3.0, "not before its timeout")

    def test_nat_through_nftables_with_weights_and_health(self):
        sock = os.path.join(self.tmp.path, "d.sock")
        reals = checked_reals((1, 2, 3))
        cfg = self.tmp.file("d.toml", """[global]
control_socket = "%s"
dataplane = "nftables"
reconcile_interval = "500ms"

[[virtual_server]]
address = "%s"
port = 80
scheduler = "wrr"
forwarding = "nat"
%s
[[virtual_server]]
address = "%s"
port = 81
scheduler = "sh"
real_server = [ { address = "10.10.0.11", port = 80 }, { address = "10.10.0.12", port = 80 },
                { address = "10.10.0.13", port = 80 } ]
""" % (sock, VIP, reals, VIP))
        sh("nft", "add table ip someone_else", ns=self.ns_d)
        self.daemon = Daemon(cfg, sock, netns=self.ns_d).wait_ready()
        wait_for(lambda: self.up() == 3, 10, what="three real servers up")  # checked ones
        st = self.daemon.status()
        self.assertEqual(st["ipvs"]["dataplane"], "nftables")

        got = self.requests(60)
        print("60 new connections:", got)
        self.assertEqual(got["failed"], 0)
        # wrr 1:2:3, exact per cycle of 6.
        self.assertEqual(got["served"], {"rs1": 10, "rs2": 20, "rs3": 30})

        # sh: one client, one server (a hash of its address), every time.
        r = subprocess.run(["ip", "netns", "exec", self.ns_c, sys.executable, "-c", _CLIENT, "20",
                            "http://%s:81/" % VIP], capture_output=True, text=True, timeout=60)
        sh_got = json.loads(r.stdout)
        print("sh, 20 new connections from one client:", sh_got)
        self.assertEqual(sh_got["failed"], 0)
        self.assertEqual(list(sh_got["served"].values()), [20])

        # rs3 stops: its check falls, it leaves the rotation; nothing fails after that.
        self.servers[(2, False)].kill()
        self.servers[(2, False)].wait()
        wait_for(lambda: self.up() == 2, 5, what="rs3 down")
        chain = sh("nft", "list", "chain", "ip", "hadirector", "s_0a090064_tcp_80", ns=self.ns_d)
        self.assertNotIn("10.10.0.13", chain)
        self.assertIn("numgen inc mod 3", chain)
        got = self.requests(30)
        print("30 with rs3 down:", got)
        self.assertEqual(got, {"served": {"rs1": 10, "rs2": 20}, "failed": 0})

        # Back in rotation once its check passes again.
        self.serve(2)
        wait_for(lambda: self.up() == 3, 10, what="rs3 up again")
        got = self.requests(60)
        self.assertEqual(got["failed"], 0)
        self.assertEqual(got["served"], {"rs1": 10, "rs2": 20, "rs3": 30})
        # A restart changes nothing in the kernel: the table keeps forwarding while the daemon
        # is down, and the next run adopts it (its real servers start as up, no rewrite).
        before = sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d)
        self.assertEqual(self.daemon.stop(signal.SIGTERM), 0)
        got = self.requests(12)
        self.assertEqual((got["failed"], sum(got["served"].values())), (0, 12), got)
        self.daemon = Daemon(cfg, os.path.join(self.tmp.path, "d.sock"), netns=self.ns_d,
                             log_path=cfg + ".2.log").wait_ready()
        got = self.requests(12)
        self.assertEqual((got["failed"], sum(got["served"].values())), (0, 12), got)
        self.assertEqual(sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d), before)
        self.assertIn("adopting", self.daemon.logs())
        # Drift: the table changed by hand (the wrr chain flushed, the sh service's map element
        # deleted, a stray service added, prerouting flushed) is put back by the next sweep
        # (reconcile_interval), as IPVS's drift is.
        damage = self.tmp.file("damage.nft", """flush chain ip hadirector s_0a090064_tcp_80
delete element ip hadirector services { 10.9.0.100 . tcp . 81 }
add chain ip hadirector s_0a0900c8_tcp_80
add rule ip hadirector s_0a0900c8_tcp_80 drop
add element ip hadirector services { 10.9.0.200 . tcp . 80 : jump s_0a0900c8_tcp_80 }
flush chain ip hadirector prerouting
""")
        sh("nft", "-f", damage, ns=self.ns_d)
        def repaired():
            t = sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d)
            return (sorted(t.split("\n")) == sorted(before.split("\n"))) or \
                ("numgen inc mod 6" in t and "10.9.0.100 . tcp . 81 : jump" in t and
                 "s_0a0900c8" not in t and "10.9.0.200" not in t and t.count("vmap @services") == 2)
        wait_for(repaired, 5, what="the table repaired by the drift sweep")
        got = self.requests(60)
        self.assertEqual(got["failed"], 0)
        self.assertEqual(got["served"], {"rs1": 10, "rs2": 20, "rs3": 30})
        logs = self.daemon.logs()
        self.assertIn("10.9.0.200:80: in table ip hadirector but not programmed by this daemon: removed", logs)
        self.assertIn("TCP 10.9.0.100:81: its map element is gone: writing it again", logs)
        # The foreign table is as it was; hadirector's own is the only other one.
        tables = sh("nft", "list", "tables", ns=self.ns_d).split("\n")
        self.assertIn("table ip someone_else", tables)
        self.assertIn("table ip hadirector", tables)
        # Leaving nftables (here for no data plane) removes its table: left behind, it would
        # keep forwarding to a frozen set of servers ahead of IPVS.
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace('dataplane = "nftables"', 'dataplane = "none"'))
        ans = self.daemon.request("reload")
        self.assertTrue(ans.startswith("ok"), ans)
        tables = sh("nft", "list", "tables", ns=self.ns_d).split("\n")
        self.assertNotIn("table ip hadirector", tables)
        self.assertIn("table ip someone_else", tables)

    def test_drain_waits_for_connections_counted_by_conntrack(self):
        """A drain with nftables ends when the real server's last active connection does
        (conntrack counts them, as IPVS's table does), not at its timeout; the metrics show
        the count (active/inactive), and not the IPVS-only totals."""
        sock = os.path.join(self.tmp.path, "d.sock")
        cfg = self.tmp.file("d.toml", """[global]
control_socket = "%s"
dataplane = "nftables"
reconcile_interval = "500ms"
metrics = { listen = "127.0.0.1:9406" }
state_dir = "%s"

[[virtual_server]]
address = "%s"
port = 82
scheduler = "rr"
real_server = [ { address = "10.10.0.11", port = 80 }, { address = "10.10.0.12", port = 80, weight = 0 } ]
""" % (sock, self.tmp.path, VIP))
        self.daemon = Daemon(cfg, sock, netns=self.ns_d).wait_ready()
        metric = 'hadirector_ipvs_real_server_connections{vs="TCP %s:82",rs="10.10.0.11:80",state="%%s"} ' % VIP

        def metrics():
            return sh("curl", "-s", "http://127.0.0.1:9406/metrics", ns=self.ns_d)

        wait_for(lambda: metric % "active" + "0" in metrics(), 10, what="the connection count at 0")
        # One long-lived connection through the VIP (the server waits for its request).
        hold = subprocess.Popen(
            ["ip", "netns", "exec", self.ns_c, sys.executable, "-c",
             "import socket, sys\n"
             "s = socket.create_connection(('%s', 82), timeout=5)\n"
             "print('up', flush=True)\n"
             "sys.stdin.readline()\n"
             "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
             "print(s.makefile().readline().strip(), flush=True)\n"
             "sys.stdin.read()\n" % VIP],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(hold.stdout.readline().strip(), "up")
            wait_for(lambda: metric % "active" + "1" in metrics(), 10, what="one active connection")
            text = metrics()
            self.assertNotIn('hadirector_ipvs_real_server_packets_total{vs="TCP %s:82"' % VIP, text)
            self.assertNotIn('rs="10.10.0.11:80",state="persistent"', text)
            t0 = time.monotonic()
            wait = subprocess.Popen([hdtest.BIN, "ctl", "--socket", sock, "drain", "%s:82" % VIP,
                                     "10.10.0.11:80", "--timeout", "60s", "--wait"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(2.5)  # sweeps count every 500 ms: the connection is still active
            self.assertIsNone(wait.poll(), "drain --wait answered while a connection is active")
            # The established connection still works, though its service now takes no new
            # connection (its rule is drop: keep_nat keeps the kernel translating it).
            hold.stdin.write("go\n")
            hold.stdin.flush()
            self.assertEqual(hold.stdout.readline().strip(), "HTTP/1.0 200 OK")
            hold.stdin.close()
            hold.wait(timeout=10)
            try:
                out, _ = wait.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                print([l for l in metrics().splitlines() if "real_server_connections{" in l], self.daemon.logs())
                raise
            took = time.monotonic() - t0
            answer = json.loads(out.strip().splitlines()[-1])
            self.assertEqual((answer.get("override"), answer.get("reason")),
                             ("drained", "no active connection is left"), out)
            self.assertLess(took, 15, "ended by the connection, not the 60 s timeout")
        finally:
            if hold.poll() is None:
                hold.kill()
                hold.wait()
        wait_for(lambda: "10.10.0.11" not in sh("nft", "list", "table", "ip", "hadirector", ns=self.ns_d),
                 5, what="the drained server out of the table")

    def test_ipv6_nat_through_nftables(self):
        """IPv6 services in their own table (ip6 hadirector), beside an IPv4 one: wrr 1:2:3
        exact, a failed real server out of rotation, both tables read back."""
        for i in range(3):
            self.serve(i, v6=True)
        sock = os.path.join(self.tmp.path, "d6.sock")
        reals = "\n".join("""  [[virtual_server.real_server]]
  address = "%s"
  port = 80
  weight = %d
  check = { type = "tcp", probe = "connect", interval = "200ms", timeout = "200ms", fall = 1, rise = 1 }
""" % (ip, w) for ip, w in zip(REALS6, (1, 2, 3)))
        cfg = self.tmp.file("d6.toml", """[global]
control_socket = "%s"
dataplane = "nftables"

[[virtual_server]]
address = "%s"
port = 80
scheduler = "wrr"
forwarding = "nat"
%s
[[virtual_server]]
address = "%s"
port = 80
scheduler = "rr"
real_server = [ { address = "10.10.0.11", port = 80 } ]
""" % (sock, VIP6, reals, VIP))
        self.daemon = Daemon(cfg, sock, netns=self.ns_d).wait_ready()
        wait_for(lambda: self.up() == 3, 10, what="three IPv6 real servers up")  # the IPv4 one has no check
        url = "http://[%s]/" % VIP6
        got = self.requests(60, url)
        print("60 new IPv6 connections:", got)
        self.assertEqual(got, {"served": {"rs1": 10, "rs2": 20, "rs3": 30}, "failed": 0})
        got4 = self.requests(5)
        self.assertEqual(got4, {"served": {"rs1": 5}, "failed": 0})
        tables = sh("nft", "list", "tables", ns=self.ns_d).split("\n")
        self.assertIn("table ip hadirector", tables)
        self.assertIn("table ip6 hadirector", tables)
        chain = sh("nft", "list", "table", "ip6", "hadirector", ns=self.ns_d)
        self.assertIn("fd00:9::100 . tcp . 80 : jump s6_fd000009000000000000000000000100_tcp_80", chain)
        # rs3 stops: out of rotation, 1:2 over the other two, nothing failed.
        self.servers[(2, True)].kill()
        self.servers[(2, True)].wait()
        wait_for(lambda: self.up() == 2, 5, what="IPv6 rs3 down")
        got = self.requests(30, url)
        self.assertEqual(got, {"served": {"rs1": 10, "rs2": 20}, "failed": 0})
        # Leaving nftables removes both tables.
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace('dataplane = "nftables"', 'dataplane = "none"'))
        ans = self.daemon.request("reload")
        self.assertTrue(ans.startswith("ok"), ans)
        tables = sh("nft", "list", "tables", ns=self.ns_d).split("\n")
        self.assertNotIn("table ip hadirector", tables)
        self.assertNotIn("table ip6 hadirector", tables)


if __name__ == "__main__":
    hdtest.main()
