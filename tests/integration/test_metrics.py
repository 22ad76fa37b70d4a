# SPDX-License-Identifier: GPL-2.0-or-later
"""The metrics endpoint against the real consumers: `promtool check metrics` on what a
running director serves, and a real Prometheus server scraping a director pair in network
namespaces, whose TSDB must show the VRRP states before and after a failover."""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest
import urllib.parse

import hdtest
from hdtest import Daemon, TempDir, wait_for
from netlab import Lab, listener

VIP = "10.9.0.100"
A, B, P = "10.9.0.2", "10.9.0.3", "10.9.0.9"


class Metrics(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("hm")
        self.tmp = TempDir()
        self.daemons, self.procs = [], []
        try:
            self.ns_a = self.lab.host("a", [A + "/24"])
            self.ns_b = self.lab.host("b", [B + "/24"])
            self.ns_p = self.lab.host("p", [P + "/24"])  # Prometheus, and a real server
        except Exception:
            self.lab.close()
            raise

    def tearDown(self):
        for d in self.daemons:
            d.stop(signal.SIGKILL)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.lab.close()
        self.tmp.cleanup()

    def start(self, ns, name, addr, priority):
        sock = os.path.join(self.tmp.path, name + ".sock")
        cfg = self.tmp.file(name + ".toml", """[global]
router_id = "%s"
control_socket = "%s"
dataplane = "none"
metrics = { listen = "%s:9406" }

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = %d
advert_interval = "100ms"
virtual_ipaddresses = ["%s/24"]

[[virtual_server]]
address = "%s"
port = 80
  [[virtual_server.real_server]]
  address = "%s"
  port = 8080
  check = { type = "tcp", interval = "200ms", timeout = "150ms" }
  [[virtual_server.real_server]]
  address = "%s"
  port = 8081
  check = { type = "tcp", interval = "200ms", timeout = "150ms" }
""" % (name, sock, addr, priority, VIP, VIP, P, P))
        d = Daemon(cfg, sock, netns=ns).wait_ready()
        self.daemons.append(d)
        return d

    def listener(self, port):
        self.procs.append(listener(self.ns_p, port, P))

    def get(self, url, ns=None):
        """(HTTP status, body) via curl from namespace ns (the Prometheus one by default)."""
        r = subprocess.run(["ip", "netns", "exec", ns or self.ns_p, "curl", "-s", "-o", "-",
                            "-w", "\n%{http_code}", "--max-time", "5", url],
                           capture_output=True, text=True)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body

    def state(self, d):
        return d.status()["vrrp"]["instances"][0]["state"]

    def test_promtool_accepts_what_a_director_serves(self):
        self.listener(8080)  # 8081 stays closed: one check up, one down
        a = self.start(self.ns_a, "a", A, 200)
        wait_for(lambda: self.state(a) == "MASTER", 5, what="A MASTER")
        wait_for(lambda: a.status()["checkers"]["down"] == 1 and a.status()["checkers"]["up"] == 1,
                 5, what="one check up, one down")
        code, text = self.get("http://%s:9406/metrics" % A)
        self.assertEqual(code, 200)
        for family in ("hadirector_build_info", "hadirector_vrrp_instance_state",
                       "hadirector_check_up", "hadirector_check_duration_seconds_bucket",
                       "hadirector_lvs_real_server_weight", "hadirector_reloads_total"):
            self.assertIn("\n" + family, text)
        self.assertIn('hadirector_vrrp_instance_state{vrrp_instance="VI_1",state="MASTER"} 1\n',
                      text)
        self.assertIn('hadirector_check_up{check="tcp %s:80 -> %s:8080"} 1\n' % (VIP, P), text)
        self.assertIn('hadirector_check_up{check="tcp %s:80 -> %s:8081"} 0\n' % (VIP, P), text)
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        # A healthy director says so; every other path is a 404.
        self.assertEqual(self.get("http://%s:9406/healthz" % A), (200, "ok\n"))
        self.assertEqual(self.get("http://%s:9406/" % A)[0], 404)

    def api(self, q):
        """(HTTP status, body) of an instant query to the test's Prometheus."""
        return self.get("http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(q))

    def query(self, q):
        code, body = self.api(q)
        return json.loads(body)["data"]["result"] if code == 200 else []

    def dashboard_queries_answer(self):
        """Every query of the shipped Grafana dashboard is valid PromQL over our families and
        has data here, but for the IPVS ones (this lab has no IPVS: dataplane = "none")."""
        with open(os.path.join(hdtest.SRC, "etc", "grafana", "hadirector.json")) as f:
            dash = json.load(f)
        exprs = [(p["title"], t["expr"]) for p in dash["panels"] for t in p["targets"]]
        self.assertGreater(len(exprs), 10)
        time.sleep(3)  # rate() windows need a few scrapes
        for title, expr in exprs:
            code, body = self.api(expr)
            self.assertEqual(code, 200, "%s: %s: %s" % (title, expr, body))
            if "ipvs_" not in expr:
                self.assertTrue(json.loads(body)["data"]["result"], "%s: no data: %s" % (title, expr))

    def test_prometheus_scrapes_the_pair_and_sees_the_failover(self):
        self.listener(8080)
        self.listener(8081)
        a = self.start(self.ns_a, "a", A, 200)
        wait_for(lambda: self.state(a) == "MASTER", 5, what="A MASTER")
        b = self.start(self.ns_b, "b", B, 100)
        wait_for(lambda: self.state(b) == "BACKUP", 5, what="B BACKUP")
        conf = self.tmp.file("prometheus.yml", """global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
scrape_configs:
  - job_name: hadirector
    static_configs:
      - targets: ["%s:9406", "%s:9406"]
""" % (A, B))
        with open(os.path.join(self.tmp.path, "prometheus.log"), "w") as log:
            prom = subprocess.Popen(
                ["ip", "netns", "exec", self.ns_p, "prometheus", "--config.file=" + conf,
                 "--storage.tsdb.path=" + os.path.join(self.tmp.path, "tsdb"),
                 "--web.listen-address=127.0.0.1:9090"], stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(prom)
        masters = 'hadirector_vrrp_instance_state{state="MASTER"} == 1'

        def master_targets():
            return sorted(r["metric"]["instance"] for r in self.query(masters))
        # The VRRP instance is the vrrp_instance label: Prometheus's own "instance" label
        # (the scrape target) is left alone.
        wait_for(lambda: master_targets() == ["%s:9406" % A] and len(self.query("up == 1")) == 2,
                 30, 0.5, "Prometheus scraping both directors, A MASTER")
        self.assertEqual([r["metric"]["vrrp_instance"] for r in self.query(masters)], ["VI_1"])
        self.dashboard_queries_answer()
        a.stop(signal.SIGKILL)
        wait_for(lambda: self.state(b) == "MASTER", 5, what="B MASTER")
        wait_for(lambda: master_targets() == ["%s:9406" % B], 15, 0.5,
                 "Prometheus to see B as MASTER")
        # The TSDB holds B's history: BACKUP before, MASTER now, and one transition counted.
        hist = self.query('max_over_time(hadirector_vrrp_instance_state{instance="%s:9406",'
                          'state="BACKUP"}[1m])' % B)
        self.assertEqual([r["value"][1] for r in hist], ["1"])
        became = self.query('hadirector_vrrp_became_master_total{instance="%s:9406"}' % B)
        self.assertEqual([r["value"][1] for r in became], ["1"])
        self.assertEqual(self.query('up{instance="%s:9406"}' % A)[0]["value"][1], "0")


if __name__ == "__main__":
    for tool in ("promtool", "prometheus", "curl"):
        if not shutil.which(tool):
            print("missing %s (apt-get install prometheus curl)" % tool)
            raise SystemExit(77)
    hdtest.main()
