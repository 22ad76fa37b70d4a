# SPDX-License-Identifier: GPL-2.0-or-later
"""Network namespaces for tests: a switch namespace holding a bridge, and hosts
attached to it by veth pairs. Every name carries a unique prefix; close()
removes exactly what was created, pass or fail."""
import json
import os
import subprocess
import uuid


def sh(*args, check=True, ns=None, capture=True):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, capture_output=capture, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout if capture else ""


class Lab:
    def __init__(self, tag="hd"):
        self.prefix = "%s%s" % (tag, uuid.uuid4().hex[:6])
        self.switch = self.prefix + "-sw"
        self.namespaces = []
        sh("ip", "netns", "add", self.switch)
        self.namespaces.append(self.switch)
        sh("ip", "link", "add", "br0", "type", "bridge", ns=self.switch)
        sh("ip", "link", "set", "br0", "up", ns=self.switch)
        self.ports = 0

    def host(self, name, addrs=(), ifname="eth0"):
        """A namespace `prefix-name` with `ifname` on the bridge, holding `addrs` (CIDR)."""
        ns = "%s-%s" % (self.prefix, name)
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        self.ports += 1
        port = "p%d" % self.ports
        sh("ip", "link", "add", port, "netns", self.switch, "type", "veth", "peer", "name",
           ifname, "netns", ns)
        sh("ip", "link", "set", port, "master", "br0", "up", ns=self.switch)
        sh("ip", "link", "set", "lo", "up", ns=ns)
        # IPv6 DAD would delay link-local addresses; tests don't need it.
        sh("sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % ifname, ns=ns)
        sh("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", ns=ns)
        for a in addrs:
            sh("ip", "addr", "add", a, "dev", ifname, ns=ns)
        sh("ip", "link", "set", ifname, "up", ns=ns)
        return ns

    def port_of(self, index):
        return "p%d" % index

    def close(self):
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), 9)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces = []


def listener(ns, port, addr="127.0.0.1", seconds=120):
    """A TCP listener on addr:port in namespace ns for `seconds` (kill() and wait() it)."""
    return subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c",
                             "import socket,time;s=socket.socket();s.setsockopt(1,2,1);"
                             "s.bind(('%s',%d));s.listen(64);time.sleep(%d)"
                             % (addr, port, seconds)])


def addrs(ns, ifname="eth0"):
    """The addresses on `ifname` in `ns`, as (address/len, label) tuples."""
    out = json.loads(sh("ip", "-j", "addr", "show", "dev", ifname, ns=ns) or "[]")
    res = []
    for link in out:
        for a in link.get("addr_info", []):
            res.append(("%s/%d" % (a["local"], a["prefixlen"]), a.get("label", "")))
    return res


def has_addr(ns, addr, ifname="eth0"):
    return any(a.split("/")[0] == addr for a, _ in addrs(ns, ifname))


def neigh_mac(ns, ip, ifname="eth0"):
    out = sh("ip", "neigh", "show", ip, "dev", ifname, ns=ns)
    f = out.split()
    return f[f.index("lladdr") + 1] if "lladdr" in f else None


def mac_of(ns, ifname="eth0"):
    out = sh("ip", "-o", "link", "show", ifname, ns=ns)
    f = out.split()
    return f[f.index("link/ether") + 1]


_SNIFFER = r'''
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
s.bind((sys.argv[1], 0))
s.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS: the kernel's receive time
print("ready", flush=True)
while True:
    data, anc, _, addr = s.recvmsg(2048, 256)
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    ts = None
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == 35:
            sec, nsec = struct.unpack("qq", raw[:16])
            ts = sec + nsec / 1e9
    etype = struct.unpack("!H", data[12:14])[0]
    if etype == 0x0806 and len(data) >= 42:
        mac = ":".join("%02x" % b for b in data[22:28])
        print("arp %.6f %s %s %s" % (ts, mac, socket.inet_ntoa(data[28:32]),
                                      socket.inet_ntoa(data[38:42])), flush=True)
    elif etype == 0x0800 and len(data) >= 34 and data[23] == 112:
        ihl = (data[14] & 15) * 4
        v = data[14 + ihl:]
        print("vrrp %.6f %s %d %d" % (ts, socket.inet_ntoa(data[26:30]), v[1], v[2]), flush=True)
'''


class Wire:
    """Watches ARP and VRRP on `ifname` in `ns` from outside the daemons, with the
    kernel's receive timestamps (CLOCK_REALTIME, seconds). events() returns tuples:
    ("arp", ts, sender_mac, sender_ip, target_ip) and ("vrrp", ts, src_ip, vrid, priority)."""

    def __init__(self, ns, ifname="eth0"):
        import sys
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", _SNIFFER, ifname],
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("packet capture did not start in " + ns)
        self.lines = []
        import threading
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.split())

    def events(self):
        out = []
        for f in list(self.lines):
            if f[0] == "arp":
                out.append(("arp", float(f[1]), f[2], f[3], f[4]))
            elif f[0] == "vrrp":
                out.append(("vrrp", float(f[1]), f[2], int(f[3]), int(f[4])))
        return out

    def first_garp(self, ip, mac, after=0.0):
        """The time of the first ARP announcing `ip` at `mac` on the wire, or None."""
        for e in self.events():
            if e[0] == "arp" and e[1] >= after and e[2] == mac and e[3] == ip:
                return e[1]
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(2)
        self.proc.stdout.close()
