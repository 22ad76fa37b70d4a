# SPDX-License-Identifier: GPL-2.0-or-later
"""What the VRRP benchmarks share: keepalived as the peer to compare with (its config for
one VRRP instance and how to run its VRRP process in a namespace), and the health-check
load put in hadirector's config (N tcp checks a second to closed loopback ports)."""
import os


def keepalived_conf(router_id, priority, advert_s, vip, label=None, rt_priority=None):
    """One VRRPv3 instance starting as BACKUP on eth0; `rt_priority`: vrrp_rt_priority."""
    return """global_defs {
  router_id %s
  vrrp_version 3
  vrrp_garp_master_delay 0
  %s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int %s
  virtual_ipaddress {
    %s/24 dev eth0%s
  }
}
""" % (router_id, "vrrp_rt_priority %d" % rt_priority if rt_priority else "", priority,
       ("%.2f" % advert_s).rstrip("0").rstrip("."), vip, " label " + label if label else "")


def keepalived_argv(conf, base):
    """keepalived's VRRP process alone, in the foreground, its pid files under `base`."""
    return ["keepalived", "-n", "-l", "-P", "-f", conf, "-p", base + ".pid", "-r",
            base + "_vrrp.pid", "-c", base + "_chk.pid"]


def check_load_toml(checks, probe="syn"):
    """`checks` tcp checks a second, 1,000 per virtual server, to closed loopback ports
    (refused at once: an RST to each SYN); the daemon needs dataplane = "none"."""
    lines, per_vs = [], 1000
    for v in range((checks + per_vs - 1) // per_vs):
        lines.append('[[virtual_server]]\naddress = "127.1.%d.1"\nport = 80\n' % v)
        for i in range(min(per_vs, checks - v * per_vs)):
            lines.append('  [[virtual_server.real_server]]\n  address = "127.2.%d.%d"\n  port = %d\n'
                         '  check = { type = "tcp", probe = "%s", interval = "1s", timeout = "500ms" }\n'
                         % (v, i % 250 + 1, 10000 + i // 250, probe))
    return "\n".join(lines)


HERE = os.path.dirname(os.path.abspath(__file__))
