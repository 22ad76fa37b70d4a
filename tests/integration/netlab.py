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
