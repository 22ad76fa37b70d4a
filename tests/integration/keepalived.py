# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian's keepalived as a VRRP peer (the interop tests) and as the daemon to compare with
(bench/): the config of one VRRP instance, and how to run its VRRP process alone in the
foreground inside a namespace."""


def keepalived_conf(router_id, priority, advert_s, vip, prefix_len=24, label=None, version=3,
                    rt_priority=None, extra=""):
    """One instance VI_1 (VRID 51) starting as BACKUP on eth0. `extra`: more lines for the
    instance (unicast peers, authentication); `rt_priority`: vrrp_rt_priority."""
    return """global_defs {
  router_id %s
  vrrp_version %d
  vrrp_garp_master_delay 0
  %s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int %s
  %s
  virtual_ipaddress {
    %s/%d dev eth0%s
  }
}
""" % (router_id, version, "vrrp_rt_priority %d" % rt_priority if rt_priority else "", priority,
       ("%.2f" % advert_s).rstrip("0").rstrip("."), extra, vip, prefix_len,
       " label " + label if label else "")


def keepalived_argv(conf, base):
    """keepalived's VRRP process alone, in the foreground, its pid files under `base`."""
    return ["keepalived", "-n", "-l", "-P", "-f", conf, "-p", base + ".pid", "-r",
            base + "_vrrp.pid", "-c", base + "_chk.pid"]
