# SPDX-License-Identifier: GPL-2.0-or-later
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
DRILL = os.environ.get("HADIRECTOR_DRILL", "hadirector-drill")


# The budgets, written here from the RFCs' timers and the issue's promises, not read from the
# drill's verdict: the test judges the figures the drill measured.
def budgets(report):
    v, advert = report["vrrp_version"], report["advert_interval_s"]
    skew = (256 - 100) / 256.0 if v == 2 else (256 - 100) * advert / 256.0
    mdi = 3 * advert + skew
    out = report["fall"] * report["check_interval_s"] + report["check_timeout_s"] + 1.0
    return {
        # a request in flight when the Master dies waits for the client's 1 s timeout
        "master-kill": {"outage_s": mdi + 1.5},
        # a stopping Master hands over first (handover_linger): no established connection
        # lost, and the handshakes crossing the switch are passed between the directors
        # (handover forwarding, the gateway announced first): nothing lost, as the issue
        # asks of a SIGTERM'd Master (0 in 28 plays measured in the VM and in CI's runs)
        "master-stop": {"outage_s": skew + 1.2, "failed": 0, "long_lived_broken": 0},
        # ctl failover, then ctl release: the promise, nothing lost either way
        # (0 in 24 plays measured in the VM)
        "planned-switchover": {"failed": 0, "long_lived_broken": 0},
        "link-cut": {"outage_s": mdi + 1.5},
        "rs-down": {"failing_after_s": out},
        "rs-500": {"failing_after_s": out},
        "reload-weight": {"failed": 0},
        "wrr-share": {"failed": 0},
        # judged from the thaw: the kernel forwards through a frozen daemon
        "master-freeze": {"after_heal_s": 1.5},
        "reload-storm": {"failed": 0},
        "partition": {"after_heal_s": 1.5},
        # checks that cannot open a socket are no evidence against a real server
        "fd-exhaustion": {"failed": 0},
        # adverts from a host not in `peers` move nothing
        "advert-flood": {"failed": 0},
        # a deleted interface is a cut link for the Backup's timer
        "iface-recreate": {"outage_s": mdi + 1.5},
        # a lossy VRRP path may fail over (the protocol's answer); judged from the repair
        "vrrp-netem": {"after_heal_s": 1.5},
        # authentication rolled out and its key rotated in place: nothing may be felt
        "auth-rollout": {"failed": 0, "long_lived_broken": 0},
        # DR: a real server's full disk refuses its role's reload, and nothing else moves
        "disk-full": {"failed": 0},
    }


def judge(report, want, fwd, label):
    """What is wrong in a drill report by the test's own reading of its figures: each
    scenario's figures against `want` (budgets()), never two Masters, samples and requests,
    the Master's table (the VIP's wrr service and three `fwd` real servers), long-lived
    connections where nothing should break them, and failures in steady state. The figures
    go to the log, so a slow CI machine's margins can be read afterwards."""
    problems = []
    for s in report["scenarios"]:
        sys.stderr.write("drill %s %-18s outage %.2fs (after heal %.2fs) failed %d/%d "
                         "failing_after %.2fs masters %d long-lived broken %d (+%d) act %.2fs\n"
                         % (label, s["name"], s["outage_s"], s["after_heal_s"], s["failed"],
                            s["requests"], s["failing_after_s"], s["max_masters"],
                            s["long_lived_broken"], s["long_lived_on_failed_server"], s["act_s"]))
        for figure, limit in want[s["name"]].items():
            # Times count from just before the act. Where the act is a command in the lab
            # (links set down, a veth deleted), the budget counts from its end: under a
            # loaded emulator the command itself takes a while, and that is no daemon's time.
            if figure in ("outage_s", "failing_after_s") and s["name"] in LAB_COMMAND_ACTS:
                limit += s["act_s"]
            if s[figure] > limit:
                problems.append("%s: %s %.2f above %.2f (the act took %.2fs; failures %s; "
                                "VI_1 states %s)" % (s["name"], figure, s[figure], limit,
                                                     s["act_s"], s["failures"], s["timeline"]))
        if s["max_masters"] > 1:  # counted from the heal where a split is by design
            problems.append("%s: two Masters at once" % s["name"])
        if s["master_samples"] <= 0 or s["requests"] <= 0:
            problems.append("%s: no samples or no requests" % s["name"])
        table = s["ipvs_table"]
        if "TCP  10.9.0.100:80 wrr" not in table:
            problems.append("%s: VIP service missing from the Master's table" % s["name"])
        reals = [line.split() for line in table.splitlines() if line.strip().startswith("->")
                 and not line.strip().startswith("-> RemoteAddress")]
        if len(reals) != 3 or any(r[2] != fwd for r in reals):
            problems.append("%s: want three %s real servers, table:\n%s" % (s["name"], fwd, table))
        # A reload breaks no long-lived connection. (In rs-down and rs-500 connections on the
        # failed server end by design; the drill attributes a broken slot to the server its
        # connection last answered from, which a reconnect racing the check can blur: a NAT
        # run here counted 2 besides the failed server's, so those are reported, not judged.)
        if s["name"] in ("reload-weight", "wrr-share", "reload-storm", "fd-exhaustion",
                         "advert-flood", "auth-rollout", "disk-full") and s["long_lived_broken"]:
            problems.append("%s: %d long-lived connections broken" % (s["name"], s["long_lived_broken"]))
    if report["failed_outside_windows"] != 0:
        problems.append("%d requests failed in steady state" % report["failed_outside_windows"])
    return problems


