# SPDX-License-Identifier: GPL-2.0-or-later
"""Authenticated VRRP (docs/vrrp-auth.md) between two hadirector directors in network
namespaces, with an attacker namespace on the same bridge and a client sending requests to
the VIP throughout.

The attacker builds its adverts with Python's hmac module from the documented layout (not
with hadirector's code): a forged priority-255 advert signed with a wrong key, an unsigned
one, a captured advert of the Master replayed as it was and with its priority raised to 255,
and a forged priority-0 advert in the Master's name. None moves the VIP; each is counted by
its reason. Then a plain pair migrates receive-only -> permissive -> enforce and rotates its
key, one director at a time, with no transition and no failed request."""
import hashlib
import hmac
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, has_addr, sh

VIP = "10.9.0.100"
A, B, X, C = "10.9.0.2", "10.9.0.3", "10.9.0.66", "10.9.0.50"
KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 164))
LABEL = b"hadirector VRRP HMAC-SHA256 v1"

# Runs in the attacker's namespace: "capture SRC" prints the first VRRP IPv4 packet from SRC
# (hex, IP header included); "send HEX..." sends each IPv4 packet in an Ethernet frame from
# the attacker's own MAC to the VRRP group's.
_ATTACKER = r'''
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
if sys.argv[1] == "capture":
    s.settimeout(5)
    while True:
        data, addr = s.recvfrom(4096)
        if addr[2] == socket.PACKET_OUTGOING or data[12:14] != b"\x08\x00" or data[23] != 112:
            continue
        if socket.inet_ntoa(data[26:30]) == sys.argv[2]:
            print(data[14:].hex(), flush=True)
            break
else:
    mac = open("/sys/class/net/eth0/address").read().strip()
    src = bytes.fromhex(mac.replace(":", ""))
    for h in sys.argv[2:]:
        s.send(bytes.fromhex("01005e000012") + src + b"\x08\x00" + bytes.fromhex(h))
'''


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def advert(src, priority, key=None, key_id=1, seq=None, dst="224.0.0.18", vrid=51):
    """An IPv4 packet carrying a VRRP v3 advert (100 cs) for VIP, signed when `key` is given."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    msg = bytes([0x31, vrid, priority, 1]) + struct.pack("!H", 10) + b"\0\0" + socket.inet_aton(VIP)
    payload = msg
    if key is not None:
        seq = int(time.time() * 1e6) if seq is None else seq
        hdr = bytes([1, key_id]) + struct.pack("!HQ", 44, seq)
        payload = msg + hdr + hmac.new(key, LABEL + s + d + msg + hdr, hashlib.sha256).digest()
    return ip_packet(src, dst, payload)


def ip_packet(src, dst, payload):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    p = bytearray(payload)
    p[6:8] = b"\0\0"
    p[6:8] = struct.pack("!H", csum(s + d + b"\0" + bytes([112]) + struct.pack("!H", len(p)) + bytes(p)))
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0xc0, 20 + len(p), 0, 0, 255, 112, 0, s, d))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    return bytes(ip) + bytes(p)


def hexkey(k):
    return k.hex()


class AuthPair(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("hda")
        self.tmp = TempDir()
        os.chmod(self.tmp.path, 0o700)
        self.daemons = {}
        try:
            self.ns = {n: self.lab.host(n, [ip + "/24"]) for n, ip in
                       (("a", A), ("b", B), ("x", X), ("c", C))}
        except Exception:
            self.lab.close()
            raise
        self.key_file = {1: self.key("k1", KEY1), 2: self.key("k2", KEY2)}

    def tearDown(self):
        for d in self.daemons.values():
            d.stop(signal.SIGKILL)
        self.lab.close()
        self.tmp.cleanup()

    def key(self, name, k):
        p = self.tmp.file(name, k.hex() + "\n")
        os.chmod(p, 0o600)
        return p

    def auth(self, mode, keys=(1,), active=1):
        if mode is None:
            return ""
        ks = ", ".join('{ id = %d, secret = "file:%s" }' % (i, self.key_file[i]) for i in keys)
        return '[vrrp_instance.auth]\nkeys = [ %s ]\nactive_key = %d\nmode = "%s"\n' % (ks, active, mode)

    def write(self, name, priority, mode, keys=(1,), active=1):
        sock = os.path.join(self.tmp.path, name + ".sock")
        path = os.path.join(self.tmp.path, name + ".toml")
        with open(path, "w") as f:
            f.write("""[global]
