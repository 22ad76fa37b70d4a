"""The failover drill end to end (in the qemu VM when this kernel has no IPVS):
every scenario within budget, no request lost outside the failover windows,
never two Masters. A short profile of both modes."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("HADIRECTOR", "hadirector")


class Drill(unittest.TestCase):
    def run_drill(self, mode):
        # The lab runs under qemu's software emulation, where a burst of host load can stall
        # the VM's clock-driven protocols for a moment. A run that breaks a budget is
        # repeated once; a second failure fails the test, with both runs' findings.
        first = None
        for attempt in (1, 2):
            try:
                self.one_drill(mode)
                if first:
                    sys.stderr.write("drill %s: passed on the second run; the first said: %s\n"
                                     % (mode, first))
                return
            except AssertionError as e:
                if attempt == 2:
                    raise AssertionError("drill %s failed twice.\nfirst: %s\nsecond: %s"
                                         % (mode, first, e))
                first = str(e)
                sys.stderr.write("drill %s: first run failed (%s); running it again\n" % (mode, e))

    def one_drill(self, mode):
        r = subprocess.run([BIN, "drill", "--json", "--mode", mode], capture_output=True, text=True,
                           timeout=600)
        sys.stderr.write(r.stderr[-3000:])
        self.assertIn(r.returncode, (0, 1), "drill could not run:\n" + r.stderr[-2000:])
        # In the VM, the guest's stdout and stderr arrive merged: take the JSON object out.
        lines = r.stdout.splitlines()
        try:
            start = lines.index("{")
            end = len(lines) - 1 - lines[::-1].index("}")
        except ValueError:
            self.fail("no JSON report in the drill's output:\n" + r.stdout[-3000:])
        report = json.loads("\n".join(lines[start:end + 1]))
        names = [s["name"] for s in report["scenarios"]]
        self.assertEqual(names, ["master-kill", "master-stop", "link-cut", "rs-down", "rs-500",
                                 "reload-weight", "wrr-share", "partition"])
        # The figures go to the log, so a slow CI machine's margins can be read afterwards.
        for s in report["scenarios"]:
            sys.stderr.write("drill %s %-13s outage %.2fs (after heal %.2fs) failed %d/%d "
                             "failing_after %.2fs masters %d\n"
                             % (mode, s["name"], s["outage_s"], s["after_heal_s"], s["failed"],
                                s["requests"], s["failing_after_s"], s["max_masters"]))
        for s in report["scenarios"]:
            self.assertTrue(s["passed"], "%s broke its budget: %s" % (s["name"], s["violations"]))
            self.assertLessEqual(s["max_masters"], 1, s["name"])
            self.assertGreater(s["master_samples"], 0, s["name"])
            self.assertGreater(s["requests"], 0, s["name"])
            self.assertIn("TCP  10.9.0.100:80 wrr", s["ipvs_table"])
        self.assertEqual(report["failed_outside_windows"], 0)
        self.assertTrue(report["passed"])
        self.assertEqual(r.returncode, 0)
        # Traffic reached every real server.
        served = {}
        for s in report["scenarios"]:
            for k, v in s["served_by"].items():
                served[k] = served.get(k, 0) + v
        self.assertEqual(sorted(served), ["rs1", "rs2", "rs3"])

    def test_bad_drill_config_is_refused_with_positions(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("[traffic]\nrate = \"fast\"\n[budget.master-kill]\nmax_outage = \"soon\"\n")
        try:
            r = subprocess.run([BIN, "drill", "--drill-config", f.name], capture_output=True,
                               text=True, timeout=30)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f.name + ":2:8: error: unknown or mistyped key 'rate' in [traffic]", r.stderr)
        self.assertIn(f.name + ":4:14: error: not a duration", r.stderr)

    def test_bad_operator_config_is_refused(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("[global]\nbogus = 1\n")
        try:
            r = subprocess.run([BIN, "drill", "--config", f.name], capture_output=True, text=True,
                               timeout=30)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f.name + ":2:1: error: unknown key 'bogus'", r.stderr)

    def test_nat(self):
        self.run_drill("nat")

    def test_dr(self):
        self.run_drill("dr")


if __name__ == "__main__":
    unittest.main(verbosity=2)
