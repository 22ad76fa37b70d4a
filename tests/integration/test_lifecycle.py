# SPDX-License-Identifier: GPL-2.0-or-later
"""Daemon lifecycle: start, status, bad reload kept out, good reload applied,
SIGTERM exits 0 within a second; sd_notify messages seen on a test socket."""
import os
import signal
import socket
import subprocess
import time
import unittest

import hdtest
from hdtest import BIN, Daemon, TempDir, wait_for


def config(sock, router_id="lvs-a", level="info"):
    return """[global]
router_id = "%s"
log_level = "%s"
control_socket = "%s"
""" % (router_id, level, sock)


class Lifecycle(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.sock = os.path.join(self.tmp.path, "run", "control.sock")
        self.notify_path = os.path.join(self.tmp.path, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(5)
        self.cfg = self.tmp.file("hd.toml", config(self.sock))
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop(signal.SIGKILL)
        self.notify.close()
        self.tmp.cleanup()

    def notes(self, until):
        """Collect sd_notify datagrams until one contains `until`."""
        got = []
        while True:
            msg = self.notify.recv(4096).decode()
            got.append(msg)
            if until in msg:
                return got

    def test_start_reload_stop(self):
        self.d = Daemon(self.cfg, self.sock, env={"NOTIFY_SOCKET": self.notify_path})
        self.d.wait_ready()
        self.assertIn("READY=1", "".join(self.notes("READY=1")))
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o600)
        st = self.d.status()
        self.assertEqual(st["router_id"], "lvs-a")
        self.assertEqual(st["config"]["generation"], 1)
        self.assertEqual(st["pid"], self.d.proc.pid)

        # The CLI reads the same state.
        r = subprocess.run([BIN, "status", "--socket", self.sock], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("router_id lvs-a", r.stdout)
        r = subprocess.run([BIN, "status", "--json", "-c", self.cfg], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn('"router_id": "lvs-a"', r.stdout)

        # A broken config: the daemon keeps running the old one and logs the position.
        with open(self.cfg, "w") as f:
            f.write(config(self.sock, router_id="lvs-b") + "bogus_key = 1\n")
        self.d.send(signal.SIGHUP)
        notes = self.notes("READY=1")
        self.assertTrue(any("RELOADING=1" in n for n in notes), notes)
        st = wait_for(lambda: (lambda s: s if s["reloads"]["failed"] == 1 else None)(self.d.status()),
                      what="failed reload counted")
        self.assertEqual(st["router_id"], "lvs-a")
        self.assertEqual(st["config"]["generation"], 1)
        self.assertIn(self.cfg + ":5:1: error: unknown key 'bogus_key'", st["reloads"]["last_errors"][0])
        self.assertIn(self.cfg + ":5:1: error: unknown key 'bogus_key'", self.d.logs())
        self.assertIsNone(self.d.proc.poll())

        # A valid changed config is applied.
        with open(self.cfg, "w") as f:
            f.write(config(self.sock, router_id="lvs-b", level="debug"))
        self.d.send(signal.SIGHUP)
        st = wait_for(lambda: (lambda s: s if s["config"]["generation"] == 2 else None)(self.d.status()),
                      what="reload applied")
        self.assertEqual(st["router_id"], "lvs-b")
        self.assertEqual(st["config"]["log_level"], "debug")
        self.assertEqual(st["reloads"]["ok"], 1)
        self.assertEqual(st["reloads"]["last_errors"], [])

        # SIGTERM: orderly stop, exit 0 promptly, socket removed. "Promptly" is a bound a
        # loaded 2-core CI machine keeps (the stop itself takes milliseconds: a speed figure
        # belongs in bench/); a daemon stuck until some timeout would blow it.
        t0 = time.monotonic()
        self.d.send(signal.SIGTERM)
        rc = self.d.proc.wait(5)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0, self.d.logs())
        self.assertLess(elapsed, 2.0)
        self.assertTrue(any("STOPPING=1" in n for n in self.notes("STOPPING=1")))
        self.assertFalse(os.path.exists(self.sock))

    def test_invalid_config_refuses_to_start(self):
        with open(self.cfg, "a") as f:
            f.write("nonsense = true\n")
        d = Daemon(self.cfg, self.sock)
        rc = d.proc.wait(5)
        self.assertEqual(rc, 1)
        self.assertIn(":5:1: error: unknown key 'nonsense' in [global]", d.logs())
        d.stop()

    def test_second_daemon_on_same_socket_is_refused(self):
        self.d = Daemon(self.cfg, self.sock).wait_ready()
        other = Daemon(self.cfg, self.sock, log_path=self.cfg + ".2.log")
        rc = other.proc.wait(5)
        self.assertEqual(rc, 1)
        self.assertIn("already answering", other.logs())
        other.stop()
        self.assertIsNotNone(self.d.status())

    def test_sigint_also_stops(self):
        self.d = Daemon(self.cfg, self.sock).wait_ready()
        self.d.send(signal.SIGINT)
        self.assertEqual(self.d.proc.wait(5), 0)


if __name__ == "__main__":
    hdtest.main()
