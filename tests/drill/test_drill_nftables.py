# SPDX-License-Identifier: GPL-2.0-or-later
"""The failover drill with dataplane = "nftables" on this machine's own kernel (no IPVS, no
VM): the scenarios where the data plane matters (failovers, a planned switchover, a real
server down or answering 500, a reload, weighted shares), judged with the budgets
test_drill.py writes for IPVS. Connections move between the directors with conntrackd (the
lab runs one on each director; hadirector tells it each transition), so long-lived
connections are judged as with IPVS's sync daemon: none may break in master-stop or
planned-switchover. The whole drill (`hadirector drill --dataplane nftables`, every scenario
but vrrp-netem, whose netem qdisc this kernel lacks) runs the same way; CI runs this subset
for time: the other scenarios exercise VRRP and the control socket, which the IPVS drill
already judges."""
import json
import os
import shutil
import subprocess
import sys
import unittest

from test_drill import budgets, judge

DRILL = os.environ.get("HADIRECTOR_DRILL", "hadirector-drill")
SCENARIOS = ["master-kill", "master-stop", "planned-switchover", "link-cut", "rs-down", "rs-500",
             "reload-weight", "wrr-share"]


class DrillNftables(unittest.TestCase):
    def test_nat_on_this_kernel(self):
        self.assertIsNotNone(shutil.which("conntrackd"), "conntrackd is part of the lab "
                             "(scripts/install-deps.sh installs it)")
        argv = [DRILL, "--dataplane", "nftables", "--json", "--mode", "nat"]
        for s in SCENARIOS:
            argv += ["--scenario", s]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        sys.stderr.write(r.stderr[-3000:])
        self.assertIn(r.returncode, (0, 1), "drill could not run:\n" + r.stderr[-2000:])
        self.assertNotIn("run-in-vm", r.stderr, "nftables needs no VM")
        report = json.loads(r.stdout)
        self.assertEqual([s["name"] for s in report["scenarios"]], SCENARIOS)
        want = budgets(report)
        problems = judge(report, want, "Masq", "nftables")
        # The Master's table was read from the kernel with nft (the drill prints it in
        # ipvsadm's shape), not from IPVS.
        problems += ["%s: not the nftables table:\n%s" % (s["name"], s["ipvs_table"])
                     for s in report["scenarios"]
                     if "nftables table ip hadirector" not in s["ipvs_table"]]
        self.assertEqual(problems, [], "\n".join(problems))
        self.assertTrue(report["passed"], [s["violations"] for s in report["scenarios"]])
        self.assertEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
