# SPDX-License-Identifier: GPL-2.0-or-later
"""hadirector against Debian's keepalived: the two agree on one Master and the
VIP moves both ways, in VRRP v2 and v3, multicast and unicast, IPv4 and IPv6.
tshark decodes hadirector's adverts as valid VRRP with a good checksum."""
import collections
import os
import signal
import subprocess
import time
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from keepalived import keepalived_argv, keepalived_conf
from netlab import Lab, has_addr, sh


class Keepalived:
    def __init__(self, tmp, ns, name, text):
        self.conf = tmp.file(name + ".conf", text)
        base = os.path.join(tmp.path, name)
        self.log = open(base + ".log", "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + keepalived_argv(self.conf, base),
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


CASES = {
    # name: (version, unicast, family)
    "v3_multicast": (3, False, 4),
    "v3_unicast": (3, True, 4),
    "v3_ipv6": (3, False, 6),
    "v2_multicast_auth": (2, False, 4),
    "v2_unicast": (2, True, 4),
}


class Interop(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("ka")
        self.tmp = TempDir()
        self.procs = []
        self.ns_h = self.lab.host("hd", ["10.9.0.2/24", "fd00::2/64"])
        self.ns_k = self.lab.host("ka", ["10.9.0.3/24", "fd00::3/64"])

    def tearDown(self):
        for p in self.procs:
            p.stop() if isinstance(p, Keepalived) else p.stop(signal.SIGKILL)
        self.lab.close()
        self.tmp.cleanup()

    def vip(self, fam):
        return ("10.9.0.100", 24) if fam == 4 else ("fd00::100", 64)

    def start_hd(self, case, prio):
        ver, uni, fam = CASES[case]
        vip, plen = self.vip(fam)
        sock = os.path.join(self.tmp.path, "hd%d.sock" % len(self.procs))
        extra = ""
        if uni:
            extra += 'unicast_source = "10.9.0.2"\nunicast_peers = ["10.9.0.3"]\n'
        if case == "v2_multicast_auth":
            extra += 'auth_pass = "s3cret"\n'
        label = ', label = "eth0:1"' if fam == 4 else ""
        cfg = self.tmp.file("hd%d.toml" % len(self.procs), """[global]
control_socket = "%s"
log_level = "debug"
[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = %d
version = %d
advert_interval = "%s"
virtual_ipaddresses = [ { address = "%s/%d"%s } ]
%s""" % (sock, prio, ver, "100ms" if ver == 3 else "1s", vip, plen, label, extra))
        d = Daemon(cfg, sock, netns=self.ns_h).wait_ready()
        self.procs.append(d)
        return d

    def start_ka(self, case, prio):
        ver, uni, fam = CASES[case]
        vip, plen = self.vip(fam)
        uni_text = "unicast_src_ip 10.9.0.3\n  unicast_peer {\n    10.9.0.2\n  }\n" if uni else ""
        auth = ("authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }\n"
                if case == "v2_multicast_auth" else "")
        k = Keepalived(self.tmp, self.ns_k, "ka%d" % len(self.procs), keepalived_conf(
            "ka", prio, 0.1 if ver == 3 else 1, vip, prefix_len=plen,
            label="eth0:1" if fam == 4 else None, version=ver, extra=uni_text + auth))
        self.procs.append(k)
        return k

    def hd_state(self, d):
        return d.status()["vrrp"]["instances"][0]

    def slow(self, case):
        return 8.0 if CASES[case][0] == 2 else 3.0

    def run_case(self, case):
        fam = CASES[case][2]
        vip = self.vip(fam)[0]
        t = self.slow(case)
        # hadirector Master, keepalived Backup; then the VIP moves to keepalived and back.
        hd = self.start_hd(case, 150)
        wait_for(lambda: self.hd_state(hd)["state"] == "MASTER", t, what="hd MASTER")
        ka = self.start_ka(case, 100)
        time.sleep(1.5 if CASES[case][0] == 2 else 0.5)
        self.assertTrue(has_addr(self.ns_h, vip))
        self.assertFalse(has_addr(self.ns_k, vip), "keepalived must stay Backup")
        hd.stop(signal.SIGTERM)
        wait_for(lambda: has_addr(self.ns_k, vip), t, what="keepalived takes the VIP")
        hd2 = self.start_hd(case, 150)
        wait_for(lambda: self.hd_state(hd2)["state"] == "MASTER", t + 2, what="hd preempts")
        wait_for(lambda: not has_addr(self.ns_k, vip), t, what="keepalived releases")
        self.assertEqual(self.hd_state(hd2)["counters"]["dropped"]["total"], 0)
        hd2.stop(signal.SIGTERM)
        ka.stop()
        # keepalived Master, hadirector Backup; then the other way round.
        ka2 = self.start_ka(case, 150)
        wait_for(lambda: has_addr(self.ns_k, vip), t, what="keepalived MASTER")
        hd3 = self.start_hd(case, 100)
        wait_for(lambda: self.hd_state(hd3)["state"] == "BACKUP" and
                 self.hd_state(hd3)["master_ip"] is not None, t, what="hd BACKUP following ka")
        time.sleep(1.5 if CASES[case][0] == 2 else 0.5)
        st = self.hd_state(hd3)
        self.assertEqual(st["state"], "BACKUP")
        self.assertEqual(st["counters"]["dropped"]["total"], 0, st["counters"])
        self.assertGreater(st["counters"]["adverts_received"], 0)
        self.assertFalse(has_addr(self.ns_h, vip))
        ka2.stop()
        wait_for(lambda: self.hd_state(hd3)["state"] == "MASTER", t, what="hd takes over")
        self.assertTrue(has_addr(self.ns_h, vip))
        self.start_ka(case, 150)
        wait_for(lambda: self.hd_state(hd3)["state"] == "BACKUP", t + 2, what="ka preempts hd")
        # Preempted, hd keeps forwarding for its handover_linger (3 s) before it lets go.
        wait_for(lambda: not has_addr(self.ns_h, vip), 3 + 2, what="hd releases after its linger")

    def test_v3_multicast(self):
        self.run_case("v3_multicast")

    def test_v3_unicast(self):
        self.run_case("v3_unicast")

    def test_v3_ipv6(self):
        self.run_case("v3_ipv6")

    def test_v2_multicast_auth(self):
        self.run_case("v2_multicast_auth")

    def test_v2_unicast(self):
        self.run_case("v2_unicast")

    def test_tshark_decodes_valid_adverts(self):
        sock = os.path.join(self.tmp.path, "ts.sock")
        cfg = self.tmp.file("ts.toml", """[global]
control_socket = "%s"
[[vrrp_instance]]
name = "V4"
interface = "eth0"
virtual_router_id = 51
advert_interval = "100ms"
virtual_ipaddresses = [ "10.9.0.100/24" ]
[[vrrp_instance]]
name = "V6"
interface = "eth0"
virtual_router_id = 52
advert_interval = "100ms"
virtual_ipaddresses = [ "fd00::100/64" ]
[[vrrp_instance]]
name = "V2"
interface = "eth0"
virtual_router_id = 53
version = 2
priority = 200
auth_pass = "s3cret"
virtual_ipaddresses = [ "10.9.0.101/24" ]
""" % sock)
        d = Daemon(cfg, sock, netns=self.ns_h).wait_ready()
        self.procs.append(d)
        wait_for(lambda: all(i["state"] == "MASTER" for i in d.status()["vrrp"]["instances"]), 6,
                 what="all three MASTER")
        pcap = os.path.join(self.tmp.path, "cap.pcap")
        sh("tshark", "-q", "-i", "eth0", "-a", "duration:2.5", "-w", pcap, ns=self.ns_k)
        r = subprocess.run(["tshark", "-r", pcap, "-Y", "vrrp", "-T", "fields", "-e", "vrrp.version",
                            "-e", "vrrp.virt_rtr_id", "-e", "vrrp.checksum.status", "-e", "ip.ttl",
                            "-e", "ipv6.hlim"], capture_output=True, text=True, check=True)
        rows = collections.Counter(tuple(l.split("\t")) for l in r.stdout.splitlines())
        by_vrid = collections.Counter(r[1] for r in rows.elements())
        self.assertGreaterEqual(by_vrid["51"], 15)  # 100 ms adverts for 2.5 s
        self.assertGreaterEqual(by_vrid["52"], 15)
        self.assertGreaterEqual(by_vrid["53"], 2)  # 1 s adverts
        for (ver, vrid, cks, ttl, hlim), n in rows.items():
            self.assertEqual(cks, "1", "tshark says checksum of VRID %s is not good" % vrid)
            self.assertEqual(ver, "2" if vrid == "53" else "3")
            self.assertEqual(ttl or hlim, "255")


if __name__ == "__main__":
    hdtest.main()