# Scenarios whose fault is a command run in the lab (the test's reading of the drill's table).
LAB_COMMAND_ACTS = ("link-cut", "iface-recreate")

DR_SCENARIOS = ["master-kill", "master-stop", "planned-switchover", "link-cut", "rs-down",
                "wrr-share"]


class Drill(unittest.TestCase):
    def run_drill(self, mode, argv):
        # The lab runs under qemu's software emulation, where a burst of host load can stall
        # the VM's clock-driven protocols for a moment. Outside CI a run that breaks a budget
        # is repeated once (and says so); in CI (CI=true) a retry would hide a regression
        # on a quiet machine, so the first failure fails the test.
        attempts = (1,) if os.environ.get("CI") == "true" else (1, 2)
        first = None
        for attempt in attempts:
            try:
                self.one_drill(mode, argv)
                if first:
                    sys.stderr.write("drill %s: passed on the second run; the first said: %s\n"
                                     % (mode, first))
                return
            except AssertionError as e:
                if attempt == attempts[-1]:
                    raise AssertionError("drill %s failed%s.\nfirst: %s\nlast: %s"
                                         % (mode, " twice" if first else "", first or e, e))
                first = str(e)
                sys.stderr.write("drill %s: first run failed (%s); running it again\n" % (mode, e))

    def one_drill(self, mode, argv):
        if mode == "dr":
            # DR plays the scenarios where the forwarding method matters: the VIP moving
            # (failovers, planned switchover, link cut), a real server leaving, the weighted
            # shares. The ones that exercise VRRP, the checks' verdicts, reloads and the
            # control socket only (rs-500, reload-weight, disk-full, freeze, partition,
            # descriptors, advert flood, interface, netem, reload storm, auth-rollout) are
            # judged in the NAT run: CI's 30 minutes. `hadirector drill --mode dr` plays all.
            for sc in DR_SCENARIOS:
                argv = argv + ["--scenario", sc]
        r = subprocess.run(argv + ["--json", "--mode", mode], capture_output=True, text=True,
                           timeout=600)
        sys.stderr.write(r.stderr[-3000:])
        self.assertIn(r.returncode, (0, 1), "drill could not run:\n" + r.stderr[-2000:])
        # Standard output is the JSON document and nothing else (progress and the VM's
        # console go to standard error), so `--json | jq .` works.
        try:
            report = json.loads(r.stdout)
        except ValueError as e:
            self.fail("stdout is not one JSON document (%s):\n%s" % (e, r.stdout[-3000:]))
        self.assertEqual(report["mode"], mode)
        names = [s["name"] for s in report["scenarios"]]
        self.assertEqual(names, DR_SCENARIOS if mode == "dr" else
                         ["master-kill", "master-stop", "planned-switchover", "link-cut", "rs-down", "rs-500",
                          "reload-weight", "wrr-share", "master-freeze", "reload-storm",
                          "partition", "fd-exhaustion", "advert-flood", "iface-recreate",
                          "vrrp-netem", "auth-rollout"])
        problems = judge(report, budgets(report), {"nat": "Masq", "dr": "Route"}[mode], mode)
        self.assertEqual(problems, [], "\n".join(problems))
        # The drill's own verdict must agree with the test's.
        self.assertTrue(report["passed"], [s["violations"] for s in report["scenarios"]])
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
        # Through the alias: `hadirector drill` execs hadirector-drill beside it.
        self.run_drill("nat", [BIN, "drill"])

    def test_dr(self):
        self.run_drill("dr", [DRILL])

    def test_alias_and_program_agree_on_usage(self):
        a = subprocess.run([BIN, "drill", "--help"], capture_output=True, text=True, timeout=30)
        b = subprocess.run([DRILL, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual((a.returncode, b.returncode), (0, 0))
        self.assertEqual(a.stdout, b.stdout)
        self.assertIn("usage: hadirector-drill", b.stdout)

    def test_missing_vm_runner_is_an_error_not_a_pass(self):
        r = subprocess.run([DRILL, "--vm-runner", "/nonexistent/run-in-vm.sh", "--scenario",
                            "rs-500"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--vm-runner /nonexistent/run-in-vm.sh: no such file", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
