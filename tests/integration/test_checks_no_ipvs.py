# SPDX-License-Identifier: GPL-2.0-or-later
"""Virtual servers on a kernel without IPVS: `run` refuses with one clear line
unless dataplane = "none", in which case the checks run and report."""
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import hdtest
from hdtest import BIN, Daemon, TempDir, wait_for


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 503 if self.server.fail else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def has_ipvs():
    return os.path.exists("/proc/net/ip_vs")


class NoIpvs(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.fail = False
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.closed_port = s.getsockname()[1]
        s.close()
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop(signal.SIGKILL)
        self.httpd.shutdown()
        self.tmp.cleanup()

    def config(self, dataplane, third_check=""):
        sock = os.path.join(self.tmp.path, "c.sock")
        return self.tmp.file("c.toml", """[global]
control_socket = "%s"
%s
[[virtual_server]]
address = "127.0.0.1"
port = 80
slow_start = "3s"
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = %d
  weight = 4
  check = { type = "http", path = "/", interval = "200ms", timeout = "150ms", rise = 2, fall = 2 }
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = %d
  check = { type = "tcp", interval = "200ms", timeout = "150ms" }
  [[virtual_server.real_server]]
  address = "127.0.0.2"
  port = 80
  %s
""" % (sock, dataplane, self.httpd.server_address[1], self.closed_port, third_check)), sock

    def target(self, suffix):
        for t in self.d.status()["checkers"]["targets"]:
            if t["id"].endswith(suffix):
                return t

    def desired(self):
        return sorted(self.d.status()["ipvs"]["services"][0]["desired"])

    @unittest.skipIf(has_ipvs(), "this kernel has IPVS")
    def test_refuses_without_ipvs_in_one_line(self):
        cfg, _ = self.config("")
        r = subprocess.run([BIN, "run", "-c", cfg], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        errors = [l for l in r.stderr.splitlines() if " error " in l]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn("the kernel has no IPVS", errors[0])
        self.assertIn("modprobe ip_vs", errors[0])
        self.assertIn('dataplane = "none"', errors[0])

    def test_dataplane_none_runs_checks_and_reports(self):
        cfg, sock = self.config('dataplane = "none"')
        self.d = Daemon(cfg, sock).wait_ready()
        port = self.httpd.server_address[1]

        target = self.target
        wait_for(lambda: target(":%d" % port)["state"] == "up", 3, what="http check up")
        self.assertEqual(target(":%d" % port)["last_result"], "ok")
        self.assertEqual(target(":%d" % port)["reason"], "ok")
        # slow_start: the desired weight ramps 1 -> 4 over 3 s, without a kernel too.
        mine = "127.0.0.1:%d nat w" % port
        seen = []
        end = time.time() + 6
        while time.time() < end and (not seen or seen[-1] != 4):
            w = [int(d[len(mine):]) for d in self.desired() if d.startswith(mine)]
            if w and (not seen or seen[-1] != w[0]):
                seen.append(w[0])
            time.sleep(0.03)
        self.assertEqual(seen[-1], 4, "the ramp stopped at %s" % seen)
        self.assertEqual(seen, sorted(seen), "the ramp went down: %s" % seen)
        self.assertTrue(any(w < 4 for w in seen), "no ramp seen: %s" % seen)
        wait_for(lambda: target(":%d" % self.closed_port)["last_result"] == "connect refused", 3,
                 what="refused reason")
        self.assertEqual(target(":%d" % self.closed_port)["state"], "down")
        st = self.d.status()["ipvs"]
        self.assertEqual(st["dataplane"], "none")
        desired = st["services"][0]["desired"]
        # Up and unchecked servers are in the desired table; the refused one is not.
        self.assertEqual(sorted(desired), ["127.0.0.1:%d nat w4" % port, "127.0.0.2:80 nat w1"])
        self.assertIsNone(st["services"][0]["kernel"])
        # The server starts answering 503: down after `fall` results, with the reason.
        self.httpd.fail = True
        wait_for(lambda: target(":%d" % port)["state"] == "down", 3, what="http check down")
        self.assertEqual(target(":%d" % port)["last_result"], "bad status 503")
        self.assertIn("down (bad status 503)", self.d.logs())
        self.assertEqual(target(":%d" % port)["reason"], "bad status 503")
        # Another failure follows: the last result changes, the transition's reason stays.
        self.httpd.shutdown()
        self.httpd.server_close()
        wait_for(lambda: target(":%d" % port)["last_result"] == "connect refused", 3,
                 what="refused after the server closed")
        self.assertEqual(target(":%d" % port)["reason"], "bad status 503")

    def test_file_check_takes_a_server_out_and_moves_its_weight(self):
        # keepalived's FILE_CHECK: an operator (or a tool) writes a number to a file.
        flag = os.path.join(self.tmp.path, "rs2")
        cfg, sock = self.config('dataplane = "none"',
                                'weight = 10\n  check = { type = "file", file = "%s", '
                                'interval = "100ms", timeout = "100ms", weight = 0 }' % flag)
        self.d = Daemon(cfg, sock).wait_ready()
        mine = "127.0.0.2:80 nat w"
        target = self.target
        wait_for(lambda: target("127.0.0.2:80")["last_result"] == "ok", 3, what="file check ok")
        # A missing file reads 0: up (at full weight once slow_start's 3 s ramp is over).
        wait_for(lambda: mine + "10" in self.desired(), 6, what="weight 10")
        with open(flag, "w") as f:
            f.write("1\n")
        wait_for(lambda: target("127.0.0.2:80")["state"] == "down", 3, what="file check down")
        self.assertEqual(target("127.0.0.2:80")["last_result"], "file reads 1")
        # The result travels to the reconciler as a message: the table follows within a batch.
        wait_for(lambda: not [d for d in self.desired() if d.startswith(mine)], 3,
                 what="the server out of the desired table")
        # Not a number: inconclusive, the server stays down (the value read last holds).
        with open(flag, "w") as f:
            f.write("maybe")
        wait_for(lambda: "not an integer" in target("127.0.0.2:80")["last_result"], 3,
                 what="the bad read shown")
        self.assertEqual(target("127.0.0.2:80")["state"], "down")
        os.unlink(flag)
        wait_for(lambda: target("127.0.0.2:80")["state"] == "up", 3, what="file check up")
        # With a weight: the server's weight follows the number (10 + 3 x 5).
        with open(cfg) as f:
            cfg2 = f.read().replace("weight = 0 }", "weight = 5 }")
        with open(cfg, "w") as f:
            f.write(cfg2)
        with open(flag, "w") as f:
            f.write("3")
        self.d.send(signal.SIGHUP)
        wait_for(lambda: mine + "25" in self.desired(), 6, what="weight 25")

    def test_reload_adding_a_check_keeps_a_serving_server_up(self):
        # 127.0.0.2:80 has no check (always up); the reload gives it one that proves it up
        # only after 3 results, through connect_address/connect_port (the httpd). It must not
        # leave the desired table meanwhile.
        cfg, sock = self.config('dataplane = "none"')
        self.d = Daemon(cfg, sock).wait_ready()
        wait_for(lambda: "127.0.0.2:80 nat w1" in self.desired(), 3, what="unchecked server in")
        self.config('dataplane = "none"',
                    'check = { type = "tcp", probe = "connect", connect_address = "127.0.0.1", '
                    'connect_port = %d, interval = "300ms", timeout = "200ms", rise = 3 }'
                    % self.httpd.server_address[1])
        self.d.send(signal.SIGHUP)
        wait_for(lambda: self.target("-> 127.0.0.2:80") is not None, 3, what="new check")
        end = time.time() + 1.5
        while time.time() < end:
            self.assertIn("127.0.0.2:80 nat w1", self.desired())
            time.sleep(0.02)
        t = self.target("-> 127.0.0.2:80")
        self.assertEqual(t["state"], "up")
        self.assertEqual(t["last_result"], "ok")  # the httpd answered, not 127.0.0.2:80
        self.assertGreaterEqual(t["checks"], 3)

    def test_without_cap_net_raw_tcp_checks_fall_back_to_full_connects(self):
        # Half-open probes need a raw socket. A daemon without CAP_NET_RAW (run by hand, or
        # by a unit that drops it) must not call every tcp check an error.
        cfg, sock = self.config('dataplane = "none"',
                                'check = { type = "tcp", connect_address = "127.0.0.1", '
                                'connect_port = %d, interval = "200ms", timeout = "150ms" }'
                                % self.httpd.server_address[1])
        self.d = Daemon(cfg, sock, wrap=["setpriv", "--bounding-set", "-net_raw",
                                         "--inh-caps", "-net_raw", "--"]).wait_ready()
        wait_for(lambda: self.target("-> 127.0.0.2:80")["state"] == "up", 3, what="tcp check up")
        self.assertEqual(self.target("-> 127.0.0.2:80")["last_result"], "ok")
        wait_for(lambda: self.target(":%d" % self.closed_port)["last_result"] == "connect refused",
                 3, what="refused through a full connect")
        self.assertIn("syn probes need CAP_NET_RAW", self.d.logs())
        self.assertIn("fall back to full connects", self.d.logs())
        # No raw socket was ever open: no SYN sent, no source ports held.
        self.assertEqual(self.d.status()["checkers"]["syn_probes"], {"unprivileged": True})


if __name__ == "__main__":
    hdtest.main()
