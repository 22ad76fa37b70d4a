"""Virtual servers on a kernel without IPVS: `run` refuses with one clear line
unless dataplane = "none", in which case the checks run and report."""
import http.server
import os
import signal
import socket
import subprocess
import threading
import unittest

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

    def config(self, dataplane):
        sock = os.path.join(self.tmp.path, "c.sock")
        return self.tmp.file("c.toml", """[global]
control_socket = "%s"
%s
[[virtual_server]]
address = "127.0.0.1"
port = 80
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = %d
  check = { type = "http", path = "/", interval = "200ms", timeout = "150ms", rise = 2, fall = 2 }
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = %d
  check = { type = "tcp", interval = "200ms", timeout = "150ms" }
  [[virtual_server.real_server]]
  address = "127.0.0.2"
  port = 80
""" % (sock, dataplane, self.httpd.server_address[1], self.closed_port)), sock

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

        def target(suffix):
            for t in self.d.status()["checkers"]["targets"]:
                if t["id"].endswith(suffix):
                    return t
        wait_for(lambda: target(":%d" % port)["state"] == "up", 3, what="http check up")
        self.assertEqual(target(":%d" % port)["last_result"], "ok")
        wait_for(lambda: target(":%d" % self.closed_port)["last_result"] == "connect refused", 3,
                 what="refused reason")
        self.assertEqual(target(":%d" % self.closed_port)["state"], "down")
        st = self.d.status()["ipvs"]
        self.assertEqual(st["dataplane"], "none")
        desired = st["services"][0]["desired"]
        # Up and unchecked servers are in the desired table; the refused one is not.
        self.assertEqual(sorted(desired), ["127.0.0.1:%d nat w1" % port, "127.0.0.2:80 nat w1"])
        self.assertIsNone(st["services"][0]["kernel"])
        # The server starts answering 503: down after `fall` results, with the reason.
        self.httpd.fail = True
        wait_for(lambda: target(":%d" % port)["state"] == "down", 3, what="http check down")
        self.assertEqual(target(":%d" % port)["last_result"], "bad status 503")
        self.assertIn("down (bad status 503)", self.d.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