router_id = "%s"
control_socket = "%s"
log_level = "debug"
metrics = { listen = "127.0.0.1:9406" }

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = %d
advert_interval = "100ms"
virtual_ipaddresses = [ { address = "%s/24", label = "eth0:1" } ]
garp = { count = 3, spacing = "50ms" }
%s""" % (name, sock, priority, VIP, self.auth(mode, keys, active)))
        os.chmod(path, 0o600)
        return path, sock

    def start(self, name, priority, mode, **kw):
        path, sock = self.write(name, priority, mode, **kw)
        d = Daemon(path, sock, netns=self.ns[name]).wait_ready()
        self.daemons[name] = d
        return d

    def reload(self, name, priority, mode, **kw):
        self.write(name, priority, mode, **kw)
        ans = self.daemons[name].request("reload")
        self.assertTrue(ans.startswith("ok"), ans)

    def inst(self, name):
        return self.daemons[name].status()["vrrp"]["instances"][0]

    def attacker(self, *args):
        r = subprocess.run(["ip", "netns", "exec", self.ns["x"], sys.executable, "-c", _ATTACKER] +
                           list(args), capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def send(self, *packets, times=5):
        for _ in range(times):
            self.attacker("send", *[p.hex() for p in packets])
            time.sleep(0.05)

    def test_forged_unsigned_and_replayed_adverts_move_nothing(self):
        a = self.start("a", 150, "enforce")
        b = self.start("b", 100, "enforce")
        wait_for(lambda: self.inst("a")["state"] == "MASTER", 5, what="a MASTER")
        wait_for(lambda: self.inst("b")["state"] == "BACKUP", 5, what="b BACKUP")
        wait_for(lambda: self.inst("b")["auth"]["verified"] > 5, 3, what="b verifies a's adverts")
        captured = bytes.fromhex(self.attacker("capture", A))
        self.assertEqual(len(captured), 20 + 12 + 44, "a's adverts carry the 44-byte trailer")
        became = (self.inst("a")["counters"]["became_master"], self.inst("b")["counters"]["became_master"])

        # Each attack, sent from the attacker's namespace for 0.25 s; priority 255 (take the
        # VIP) or a Master's priority 0 in a's name (make b take over). The replay first:
        # within the 5 s window it is a replay, later a stale advert, and on a loaded host
        # the attacks before it (each a process started in the namespace) can take seconds.
        self.send(captured)                                        # a replay, as captured
        wrong = bytes(32)
        self.send(advert(X, 255, key=wrong))                       # forged, wrong key
        self.send(advert(X, 255))                                  # unsigned
        self.send(advert(A, 0, key=wrong))                         # a's resignation, forged
        self.send(advert(X, 255, key=KEY1, key_id=9))              # a key id nobody has
        raised = bytearray(captured)
        raised[20 + 2] = 255                                       # priority 255, checksum fixed
        self.send(ip_packet(A, "224.0.0.18", bytes(raised[20:])))
        self.send(advert(X, 255, key=KEY1, seq=int((time.time() - 60) * 1e6)))  # a minute old
        time.sleep(0.5)

        ia, ib = self.inst("a"), self.inst("b")
        ia["router"], ib["router"] = "a", "b"
        self.assertEqual((ia["state"], ib["state"]), ("MASTER", "BACKUP"))
        self.assertEqual((ia["counters"]["became_master"], ib["counters"]["became_master"]), became)
        self.assertTrue(has_addr(self.ns["a"], VIP))
        self.assertFalse(has_addr(self.ns["b"], VIP))
        self.assertEqual(ib["master_ip"], A)
        for i in (ia, ib):
            rej = i["auth"]["rejected"]
            print(i["router"], json.dumps(i["auth"]))
            self.assertGreaterEqual(rej["bad_mac"], 5)
            self.assertGreaterEqual(rej["unsigned"], 5)
            self.assertGreaterEqual(rej["unknown_key"], 5)
            self.assertGreaterEqual(rej["stale"], 5)
            self.assertEqual(i["auth"]["unsigned_accepted"], 0)
            self.assertNotIn(KEY1.hex(), json.dumps(i))
        # b: the forged key on priority 255 and on a's priority 0, and the raised capture.
        self.assertGreaterEqual(ib["auth"]["rejected"]["bad_mac"], 15)
        self.assertGreaterEqual(ib["auth"]["rejected"]["replayed"], 5)
        self.assertIn("authentication: bad_mac", b.logs())
        # The same counts in the metrics, by verdict.
        metrics = sh("curl", "-sf", "http://127.0.0.1:9406/metrics", ns=self.ns["b"])
        for verdict in ("bad_mac", "replayed", "unsigned", "stale", "unknown_key", "verified"):
            line = 'hadirector_vrrp_auth_adverts_total{vrrp_instance="VI_1",verdict="%s"} ' % verdict
            self.assertIn(line, metrics)
        got = [l for l in metrics.splitlines() if 'verdict="bad_mac"' in l][0]
        self.assertGreaterEqual(int(float(got.split()[-1])), 15, got)
        # tshark reads the signed adverts as VRRP with a good checksum (over the trailer too).
        pcap = os.path.join(self.tmp.path, "cap.pcap")
        sh("tshark", "-q", "-i", "eth0", "-a", "duration:1.5", "-w", pcap, ns=self.ns["c"])
        r = subprocess.run(["tshark", "-r", pcap, "-Y", "vrrp && ip.src == " + A, "-T", "fields",
                            "-e", "vrrp.version", "-e", "vrrp.prio", "-e", "vrrp.checksum.status"],
                           capture_output=True, text=True, check=True)
        rows = [l.split("\t") for l in r.stdout.splitlines()]
        self.assertGreaterEqual(len(rows), 8, r.stdout)
        self.assertEqual({tuple(x) for x in rows}, {("3", "150", "1")}, r.stdout)

    def test_migration_and_key_rotation_on_a_running_pair_are_hitless(self):
        a = self.start("a", 150, None)
        b = self.start("b", 100, None)
        wait_for(lambda: self.inst("a")["state"] == "MASTER", 5, what="a MASTER")
        wait_for(lambda: self.inst("b")["state"] == "BACKUP", 5, what="b BACKUP")
        # HTTP servers on both directors; a client asks the VIP every 20 ms throughout.
        servers = [subprocess.Popen(["ip", "netns", "exec", self.ns[n], sys.executable, "-m",
                                     "http.server", "80", "--bind", "0.0.0.0", "-d", self.tmp.path],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for n in ("a", "b")]
        for n, ip in (("a", A), ("b", B)):
            wait_for(lambda: subprocess.run(["ip", "netns", "exec", self.ns["c"], "curl", "-sf", "-o",
                                             "/dev/null", "-m", "1", "http://%s/" % ip]).returncode == 0,
                     10, what="the HTTP server on " + n)
        client = subprocess.Popen(["ip", "netns", "exec", self.ns["c"], sys.executable, "-c", r'''
import sys, time, urllib.request
ok = bad = 0
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        urllib.request.urlopen("http://%s/" % sys.argv[2], timeout=1).read()
        ok += 1
    except Exception as e:
        bad += 1
        print("failed:", e, file=sys.stderr, flush=True)
    time.sleep(0.02)
print(ok, bad)
''', "14", VIP], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.0)
            steps = [("a", "receive-only", (1,), 1), ("b", "receive-only", (1,), 1),
                     ("a", "permissive", (1,), 1), ("b", "permissive", (1,), 1),
                     ("a", "enforce", (1,), 1), ("b", "enforce", (1,), 1),
                     ("a", "enforce", (1, 2), 1), ("b", "enforce", (1, 2), 1),   # add key 2
                     ("a", "enforce", (1, 2), 2), ("b", "enforce", (1, 2), 2),   # sign with 2
                     ("a", "enforce", (2,), 2), ("b", "enforce", (2,), 2)]      # drop key 1
            prio = {"a": 150, "b": 100}
            for name, mode, keys, active in steps:
                self.reload(name, prio[name], mode, keys=keys, active=active)
                time.sleep(0.8)
                # Only the Master (a) sends adverts: b's counters tell what a sends.
                auth_b = self.inst("b")["auth"]
                if (name, mode) == ("b", "receive-only"):
                    self.assertGreater(auth_b["unsigned_accepted"], 3, "a still sends unsigned")
                    self.assertEqual(auth_b["verified"], 0)
                if (name, mode) == ("a", "permissive"):
                    v = auth_b["verified"]
                    wait_for(lambda: self.inst("b")["auth"]["verified"] > v + 3, 2,
                             what="a signs, b verifies")
            out, err = client.communicate(timeout=30)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            for s in servers:
                s.kill()
                s.wait()
        ok, bad = map(int, out.split())
        print("requests: %d ok, %d failed" % (ok, bad))
        self.assertEqual(bad, 0, err)
        self.assertGreater(ok, 200)
        ia, ib = self.inst("a"), self.inst("b")
        self.assertEqual((ia["state"], ib["state"]), ("MASTER", "BACKUP"))
        self.assertEqual((ia["counters"]["became_master"], ib["counters"]["became_master"]), (1, 0))
        self.assertEqual(ib["counters"]["master_down"], 0)
        for i in (ia, ib):
            self.assertEqual(i["auth"]["rejected"]["total"], 0, json.dumps(i["auth"]))
            self.assertEqual((i["auth"]["mode"], i["auth"]["active_key"], i["auth"]["key_ids"]),
                             ("enforce", 2, [2]))
        self.assertIn("authentication enforce, signing with key 2", self.daemons["a"].logs())
        self.assertNotIn("restarting it", self.daemons["a"].logs() + self.daemons["b"].logs())


if __name__ == "__main__":
    hdtest.main()
