# SPDX-License-Identifier: GPL-2.0-or-later
"""A short chaos soak with a fixed seed (CI's slice of issue #13's soak): scenarios in the
seed's random order for 45 s, then the invariants the soak checks itself (no
daemon crash, both kernel IPVS tables equal to the desired one after every fault, no
growth of director B's descriptors or memory) and the per-scenario budgets, judged here
from the figures as test_drill.py does."""
import json
import os
import subprocess
import sys
import unittest

DRILL = os.environ.get("HADIRECTOR_DRILL", "hadirector-drill")
SECONDS = int(os.environ.get("HD_SOAK_SECONDS", "45"))
SEED = os.environ.get("HD_SOAK_SEED", "20261130")


class Soak(unittest.TestCase):
    def test_short_soak(self):
        r = subprocess.run([DRILL, "--soak", "%ds" % SECONDS, "--seed", SEED, "--json", "--mode",
                            "nat"], capture_output=True, text=True, timeout=SECONDS + 420)
        sys.stderr.write(r.stderr[-4000:])
        self.assertIn(r.returncode, (0, 1), "the soak could not run:\n" + r.stderr[-2000:])
        report = json.loads(r.stdout)
        soak = report["soak"]
        self.assertEqual(str(soak["seed"]), SEED)
        self.assertGreaterEqual(soak["duration_s"], SECONDS)
        played = sum(soak["faults"].values())
        sys.stderr.write("soak: %d faults %s, %d table checks, B fds %d->%d, rss %d->%d kB\n"
                         % (played, soak["faults"], soak["table_checks"], soak["fds_before"],
                            soak["fds_after"], soak["rss_kb_before"], soak["rss_kb_after"]))
        self.assertGreaterEqual(played, SECONDS // 20, "too few faults for the time")
        self.assertEqual(len(report["scenarios"]), played)
        # Every fault was followed by a comparison of both kernel tables with the desired one.
        self.assertEqual(soak["table_checks"], played)
        self.assertEqual(soak["breaches"], [])
        self.assertEqual(report["failed_outside_windows"], 0)
        for s in report["scenarios"]:
            self.assertEqual(s["violations"], [], s["name"])
            if not s["name"] in ("master-freeze", "partition", "vrrp-netem"):
                self.assertLessEqual(s["max_masters"], 1, s["name"])
        self.assertTrue(report["passed"])
        self.assertEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
