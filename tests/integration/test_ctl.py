# SPDX-License-Identifier: GPL-2.0-or-later
"""`hadirector ctl` against the real daemon: who may do what is decided by the kernel's
credentials of the caller (the client runs under setpriv as other users and groups), the
socket's mode follows the configured groups, overrides show in status, survive a restart
and are dropped by a reload that removes their real server. dataplane = "none" here (this
kernel has no IPVS): the drain with real connections runs in the VM (tests/vm/daemon)."""
import json
import os
import socket
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hdtest import BIN, Daemon, TempDir, main, wait_for  # noqa: E402

def virtual_server(*reals):
    text = '\n[[virtual_server]]\naddress = "192.0.2.1"\nport = 80\n'
    for r in reals:
        text += '[[virtual_server.real_server]]\naddress = "%s"\nport = 8080\n' % r
    return text


VS = virtual_server("10.0.1.11", "10.0.1.12")
ONE_RS = virtual_server("10.0.1.11")

# Groups every Debian system has: admin_group and read_group point at them, and the client
# takes them on with setpriv, as uid 65534 (nobody).
ADMIN, ADMIN_GID = "staff", 50
READ, READ_GID = "adm", 4


class Ctl(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        os.chmod(self.tmp.path, 0o755)  # others must reach the socket; its own mode decides
        self.sock = os.path.join(self.tmp.path, "ctl.sock")
        self.state = os.path.join(self.tmp.path, "state")
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.stop()
        self.tmp.cleanup()

    def write(self, body=VS, admin_group=ADMIN, read_group=READ):
        text = ('[global]\nrouter_id = "t"\ncontrol_socket = "%s"\nruntime_dir = "%s/run"\n'
                'state_dir = "%s"\ndataplane = "none"\n' % (self.sock, self.tmp.path, self.state))
        if admin_group:
            text += 'admin_group = "%s"\n' % admin_group
        if read_group:
            text += 'read_group = "%s"\n' % read_group
        return self.tmp.file("hd.toml", text + body)

    def start(self, cfg):
        self.daemon = Daemon(cfg, self.sock).wait_ready()
        return self.daemon

    def ctl(self, *args, as_user=None):
        """Runs hadirector ctl; as_user = (uid, gid, [groups]) runs it under setpriv."""
        cmd = [BIN, "ctl", "--socket", self.sock] + list(args)
        if as_user:
            uid, gid, groups = as_user
            pre = ["setpriv", "--reuid", str(uid), "--regid", str(gid)]
            pre += ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
            cmd = pre + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        out = (r.stdout or r.stderr).strip()
        try:
            answer = json.loads(out.splitlines()[-1])
        except (ValueError, IndexError):
            answer = None
        return r.returncode, answer, out

    def desired(self):
        svc = self.daemon.status()["ipvs"]["services"][0]
        return sorted(svc["desired"])

    def test_credentials_decide_who_may_read_and_change(self):
        self.start(self.write())
        mode = stat.S_IMODE(os.stat(self.sock).st_mode)
        self.assertEqual(mode, 0o666, "two different groups: every request checked by credentials")

        stranger = (65534, 65534, None)
        reader = (65534, 65534, [READ_GID])
        admin = (65534, 65534, [ADMIN_GID])
        rc, a, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.11", as_user=stranger)
        self.assertEqual(rc, 1, out)
        self.assertEqual(a["code"], "forbidden")
        self.assertIn("uid 65534 is not root and not in admin_group 'staff'", a["error"])
        rc, a, out = self.ctl("status", as_user=stranger)
        self.assertEqual((rc, a["code"]), (1, "forbidden"), out)
        # A reader reads (status, overrides, and the older text status) but changes nothing.
        rc, a, out = self.ctl("status", as_user=reader)
        self.assertEqual(rc, 0, out)
        self.assertEqual(a["status"]["router_id"], "t")
        rc, a, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.11", as_user=reader)
        self.assertEqual((rc, a["code"]), (1, "forbidden"), out)
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--groups",
                            str(READ_GID), BIN, "status", "--socket", self.sock],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("router_id t", r.stdout)
        self.assertEqual(self.daemon.status()["overrides"], [])
        # An admin_group member changes state; the override records who.
        rc, a, out = self.ctl("weight", "tcp 192.0.2.1:80", "10.0.1.11:8080", "3", as_user=admin)
        self.assertEqual(rc, 0, out)
        self.assertEqual(a, {"ok": True, "real_server": "tcp 192.0.2.1:80 -> 10.0.1.11:8080",
                             "override": "weight 3"})
        o = self.daemon.status()["overrides"]
        self.assertEqual([(x["real_server"], x["weight"], x["by"]) for x in o],
                         [("tcp 192.0.2.1:80 -> 10.0.1.11:8080", 3, "uid 65534")])
        self.assertEqual(self.desired(), ["10.0.1.11:8080 nat w3", "10.0.1.12:8080 nat w1"])
        self.assertIn("refused 'maint' from uid 65534", self.daemon.logs())

        # The socket's mode follows the groups on reload: one group, 0660 owned by it.
        self.write(admin_group=None)
        r = subprocess.run([BIN, "reload", "--socket", self.sock], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = os.stat(self.sock)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid), (0o660, READ_GID))
        rc, a, out = self.ctl("weight", "192.0.2.1:80", "10.0.1.11", "4", as_user=admin)
        self.assertEqual(rc, 1, "admin_group is gone: the socket's mode refuses the connection")
        self.assertIn("Permission denied", out)
        rc, a, out = self.ctl("overrides", as_user=reader)
        self.assertEqual(rc, 0, out)

    def test_overrides_apply_persist_across_a_restart_and_a_reload_drops_them(self):
        cfg = self.write()
        self.start(cfg)
        rc, a, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.11")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.desired(), ["10.0.1.12:8080 nat w1"])
        # dataplane none: no connection to wait for, a drain is done at once.
        rc, a, out = self.ctl("drain", "192.0.2.1:80", "10.0.1.12:8080", "--timeout", "30s")
        self.assertEqual(rc, 0, out)
        wait_for(lambda: [o["mode"] for o in self.daemon.status()["overrides"]] ==
                 ["maint", "drained"], what="the drain to finish")
        wait_for(lambda: self.desired() == [], what="the drained server out of the table")
        rc, a, out = self.ctl("ready", "192.0.2.1:80", "10.0.1.11")
        self.assertEqual((rc, a["override"]), (0, "none"), out)
        self.assertEqual(self.desired(), ["10.0.1.11:8080 nat w1"])
        # Bad requests say why, with the candidates.
        rc, a, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.99")
        self.assertEqual((rc, a["code"]), (1, "not_found"), out)
        self.assertIn("(it has '10.0.1.11:8080', '10.0.1.12:8080')", a["error"])
        rc, a, out = self.ctl("weight", "192.0.2.1:80", "10.0.1.11", "heavy")
        self.assertEqual((rc, a["code"]), (1, "bad_request"), out)

        # A restart keeps the drained server out.
        self.daemon.stop()
        self.assertTrue(os.path.exists(os.path.join(self.state, "overrides.toml")))
        self.start(cfg)
        self.assertEqual([o["mode"] for o in self.daemon.status()["overrides"]], ["drained"])
        self.assertEqual(self.desired(), ["10.0.1.11:8080 nat w1"])
        self.assertIn("1 runtime override(s) restored", self.daemon.logs())

        # A reload without that real server drops its override, with a log line.
        self.write(ONE_RS)
        r = subprocess.run([BIN, "reload", "--socket", self.sock], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: "dropping the override (drained) of tcp 192.0.2.1:80 -> 10.0.1.12"
                 in self.daemon.logs(), what="the drop's log line")
        self.assertEqual(self.daemon.status()["overrides"], [])
        rc, a, out = self.ctl("overrides")
        self.assertEqual(a, {"ok": True, "overrides": [], "holds": [], "withdrawals": []}, out)

    def test_events_stream_checks_overrides_and_reloads(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))  # bound, not listening: the check is refused (down)
        port = listener.getsockname()[1]
        body = VS.replace('port = 8080\n', 'port = 8080\ncheck = { type = "tcp", connect_address'
                          ' = "127.0.0.1", connect_port = %d, interval = "100ms", timeout = "100ms",'
                          ' rise = 1, fall = 1 }\n' % port, 1)
        cfg = self.write(body)
        self.start(cfg)
        wait_for(lambda: self.desired() == ["10.0.1.12:8080 nat w1"], what="the check down")
        reader = subprocess.Popen([BIN, "ctl", "--socket", self.sock, "events"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(reader.stdout.readline())
            self.assertEqual((first["ok"], first["subscribed"]), (True, True))
            wait_for(lambda: self.daemon.status()["control"]["event_subscribers"] == 1,
                     what="the subscriber")
            listener.listen(16)  # the check passes: up
            rc, _, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.12")
            self.assertEqual(rc, 0, out)
            r = subprocess.run([BIN, "reload", "--socket", self.sock], capture_output=True)
            self.assertEqual(r.returncode, 0)
            seen = {}
            while set(seen) < {"check", "override", "reload"}:
                line = reader.stdout.readline()
                self.assertTrue(line, "the stream ended early; have %s" % sorted(seen))
                e = json.loads(line)
                self.assertGreater(e["seq"], first["seq"])
                self.assertGreater(e["ts"], 1.7e9)
                seen.setdefault(e["type"], e)
            self.assertEqual((seen["check"]["up"], seen["check"]["real_server"]),
                             (True, "tcp 192.0.2.1:80 -> 10.0.1.11:8080"))
            self.assertEqual((seen["override"]["command"], seen["override"]["override"],
                              seen["override"]["by"]), ("maint", "maint", "uid 0"))
            self.assertEqual((seen["reload"]["ok"], seen["reload"]["generation"]), (True, 2))
            # The daemon stopping ends the stream; the client exits 0.
            self.daemon.stop()
            self.daemon = None
            reader.stdout.read()
            self.assertEqual(reader.wait(timeout=10), 0)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
            reader.stdout.close()
            reader.stderr.close()
            listener.close()

    def test_drain_wait_answers_when_the_drain_ends(self):
        # dataplane = "none": nothing to wait on, the drain ends at once and says so; the
        # wait for a real connection is tests/vm/daemon's.
        self.start(self.write())
        rc, a, out = self.ctl("drain", "192.0.2.1:80", "10.0.1.11", "--wait")
        self.assertEqual(rc, 0, out)
        self.assertEqual((a["override"], a["reason"]),
                         ("drained", "no IPVS table to wait on (dataplane none)"), out)
        self.assertEqual(self.daemon.status()["overrides"][0]["reason"], a["reason"])
        rc, a, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.12")
        rc, a, out = self.ctl("drain", "192.0.2.1:80", "10.0.1.12", "--wait")
        self.assertEqual((rc, a["code"]), (1, "conflict"), out)

    def test_a_state_dir_that_cannot_be_written_refuses_the_change(self):
        cfg = self.write()
        with open(self.state, "w") as f:  # a file where the directory should be
            f.write("x\n")
        self.start(cfg)
        rc, a, out = self.ctl("maint", "192.0.2.1:80", "10.0.1.11")
        self.assertEqual((rc, a["code"]), (1, "io"), out)
        self.assertIn("not applied", a["error"])
        self.assertEqual(self.desired(), ["10.0.1.11:8080 nat w1", "10.0.1.12:8080 nat w1"])


if __name__ == "__main__":
    main()
