# SPDX-License-Identifier: GPL-2.0-or-later
"""The command line: check's error format and exit codes, version, help."""
import os
import subprocess
import unittest

import hdtest
from hdtest import BIN, SRC, TempDir


def run(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=30)


class CheckCommand(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_every_shipped_example_passes_check(self):
        files = [os.path.join(SRC, "etc", "hadirector.toml")]
        ex = os.path.join(SRC, "etc", "examples")
        files += [os.path.join(ex, f) for f in sorted(os.listdir(ex)) if f.endswith(".toml")]
        self.assertGreaterEqual(len(files), 4)
        for f in files:
            r = run("check", "-c", f)
            self.assertEqual(r.returncode, 0, f + ": " + r.stderr)
            self.assertIn("ok", r.stdout)

    def test_errors_are_file_line_col_and_all_reported(self):
        p = self.tmp.file("bad.toml", """[global]
log_level = "loud"

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 300
priority = 150
virtual_ipaddresses = [ { address = "10.0.0.1/24", label = "eth1:1" } ]
bogus = true
""")
        r = run("check", "-c", p)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(lines, [
            p + ":2:13: error: 'log_level' must be one of debug, error, info, warning, not \"loud\"",
            p + ":7:21: error: 'virtual_router_id' must be between 1 and 255, not 300",
            p + ":9:25: error: label 'eth1:1' must start with the interface name 'eth0:'",
            p + ":10:1: error: unknown key 'bogus' in [[vrrp_instance]]",
        ])

    def test_missing_file(self):
        r = run("check", "-c", os.path.join(self.tmp.path, "nope.toml"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open", r.stderr)


class Misc(unittest.TestCase):
    def test_version(self):
        r = run("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^hadirector \d+\.\d+\.\d+\n$")

    def test_help_everywhere(self):
        for cmd in (["--help"], ["run", "--help"], ["check", "-h"], ["status", "--help"],
                    ["version", "--help"]):
            r = run(*cmd)
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("usage:", r.stdout)

    def test_unknown_command_and_option(self):
        self.assertEqual(run("frobnicate").returncode, 2)
        self.assertEqual(run("check", "--bogus").returncode, 2)

    def test_status_without_daemon_is_a_clear_error(self):
        r = run("status", "--socket", "/tmp/hd-nonexistent/x.sock")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is hadirector running?", r.stderr)


if __name__ == "__main__":
    hdtest.main()
