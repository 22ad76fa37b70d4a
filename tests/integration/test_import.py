# SPDX-License-Identifier: GPL-2.0-or-later
"""#15's VRRP half: one keepalived.conf, run by keepalived itself and, imported by
`hadirector import-keepalived`, by hadirector. Both bring up the same VIPs with the same
labels (and the same excluded ones), and a keepalived director and a hadirector director
running the imported config of the same file form one pair: one Master, the VIPs move to
keepalived when hadirector stops and come back when it returns (the migration guide's
steps). The IPVS half is tests/vm/import/."""
import os
import signal
import subprocess
import time
import unittest

import hdtest
from hdtest import BIN, Daemon, TempDir, wait_for
from keepalived import keepalived_argv
from netlab import Lab, addrs

# Two instances: v2 with a password and 1 s adverts, labels, an excluded IPv6 VIP; v3 at
# 100 ms. One director's file; the other's differs in priority only.
KEEPALIVED_CONF = """global_defs {
  router_id %(name)s
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  state %(state)s
  interface eth0
  virtual_router_id 61
  priority %(p1)d
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    10.9.0.100/24 dev eth0 label eth0:1
    10.9.0.101/24 label eth0:2
    10.9.0.102
  }
  virtual_ipaddress_excluded {
    fd00::100/64
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 62
  version 3
  priority %(p2)d
  advert_int 0.1
  virtual_ipaddress {
    10.9.0.110/24 label eth0:5
  }
}
"""
VIPS = ["10.9.0.100", "10.9.0.101", "10.9.0.102", "10.9.0.110", "fd00::100"]


class Keepalived:
    def __init__(self, tmp, ns, name, conf):
        base = os.path.join(tmp.path, name)
        self.log = open(base + ".log", "w")
        # TMPDIR: where SIGUSR1 makes it write keepalived.data (its state dump)
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + keepalived_argv(conf, base),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, TMPDIR=tmp.path))
        self.dump = os.path.join(tmp.path, "keepalived.data")

    def priorities(self):
        """{instance: effective priority} from keepalived's own dump (SIGUSR1)."""
        if os.path.exists(self.dump):
            os.unlink(self.dump)
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(self.dump) and "VRRP Sync Group" in open(self.dump).read(),
                 5, what="keepalived.data")
        out, name = {}, None
        for line in open(self.dump):
            line = line.strip()
            if line.startswith("VRRP Instance = "):
                name = line.split("= ", 1)[1]
            elif line.startswith("Effective priority = ") and name:
                out[name] = int(line.split("= ", 1)[1])
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def vips_of(ns):
    """The VIPs on eth0 in `ns` with their labels, the host's own address left out."""
    return sorted((a, l) for a, l in addrs(ns) if a.split("/")[0] in VIPS)


