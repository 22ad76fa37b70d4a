# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/migrating-from-keepalived.md, followed as a new user would, on a live keepalived pair
in namespaces with a client connecting to the VIP throughout: the guide's own command lines
(import, check and status, read from the guide, paths swapped for the test's), its checks
in its words (status counters, keepalived's log), and what each step may cost the client. VRRP only: this kernel
has no IPVS, so the guide's ipvsadm checks are the VM differential test's
(tests/vm/import/)."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import hdtest
from hdtest import BIN, Daemon, TempDir, wait_for
from keepalived import keepalived_argv
from netlab import Lab, addrs

GUIDE = os.path.join(os.environ.get("HD_SOURCE_DIR", os.path.join(os.path.dirname(__file__),
                                                                   "..", "..")),
                     "docs", "migrating-from-keepalived.md")
VIP = "10.9.0.100"
PORT = 8080

# Each director's keepalived.conf: the same but for router_id, state and priority, as a pair's.
CONF = """global_defs {
  router_id %(name)s
  vrrp_garp_master_delay 0
}
vrrp_instance VI_1 {
  state %(state)s
  interface eth0
  virtual_router_id 51
  priority %(prio)d
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass m1grate
  }
  virtual_ipaddress {
    %(vip)s/24 dev eth0 label eth0:1
  }
}
"""


def guide_command(prefix):
    """The first command line in the guide that starts with `prefix`: in a ``` block or
    between backticks."""
    with open(GUIDE) as f:
        text = f.read()
    for line in re.findall(r"^(%s[^\n`]*)$" % re.escape(prefix), text, re.M) + \
            re.findall(r"`(%s[^`]*)`" % re.escape(prefix), text):
        return line.strip()
    raise AssertionError("the guide has no command starting %r" % prefix)


class Client:
    """Connects to VIP:PORT every 20 ms from the client namespace (0.5 s timeout); each
    director answers with its name. Records (time, answer or None)."""

    def __init__(self, ns):
        code = ("import socket,sys,time\n"
                "while True:\n"
                "  t=time.time();s=socket.socket();s.settimeout(0.5)\n"
                "  try:\n"
                "    s.connect(('%s',%d));r=s.recv(16).decode() or '-'\n"
                "  except OSError:\n"
                "    r='-'\n"
                "  s.close();print('%%.3f %%s'%%(t,r),flush=True);time.sleep(max(0,t+0.02-time.time()))\n"
                % (VIP, PORT))
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", code],
                                     stdout=subprocess.PIPE, text=True)
        self.events = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            t, who = line.split()
            with self.lock:
                self.events.append((float(t), None if who == "-" else who))

    def since(self, t0):
        with self.lock:
            return [e for e in self.events if e[0] >= t0]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def responder(ns, name):
    """Answers every connection on PORT with the director's name."""
    code = ("import socket\n"
            "s=socket.socket();s.setsockopt(1,2,1);s.bind(('0.0.0.0',%d));s.listen(128)\n"
            "while True:\n"
            "  c,_=s.accept();c.sendall(b'%s');c.close()\n" % (PORT, name))
    return subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", code])


def outage(events):
    """(failed requests, seconds from the first failure to the first answer after the last)."""
    failed = [t for t, who in events if who is None]
    if not failed:
        return 0, 0.0
    after = [t for t, who in events if who and t > failed[-1]]
    return len(failed), (after[0] if after else events[-1][0]) - failed[0]


class MigrationGuide(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("mg")
        self.addCleanup(self.lab.close)  # also when setUp fails half-way
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.procs = []
        self.ns = {"a": self.lab.host("a", ["10.9.0.2/24"]), "b": self.lab.host("b", ["10.9.0.3/24"])}
        self.client_ns = self.lab.host("c", ["10.9.0.10/24"])
        for n in "ab":
            self.procs.append(responder(self.ns[n], n))
        self.client = None

    def tearDown(self):
        if self.client:
            self.client.stop()
        for p in self.procs:
            if isinstance(p, Daemon):
                p.stop(signal.SIGKILL)
            elif p.poll() is None:
                p.kill()
                p.wait()

    def keepalived(self, n, prio, state):
        conf = self.tmp.file("%s.conf" % n, CONF % {"name": n, "state": state, "prio": prio, "vip": VIP})
        log = os.path.join(self.tmp.path, "%s-ka.log" % n)
        with open(log, "w") as f:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns[n]] +
                                 keepalived_argv(conf, os.path.join(self.tmp.path, n + "-ka")),
                                 stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p, conf, log

    def run_guide(self, prefix, swap):
        """The guide's command line starting `prefix`, with paths swapped ({guide path: ours})."""
        line = guide_command(prefix)
        for k, v in swap.items():
            self.assertIn(k, line, "the guide's command changed: " + line)
            line = line.replace(k, v)
        argv = [BIN if a == "hadirector" else a for a in line.split()]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def import_for(self, n, conf):
        # Step 1: the importer, then `hadirector check` on what it wrote.
        toml = os.path.join(self.tmp.path, "%s.toml" % n)
        r = self.run_guide("hadirector import-keepalived",
                           {"/etc/keepalived/keepalived.conf": conf,
                            "/etc/hadirector/hadirector.toml": toml})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("warning:", r.stderr)  # this pair's file carries over whole
        with open(toml) as f:
            text = f.read()
        self.assertIn("# from %s:" % conf, text)  # each section cites its source
        sock = os.path.join(self.tmp.path, "%s.sock" % n)
        with open(toml, "w") as f:  # a socket of the test's own (the default is /run/hadirector)
            f.write(text.replace("[global]\n", '[global]\ncontrol_socket = "%s"\n' % sock, 1))
        r = self.run_guide("hadirector check -c", {"/etc/hadirector/hadirector.toml": toml})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return toml, sock

    def status(self, toml):
        # `hadirector status` as the guide says, in its JSON form
        r = self.run_guide("hadirector status --json -c", {"/etc/hadirector/hadirector.toml": toml})
        self.assertEqual(r.returncode, 0, r.stderr)
        return {i["name"]: i for i in json.loads(r.stdout)["vrrp"]["instances"]}

    def test_the_guide_moves_a_live_pair_without_a_failed_request(self):
        ka_a, conf_a, log_a = self.keepalived("a", 150, "MASTER")
        ka_b, conf_b, _ = self.keepalived("b", 100, "BACKUP")
        wait_for(lambda: any(a.startswith(VIP + "/") for a, _ in addrs(self.ns["a"])), 10,
                 what="keepalived A MASTER")
        self.client = Client(self.client_ns)
        wait_for(lambda: [w for _, w in self.client.since(time.time() - 0.5)][-3:] == ["a"] * 3,
                 10, what="the client served by A")

        # 1. Import each director's file and read the report.
        toml_a, sock_a = self.import_for("a", conf_a)
        toml_b, sock_b = self.import_for("b", conf_b)

        # 2. Replace the Backup: stop keepalived there, start hadirector, check interop.
        t2 = time.time()
        self.assertFalse([a for a, _ in addrs(self.ns["b"]) if a.startswith(VIP + "/")],
                         "B must be the Backup")
        ka_b.send_signal(signal.SIGTERM)
        ka_b.wait(10)
        with open(log_a) as f:
            ka_a_lines = len(f.readlines())
        hd_b = Daemon(toml_b, sock_b, netns=self.ns["b"]).wait_ready()
        self.procs.append(hd_b)
        wait_for(lambda: self.status(toml_b)["VI_1"]["state"] == "BACKUP", 5, what="B BACKUP")
        first = self.status(toml_b)["VI_1"]["counters"]["adverts_received"]
        time.sleep(3)
        vi = self.status(toml_b)["VI_1"]
        self.assertEqual(vi["state"], "BACKUP")
        self.assertEqual(vi["master_ip"], "10.9.0.2")
        self.assertGreaterEqual(vi["counters"]["adverts_received"] - first, 2, vi["counters"])
        self.assertEqual(vi["counters"]["dropped"]["total"], 0, vi["counters"])
        self.assertEqual(vi["counters"]["address_list_mismatch"], 0, vi["counters"])
        with open(log_a) as f:
            new = f.readlines()[ka_a_lines:]
        self.assertEqual(new, [], "keepalived on the Master logged something new")
        answers = {who for _, who in self.client.since(t2)}
        self.assertEqual(answers, {"a"}, "while the Backup was replaced, only A may answer "
                                         "(None: a failed request)")

        # 3. Fail over to the new director: keepalived's priority lowered below hadirector's
        # and reloaded (systemctl reload keepalived is its SIGHUP); hadirector preempts, then
        # keepalived hears the higher priority and lets go; then keepalived is stopped.
        t3 = time.time()
        with open(conf_a) as f:
            text = f.read()
        with open(conf_a, "w") as f:
            f.write(text.replace("priority 150", "priority 50"))
        ka_a.send_signal(signal.SIGHUP)
        wait_for(lambda: self.status(toml_b)["VI_1"]["state"] == "MASTER", 8, what="B MASTER")
        wait_for(lambda: not [a for a, _ in addrs(self.ns["a"]) if a.startswith(VIP + "/")], 5,
                 what="keepalived lets the VIP go")
        wait_for(lambda: [w for _, w in self.client.since(time.time() - 0.5)][-3:] == ["b"] * 3,
                 5, what="the client served by B")
        ka_a.send_signal(signal.SIGTERM)
        ka_a.wait(10)
        time.sleep(1)
        failed3, gap3 = outage(self.client.since(t3))
        sys.stderr.write("step 3: %d requests failed over %.2f s\n" % (failed3, gap3))
        # A preemption without IPVS (this lab) has no handover forwarding: a handshake whose SYN
        # reached the old Master and whose ACK went to the new one after the client's ARP
        # moved is reset by the new one (a CI run: 1 over 0.02 s). At most that one.
        self.assertLessEqual(failed3, 1, "step 3 (a preemption: both hold the VIP for a moment)")
        self.assertLess(gap3, 0.5, "step 3: no gap beyond the one handshake")

        # 4. Replace the other director: hadirector with its own imported file. It preempts
        # (keepalived's default, carried over) once its Master_Down_Interval has passed.
        t4 = time.time()
        hd_a = Daemon(toml_a, sock_a, netns=self.ns["a"]).wait_ready()
        self.procs.append(hd_a)
        wait_for(lambda: self.status(toml_a)["VI_1"]["state"] == "MASTER", 10, what="A preempts")
        wait_for(lambda: self.status(toml_b)["VI_1"]["state"] == "BACKUP", 5, what="B BACKUP")
        wait_for(lambda: [w for _, w in self.client.since(time.time() - 0.5)][-3:] == ["a"] * 3,
                 5, what="the client served by A again")
        time.sleep(1)
        failed4, gap4 = outage(self.client.since(t4))
        sys.stderr.write("step 4: %d requests failed over %.2f s\n" % (failed4, gap4))
        self.assertLessEqual(failed4, 1, "step 4 (a preemption again; see step 3)")
        self.assertLess(gap4, 0.5, "step 4: no gap beyond the one handshake")
        # Both run hadirector now: a planned switchover the guide's way, and back.
        t5 = time.time()
        for cmd, who in (("failover VI_1", "b"), ("release VI_1", "a")):
            r = subprocess.run([BIN, "ctl", "-c", toml_a] + cmd.split(), capture_output=True,
                               text=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            wait_for(lambda: [w for _, w in self.client.since(time.time() - 0.5)][-3:] == [who] * 3,
                     10, what="the client served by " + who.upper())
        time.sleep(1)
        failed5, gap5 = outage(self.client.since(t5))
        sys.stderr.write("ctl failover and release: %d requests failed over %.2f s\n"
                         % (failed5, gap5))
        self.assertLessEqual(failed5, 2, "a planned switchover and back")


if __name__ == "__main__":
    hdtest.main()
