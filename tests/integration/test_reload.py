# SPDX-License-Identifier: GPL-2.0-or-later
"""A reload the daemon cannot apply is reported as failed everywhere and changes
nothing: here a valid file whose new VRRP instance is on an interface the host does
not have (`check` cannot know that). The running Master keeps its VIP, the generation
stays, `hadirector reload` exits 1 with the reason, status counts a failed reload."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hdtest import BIN, Daemon, TempDir, main, wait_for  # noqa: E402
from netlab import Lab, sh  # noqa: E402

INSTANCE = """
[[vrrp_instance]]
name = "{name}"
interface = "{ifname}"
virtual_router_id = {vrid}
priority = 255
advert_interval = "100ms"
virtual_ipaddresses = ["{vip}/24"]
"""


class Reload(unittest.TestCase):
    def setUp(self):
        self.lab = Lab()
        self.tmp = TempDir()
        self.ns = self.lab.host("a", ["10.77.0.2/24"])
        self.sock = os.path.join(self.tmp.path, "ctl.sock")
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.stop()
        self.lab.close()
        self.tmp.cleanup()

    def write(self, *instances):
        text = ('[global]\nrouter_id = "t"\ncontrol_socket = "%s"\nruntime_dir = "%s"\n'
                'dataplane = "none"\n' % (self.sock, self.tmp.path))
        for i in instances:
            text += INSTANCE.format(**i)
        return self.tmp.file("hd.toml", text)

    def vips(self):
        return sh("ip", "-o", "-4", "addr", "show", "dev", "eth0", ns=self.ns)

    def reload_cli(self, cfg):
        return subprocess.run(["ip", "netns", "exec", self.ns, BIN, "reload", "-c", cfg],
                              capture_output=True, text=True, timeout=30)

    def test_a_reload_that_cannot_be_applied_changes_nothing_and_says_so(self):
        vi1 = dict(name="VI_1", ifname="eth0", vrid=1, vip="10.77.0.100")
        cfg = self.write(vi1)
        self.daemon = Daemon(cfg, self.sock, netns=self.ns).wait_ready()
        wait_for(lambda: "10.77.0.100/24" in self.vips(), what="VIP on the Master")
        # A valid file `check` accepts, with a second instance on an interface that is missing.
        self.write(vi1, dict(name="VI_2", ifname="hdmissing0", vrid=2, vip="10.77.1.100"))
        self.assertEqual(subprocess.run([BIN, "check", "-c", cfg]).returncode, 0)
        r = self.reload_cli(cfg)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("vrrp: VI_2: interface hdmissing0 does not exist", r.stderr)
        self.assertIn("failed: still running config generation 1", r.stderr)
        s = self.daemon.status()
        self.assertEqual(s["config"]["generation"], 1)
        self.assertEqual(s["reloads"]["ok"], 0)
        self.assertEqual(s["reloads"]["failed"], 1)
        self.assertTrue(any("hdmissing0" in e for e in s["reloads"]["last_errors"]))
        self.assertEqual([i["name"] for i in s["vrrp"]["instances"]], ["VI_1"])
        self.assertEqual(s["vrrp"]["instances"][0]["state"], "MASTER")
        self.assertIn("10.77.0.100/24", self.vips())
        self.assertIn("reload failed and was rolled back", self.daemon.logs())
        # A good reload afterwards applies and says so.
        self.write(vi1, dict(name="VI_2", ifname="eth0", vrid=2, vip="10.77.1.100"))
        r = self.reload_cli(cfg)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok: running config generation 2", r.stdout)
        wait_for(lambda: "10.77.1.100/24" in self.vips(), what="the new instance's VIP")
        self.assertEqual(self.daemon.status()["reloads"]["ok"], 1)

    def test_reload_of_an_invalid_file_exits_1_with_positions(self):
        cfg = self.write(dict(name="VI_1", ifname="eth0", vrid=1, vip="10.77.0.100"))
        self.daemon = Daemon(cfg, self.sock, netns=self.ns).wait_ready()
        with open(cfg, "a") as f:
            f.write("bogus = 1\n")
        r = subprocess.run(["ip", "netns", "exec", self.ns, BIN, "reload", "--socket", self.sock],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"hd\.toml:\d+:1: error: unknown key 'bogus'")
        self.assertEqual(self.daemon.status()["reloads"]["failed"], 1)


if __name__ == "__main__":
    main()