class ImportedPair(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("im")
        self.tmp = TempDir()
        self.procs = []
        self.ns_a = self.lab.host("a", ["10.9.0.2/24", "fd00::2/64"])
        self.ns_b = self.lab.host("b", ["10.9.0.3/24", "fd00::3/64"])

    def tearDown(self):
        for p in self.procs:
            p.stop() if isinstance(p, Keepalived) else p.stop(signal.SIGKILL)
        self.lab.close()
        self.tmp.cleanup()

    def conf(self, name, high):
        return self.tmp.file(name + ".conf", KEEPALIVED_CONF % {
            "name": name, "state": "MASTER" if high else "BACKUP",
            "p1": 150 if high else 50, "p2": 120 if high else 20})

    def start_ka(self, ns, name, high):
        k = Keepalived(self.tmp, ns, name, self.conf(name, high))
        self.procs.append(k)
        return k

    def start_hd(self, ns, name, high):
        return self.run_imported(self.conf(name, high), name, ns)[0]

    def run_imported(self, conf, name, ns, warnings=False):
        """hadirector on `conf` imported (a control socket of the test's added): the daemon
        and the importer's report. Unless `warnings`, the report may hold notes only."""
        r = subprocess.run([BIN, "import-keepalived", conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        if not warnings:
            self.assertNotIn("warning:", r.stderr)
        sock = os.path.join(self.tmp.path, name + ".sock")
        toml = r.stdout.replace("[global]\n", '[global]\ncontrol_socket = "%s"\n' % sock, 1)
        d = Daemon(self.tmp.file(name + ".toml", toml), sock, netns=ns).wait_ready()
        self.procs.append(d)
        return d, r.stderr

    def states(self, d):
        return {i["name"]: i["state"] for i in d.status()["vrrp"]["instances"]}

    def test_same_vips_and_labels_as_keepalived(self):
        ka = self.start_ka(self.ns_a, "a-ka", True)
        want = wait_for(lambda: len(vips_of(self.ns_a)) == len(VIPS) and vips_of(self.ns_a), 8,
                        what="keepalived's VIPs")
        ka.stop()
        wait_for(lambda: not vips_of(self.ns_a), 5, what="keepalived removes its VIPs")
        hd = self.start_hd(self.ns_a, "a-hd", True)
        got = wait_for(lambda: len(vips_of(self.ns_a)) == len(VIPS) and vips_of(self.ns_a), 8,
                       what="hadirector's VIPs")
        self.assertEqual(got, want)
        # (the status snapshot follows the VRRP thread a moment later than the kernel)
        wait_for(lambda: self.states(hd) == {"VI_1": "MASTER", "VI_2": "MASTER"}, 2,
                 what="both MASTER in status")

    def test_keepalived_and_imported_hadirector_form_one_pair(self):
        # hadirector (imported, high priority) Master; keepalived (same file, low) Backup.
        hd = self.start_hd(self.ns_a, "a-hd", True)
        wait_for(lambda: self.states(hd) == {"VI_1": "MASTER", "VI_2": "MASTER"}, 8,
                 what="hadirector MASTER")
        self.start_ka(self.ns_b, "b-ka", False)
        time.sleep(3)  # three of VI_1's adverts: keepalived hears them and stays Backup
        self.assertEqual(vips_of(self.ns_b), [], "keepalived must stay Backup")
        self.assertEqual(len(vips_of(self.ns_a)), len(VIPS))
        # hadirector stops (the guide's step 3, the other way round): keepalived takes over.
        hd.stop(signal.SIGTERM, timeout=15)  # it hands over, then lingers 3 s
        wait_for(lambda: len(vips_of(self.ns_b)) == len(VIPS), 8, what="keepalived takes the VIPs")
        wait_for(lambda: not vips_of(self.ns_a), 5, what="hadirector gave them up")
        # Back: hadirector preempts (keepalived's default preempt, carried over).
        hd2 = self.start_hd(self.ns_a, "a-hd2", True)
        wait_for(lambda: self.states(hd2) == {"VI_1": "MASTER", "VI_2": "MASTER"}, 8,
                 what="hadirector preempts")
        wait_for(lambda: not vips_of(self.ns_b), 8, what="keepalived releases")
        for inst in hd2.status()["vrrp"]["instances"]:
            self.assertEqual(inst["counters"]["dropped"]["total"], 0, inst["counters"])

    def test_imported_hadirector_follows_a_keepalived_master(self):
        self.start_ka(self.ns_a, "a-ka", True)
        wait_for(lambda: len(vips_of(self.ns_a)) == len(VIPS), 8, what="keepalived MASTER")
        hd = self.start_hd(self.ns_b, "b-hd", False)
        wait_for(lambda: all(i["state"] == "BACKUP" and i["master_ip"]
                             for i in hd.status()["vrrp"]["instances"]), 8,
                 what="hadirector BACKUP, following keepalived")
        time.sleep(2)
        for inst in hd.status()["vrrp"]["instances"]:
            self.assertEqual(inst["state"], "BACKUP")
            self.assertEqual(inst["counters"]["dropped"]["total"], 0, inst["counters"])
            self.assertGreater(inst["counters"]["adverts_received"], 0)
        self.assertEqual(vips_of(self.ns_b), [])


    def test_an_instance_without_vips_pairs_with_keepalived(self):
        # keepalived's VIP-less instance (its notify hook moves a cloud's address; VRRP
        # version 2, keepalived's default: it refuses one with version 3): both daemons send
        # adverts with no address, and each follows the other's.
        conf = """global_defs {
  router_id %(name)s
}
vrrp_instance CLOUD {
  state BACKUP
  interface eth0
  virtual_router_id 63
  priority %(p)d
  advert_int 1
  notify_master "/bin/sh -c 'echo master >> %(out)s'"
}
"""
        def write(name, p):
            out = os.path.join(self.tmp.path, name + ".out")
            return self.tmp.file(name + ".conf", conf % {"name": name, "p": p, "out": out}), out

        def lines(out):
            if not os.path.exists(out):
                return []
            with open(out) as f:
                return f.read().splitlines()
        ka_conf, ka_out = write("a-ka", 150)
        ka = Keepalived(self.tmp, self.ns_a, "a-ka", ka_conf)
        self.procs.append(ka)
        wait_for(lambda: lines(ka_out) == ["master"], 8, what="keepalived MASTER")
        hd_conf, hd_out = write("b-hd", 100)
        hd, _ = self.run_imported(hd_conf, "b-hd", self.ns_b)
        inst = lambda: hd.status()["vrrp"]["instances"][0]
        wait_for(lambda: inst()["state"] == "BACKUP" and inst()["master_ip"] == "10.9.0.2", 8,
                 what="hadirector follows keepalived")
        time.sleep(2)  # two of keepalived's empty adverts
        self.assertEqual(inst()["state"], "BACKUP")
        self.assertEqual(inst()["counters"]["dropped"]["total"], 0, inst()["counters"])
        self.assertEqual(inst()["vips"], [])
        # keepalived stops: hadirector takes over and runs the imported hook.
        ka.stop()
        wait_for(lambda: inst()["state"] == "MASTER", 8, what="hadirector MASTER")
        wait_for(lambda: lines(hd_out) == ["master"], 5, what="hadirector's notify_master")
        # keepalived back at a lower priority: it hears hadirector's empty adverts and stays
        # Backup (its notify_master does not run again).
        ka_low, _ = write("a-ka2", 50)
        with open(ka_low) as f:
            text = f.read().replace("a-ka2.out", "a-ka.out")
        with open(ka_low, "w") as f:
            f.write(text)
        self.procs.append(Keepalived(self.tmp, self.ns_a, "a-ka2", ka_low))
        time.sleep(5)  # past keepalived's Master_Down_Interval (3.8 s)
        self.assertEqual(lines(ka_out), ["master"])
        self.assertEqual(inst()["state"], "MASTER")

    def test_sync_group_tracking_gives_keepalived_priorities(self):
        # One file, run by keepalived and then, imported, by hadirector: a sync group whose
        # member A tracks a failing script with a weight (keepalived ignores it in a group)
        # and a file with weight 2 (ignored too), whose member B tracks another file with
        # keepalived's default weight 1 (read as 0 in a group), and whose group tracks the
        # first file with weight 3 (both members +30 while it reads 10). Each daemon's own
        # effective priorities must be the same; then B's file turns non-zero: both fault.
        tf = self.tmp.file("tf", "10\n")
        one = self.tmp.file("one", "0\n")
        conf = self.tmp.file("g.conf", """global_defs {
  router_id g
}
vrrp_script failing {
  script "/bin/false"
  interval 1
  weight -20
}
track_file tf {
  file %s
  weight 2
}
track_file one {
  file %s
}
vrrp_instance A {
  state BACKUP
  interface eth0
  virtual_router_id 71
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.9.0.120
  }
  track_script {
    failing
  }
  track_file {
    tf
  }
}
vrrp_instance B {
  state BACKUP
  interface eth0
  virtual_router_id 72
  priority 90
  advert_int 1
  virtual_ipaddress {
    10.9.0.121
  }
  track_file {
    one
  }
}
vrrp_sync_group G {
  group {
    A
    B
  }
  track_file {
    tf weight 3
  }
}
""" % (tf, one))
        ka = Keepalived(self.tmp, self.ns_a, "g-ka", conf)
        self.procs.append(ka)
        time.sleep(3)  # the script has run (and failed) twice
        want = ka.priorities()
        with open(one, "w") as f:
            f.write("1\n")
        wait_for(lambda: ka.priorities() and "VRRP Sync Group = G, FAULT" in open(ka.dump).read(),
                 5, what="keepalived's group in FAULT")
        with open(one, "w") as f:
            f.write("0\n")
        ka.stop()
        self.assertEqual(want, {"A": 130, "B": 120}, "keepalived's reading changed")
        hd, report = self.run_imported(conf, "g", self.ns_a, warnings=True)
        self.assertIn("track_script failing (weight -20) not tracked", report)
        prio = lambda: {i["name"]: i["priority"]["effective"] for i in hd.status()["vrrp"]["instances"]}
        wait_for(lambda: prio() == want, 5, what="keepalived's priorities %s" % want)
        time.sleep(2)  # a failing script that was imported would have moved them by now
        self.assertEqual(prio(), want)
        states = lambda: {i["name"]: i["state"] for i in hd.status()["vrrp"]["instances"]}
        self.assertNotIn("FAULT", states().values())
        with open(one, "w") as f:
            f.write("1\n")
        wait_for(lambda: set(states().values()) == {"FAULT"}, 5, what="the group in FAULT")


if __name__ == "__main__":
    hdtest.main()
