// SPDX-License-Identifier: GPL-2.0-or-later
// global_defs -> [global] and the defaults the VRRP instances take from it.
#include "migrate/import_context.h"

namespace hd::migrate::keepalived::detail {

using namespace std::chrono_literals;

namespace {

// lvs_sync_daemon INTERFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]
void sync_daemon(Ctx& ctx, const Node& n) {
  if (n.args.size() < 2) {
    ctx.bad(n, "needs INTERFACE and VRRP_INSTANCE", "ignored");
    return;
  }
  auto& d = ctx.defaults;
  if (d.lvs_sync_interface)
    ctx.note(n.pos, "lvs_sync_daemon given again: this one is used (as keepalived does)");
  d.lvs_sync_interface = n.args[0];
  d.lvs_sync_instance = n.args[1];
  d.lvs_sync_id.reset();
  d.lvs_sync_maxlen.reset();
  d.lvs_sync_pos = n.pos;
  for (size_t i = 2; i + 1 < n.args.size(); i += 2) {
    const std::string& k = n.args[i];
    if (k == "id") {
      if (auto v = ctx.integer(n, 0, 255, i + 1)) d.lvs_sync_id = static_cast<int>(*v);
    } else if (k == "maxlen") {
      if (auto v = ctx.integer(n, 1, 65000, i + 1)) d.lvs_sync_maxlen = static_cast<int>(*v);
    } else {
      ctx.warn(n.pos, "lvs_sync_daemon " + k +
                          " not supported: the kernel's default (port 8848, ttl 1, group "
                          "224.0.0.81 / ff02::8848) is used");
    }
  }
  if (n.args.size() % 2 == 1) ctx.warn(n.pos, "lvs_sync_daemon: '" + n.args.back() + "' ignored");
}

void timeouts(Ctx& ctx, const Node& n) {
  auto& t = ctx.out().config.global.ipvs_timeouts;
  for (size_t i = 0; i + 1 < n.args.size(); i += 2) {
    auto v = ctx.integer(n, 0, 86400 * 365, i + 1);
    if (!v) continue;
    Duration d = std::chrono::seconds(*v);
    const std::string& k = n.args[i];
    if (k == "tcp") t.tcp = d;
    else if (k == "tcpfin") t.tcpfin = d;
    else if (k == "udp") t.udp = d;
    else ctx.warn(n.pos, "lvs_timeouts " + k + " not supported: ignored");
  }
}

}  // namespace

void map_global(Ctx& ctx, const Node& n) {
  auto& g = ctx.out().config.global;
  auto& d = ctx.defaults;
  static const std::set<std::string> kNoMail = {
      "notification_email", "notification_email_from", "smtp_server", "smtp_helo_name",
      "smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
      "email_faults"};
  static const std::set<std::string> kNoSnmp = {
      "enable_traps", "enable_snmp_vrrp", "enable_snmp_checker", "enable_snmp_rfc",
      "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_keepalived", "snmp_socket",
      "enable_dbus", "enable_dbus_read_only"};
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "router_id") {
      if (c.args.empty()) ctx.bad(c, "the name is missing", "the host name is used");
      else g.router_id = c.args[0];
    } else if (k == "vrrp_version") {
      if (auto v = ctx.integer(c, 2, 3)) d.vrrp_version = static_cast<int>(*v);
    } else if (k == "vrrp_garp_master_delay") {
      if (auto v = ctx.seconds(c, 0s, 1h)) d.garp_second_burst = *v;
    } else if (k == "vrrp_garp_master_repeat") {
      if (auto v = ctx.integer(c, 0, 100)) d.garp_count = static_cast<int>(*v);
    } else if (k == "vrrp_garp_master_refresh") {
      if (auto v = ctx.seconds(c, 0s, 24h)) d.garp_refresh = *v;
    } else if (k == "vrrp_garp_interval") {
      if (auto v = ctx.seconds(c, 0s, 1s)) d.garp_spacing = *v;
    } else if (k == "vrrp_gna_interval") {
      if (auto v = ctx.seconds(c, 0s, 1s)) d.gna_spacing = *v;
    } else if (k == "vrrp_garp_master_refresh_repeat") {
      ctx.note(c.pos, k + ": hadirector's refresh sends the whole burst (garp.count packets)");
    } else if (k == "vrrp_garp_lower_prio_delay" || k == "vrrp_garp_lower_prio_repeat" ||
               k == "vrrp_lower_prio_no_advert" || k == "vrrp_higher_prio_send_advert") {
      ctx.unsupported(c,
                      "a Master that hears a lower-priority Master sends a burst of "
                      "gratuitous ARP at once and keeps advertising");
    } else if (k == "lvs_sync_daemon") {
      sync_daemon(ctx, c);
    } else if (k == "lvs_timeouts") {
      timeouts(ctx, c);
    } else if (k == "lvs_flush") {
      ctx.unsupported(c, "hadirector never touches IPVS services it does not own; on start "
                         "it adopts its own");
    } else if (k == "lvs_flush_onstop") {
      g.ipvs_remove_on_stop = true;
      ctx.note(c.pos, k + ": ipvs_on_stop = \"remove\" removes hadirector's own services "
                          "only, not the whole table");
    } else if (k == "vrrp_rt_priority") {
      if (auto v = ctx.integer(c, 1, 99)) {
        g.vrrp_realtime = true;
        g.vrrp_rt_priority = static_cast<int>(*v);
        ctx.note(c.pos, k + ": the VRRP thread runs SCHED_FIFO at this priority "
                            "(keepalived's VRRP process runs SCHED_RR)");
      }
    } else if (k == "vrrp_cpu_affinity") {
      for (size_t i = 0; i < c.args.size(); ++i)
        if (auto v = ctx.integer(c, 0, 4095, i)) g.vrrp_cpu_affinity.push_back(static_cast<int>(*v));
    } else if (kNoMail.contains(k)) {
      ctx.unsupported(c, "hadirector sends no e-mail: use notify scripts or alerts on its "
                         "metrics");
    } else if (kNoSnmp.contains(k)) {
      ctx.unsupported(c, "no SNMP or D-Bus: hadirector status --json and the Prometheus "
                         "endpoint ([global] metrics) report the same state");
    } else if (k == "script_user") {
      ctx.unsupported(c, "hadirector runs scripts as its own user (root); make the scripts "
                         "safe for that or wrap them with setpriv/runuser");
    } else if (k == "enable_script_security") {
      ctx.note(c.pos, k + ": hadirector refuses relative script paths and runs no shell "
                          "unless the command is /bin/sh -c");
    } else if (k == "vrrp_strict") {
      ctx.unsupported(c, "hadirector adds no firewall rules for the VIPs and accepts "
                         "unicast and v2 authentication");
    } else if (k == "vrrp_mcast_group4" || k == "vrrp_mcast_group6") {
      ctx.unsupported(c, "adverts go to the RFC groups 224.0.0.18 and ff02::12");
    } else if (k == "vrrp_skip_check_adv_addr" || k == "vrrp_check_unicast_src") {
      ctx.note(c.pos, k + ": hadirector checks unicast sources against unicast_peers always "
                          "and never drops an advert for its address list (it counts it)");
    } else if (k == "vrrp_iptables" || k == "vrrp_ipsets" || k == "nftables" ||
               k == "nftables_priority" || k == "nftables_counters" || k == "nftables_ifindex") {
      ctx.unsupported(c, "hadirector adds no firewall rules");
    } else if (k == "vrrp_no_swap" || k == "checker_no_swap" || k == "bfd_no_swap" ||
               k == "vrrp_priority" || k == "checker_priority" || k == "checker_rt_priority" ||
               k == "checker_cpu_affinity" || k == "bfd_priority" || k == "bfd_rt_priority") {
      ctx.unsupported(c, "only the VRRP thread's scheduling is configurable "
                         "(vrrp_realtime, vrrp_rt_priority, vrrp_cpu_affinity)");
    } else if (k == "lvs_id") {
      ctx.unsupported(c, "an old name for router_id: ignored (set router_id)");
    } else {
      ctx.warn(c.pos, k + " not supported in global_defs: ignored");
    }
  }
}

}  // namespace hd::migrate::keepalived::detail
