// SPDX-License-Identifier: GPL-2.0-or-later
// vrrp_script, vrrp_instance and vrrp_sync_group -> [[track_script]], [[vrrp_instance]],
// [[sync_group]] (and [global] lvs_sync_daemon, which names an instance). Track files and
// every track_* reference, the sync groups' included: import_tracking.cpp.
#include <algorithm>
#include <climits>
#include <stdexcept>

#include "core/text.h"
#include "migrate/import_context.h"

namespace hd::migrate::keepalived::detail {

using namespace std::chrono_literals;
using config::VrrpInstance;

void map_vrrp_script(Ctx& ctx, const Node& n) {
  auto& cfg = ctx.out().config;
  if (!ctx.new_definition(n, "script", [&](const std::string& name) {
        return std::any_of(cfg.track_scripts.begin(), cfg.track_scripts.end(),
                           [&](auto& s) { return s.name == name; });
      }))
    return;
  config::TrackScript s;
  s.name = n.args[0];
  s.interval = 1s;  // keepalived's default
  std::optional<Duration> timeout;
  bool have_script = false;
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "script") {
      if (auto v = ctx.command(c)) {
        s.command = *v;
        have_script = true;
      }
    } else if (k == "interval") {
      if (auto v = ctx.seconds(c, 10ms, 1h)) s.interval = *v;
    } else if (k == "timeout") {
      timeout = ctx.seconds(c, 10ms, 1h);
    } else if (k == "weight") {
      if (auto v = ctx.integer(c, -253, 253)) s.weight = static_cast<int>(*v);
      if (c.args.size() > 1 && c.args[1] == "reverse")
        ctx.warn(c.pos, "weight ... reverse not supported: the weight applies as keepalived "
                        "applies it without reverse");
    } else if (k == "rise") {
      if (auto v = ctx.integer(c, 1, 100)) s.rise = static_cast<int>(*v);
    } else if (k == "fall") {
      if (auto v = ctx.integer(c, 1, 100)) s.fall = static_cast<int>(*v);
    } else if (k == "init_fail") {
      // hadirector's track scripts start as failing anyway
    } else if (k == "user") {
      ctx.unsupported(c, "the script runs as hadirector's own user (root)");
    } else {
      ctx.warn(c.pos, k + " not supported in vrrp_script: ignored");
    }
  }
  if (!have_script) {
    ctx.warn(n.pos, "vrrp_script " + s.name + " has no script: ignored");
    return;
  }
  // keepalived kills a script still running at the next interval; hadirector's timeout may
  // not exceed the interval.
  s.timeout = timeout ? std::min(*timeout, s.interval) : s.interval;
  if (timeout && *timeout > s.interval)
    ctx.note(n.pos, "vrrp_script " + s.name + ": timeout above the interval: cut to " +
                        config::duration_text(s.interval));
  cfg.track_scripts.push_back(std::move(s));
  ctx.out().script_from.push_back(n.pos);
}

namespace {

// keepalived rounds a version 2 interval to the nearest second, at least 1.
Duration round_seconds(Duration d) {
  auto s = std::chrono::round<std::chrono::seconds>(d);
  return std::max<Duration>(s, 1s);
}

// One virtual_ipaddress line: ADDR[/LEN] [dev IF] [label L] [brd B] [scope S] ...
std::optional<config::Vip> vip(Ctx& ctx, const Node& line, const std::string& interface) {
  auto p = IpPrefix::parse(line.keyword);
  if (!p) {
    ctx.warn(line.pos, "'" + line.keyword + "' is not an address: ignored");
    return std::nullopt;
  }
  config::Vip v{*p, ""};
  for (size_t i = 0; i < line.args.size(); ++i) {
    const std::string& k = line.args[i];
    const std::string val = i + 1 < line.args.size() ? line.args[i + 1] : "";
    if (k == "label") {
      ++i;
      if (!p->address.is_v4())
        ctx.warn(line.pos, "label " + val + " not supported on IPv6: no label");
      else if (val.rfind(interface + ":", 0) != 0 || val.size() > 15)
        ctx.warn(line.pos, "label " + val + " not supported: a label must be " + interface +
                               ":SOMETHING, at most 15 characters: no label");
      else
        v.label = val;
    } else if (k == "dev") {
      ++i;
      if (val != interface)
        ctx.warn(line.pos, "dev " + val + " not supported: hadirector adds every VIP to its "
                               "instance's interface (" + interface +
                               "): give " + val + "'s addresses an instance of their own");
    } else if (k == "brd" || k == "broadcast") {
      ++i;  // the kernel's broadcast address for the prefix is what keepalived's users mean
    } else if (k == "scope") {
      ++i;
      if (val != "global")
        ctx.warn(line.pos, "scope " + val + " not supported: the VIP has global scope");
    } else if (k == "no_track" || k == "home" || k == "nodad" || k == "noprefixroute") {
      ctx.warn(line.pos, k + " not supported on a VIP: ignored");
    } else {
      ctx.warn(line.pos, "'" + k + "' not supported on a VIP: ignored");
    }
  }
  return v;
}

void put_notify(Ctx& ctx, const Node& c, std::vector<std::string>& slot) {
  if (auto v = ctx.command(c)) slot = *v;
}

}  // namespace

void map_vrrp_instance(Ctx& ctx, const Node& n) {
  auto& cfg = ctx.out().config;
  auto& d = ctx.defaults;
  if (n.args.empty()) {
    ctx.bad(n, "the instance has no name", "ignored");
    return;
  }
  VrrpInstance vi;
  vi.name = n.args[0];
  for (auto& o : cfg.vrrp_instances)
    if (o.name == vi.name) {
      ctx.warn(n.pos, "vrrp_instance " + vi.name + " defined again: ignored");
      return;
    }
  vi.version = d.vrrp_version;
  // global_defs first; the instance's own garp_* below override them.
  if (d.garp_count) vi.garp.count = *d.garp_count;
  if (d.garp_second_burst) vi.garp.second_burst_delay = *d.garp_second_burst;
  if (d.garp_refresh) vi.garp.refresh = *d.garp_refresh;
  bool own_spacing = false;
  for (auto& c : n.children)
    if (c.keyword == "version")
      if (auto v = ctx.integer(c, 2, 3)) vi.version = static_cast<int>(*v);
  for (auto& c : n.children)
    if (c.keyword == "interface" && !c.args.empty()) vi.interface = c.args[0];
  std::optional<Duration> advert;
  std::optional<std::string> auth_type, auth_pass;
  Pos auth_pos = n.pos;
  std::vector<std::string> generic_notify;
  const Node* generic_notify_node = nullptr;
  bool state_master = false;
  bool any_notify = false;
  bool native_ipv6 = false;
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "version" || k == "interface") {
      if (k == "interface" && c.args.empty()) ctx.bad(c, "the interface is missing", "ignored");
    } else if (k == "state") {
      state_master = !c.args.empty() && c.args[0] == "MASTER";
    } else if (k == "virtual_router_id") {
      if (auto v = ctx.integer(c, 1, 255)) vi.vrid = static_cast<int>(*v);
    } else if (k == "priority") {
      if (auto v = ctx.integer(c, 1, 255)) vi.priority = static_cast<int>(*v);
    } else if (k == "advert_int") {
      advert = ctx.seconds(c, 10ms, 255s);
    } else if (k == "nopreempt") {
      vi.preempt = false;
    } else if (k == "preempt") {
      vi.preempt = true;
    } else if (k == "preempt_delay") {
      if (auto v = ctx.seconds(c, 0s, 1000s)) vi.preempt_delay = *v;
    } else if (k == "authentication") {
      for (auto& a : c.children) {
        if (a.keyword == "auth_type" && !a.args.empty()) auth_type = a.args[0], auth_pos = a.pos;
        else if (a.keyword == "auth_pass" && !a.args.empty()) auth_pass = a.args[0];
        else ctx.warn(a.pos, a.keyword + " not supported in authentication: ignored");
      }
    } else if (k == "unicast_src_ip") {
      if (auto a = ctx.address(c)) vi.unicast_source = *a;
    } else if (k == "unicast_peer") {
      if (!c.block) {
        ctx.bad(c, "needs a block { ADDRESS ... }", "ignored (keepalived reads no peer here either)");
        continue;
      }
      for (auto& p : c.children) {
        std::string s = p.keyword;
        if (auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
        if (auto a = IpAddress::parse(s)) {
          if (std::find(vi.unicast_peers.begin(), vi.unicast_peers.end(), *a) == vi.unicast_peers.end())
            vi.unicast_peers.push_back(*a);
          else
            ctx.warn(p.pos, "unicast_peer " + a->str() + " given again: once is enough");
        }
        else ctx.warn(p.pos, "'" + p.keyword + "' is not an address: ignored");
        if (!p.args.empty())
          ctx.warn(p.pos, "unicast_peer " + p.args[0] + " not supported: ignored");
      }
    } else if (k == "virtual_ipaddress" || k == "virtual_ipaddress_excluded") {
      for (auto& l : c.children) {
        auto v = vip(ctx, l, vi.interface);
        if (!v) continue;
        auto same = [&](const config::Vip& o) { return o.prefix.address == v->prefix.address; };
        if (std::any_of(vi.vips.begin(), vi.vips.end(), same) ||
            std::any_of(vi.excluded_vips.begin(), vi.excluded_vips.end(), same)) {
          ctx.warn(l.pos, "VIP " + v->prefix.address.str() +
                              " given again in this instance: the first one is used");
          continue;
        }
        (k == "virtual_ipaddress" ? vi.vips : vi.excluded_vips).push_back(*v);
      }
    } else if (k == "track_interface") {
      read_track_interfaces(ctx, c, vi.name, vi.track_interfaces);
    } else if (k == "track_script") {
      read_track_scripts(ctx, c, vi.name, vi.track_scripts);
    } else if (k == "track_file") {
      read_track_files(ctx, c, vi.name, vi.track_files);
    } else if (k == "notify_master") {
      put_notify(ctx, c, vi.notify.master), any_notify = true;
    } else if (k == "notify_backup") {
      put_notify(ctx, c, vi.notify.backup), any_notify = true;
    } else if (k == "notify_fault") {
      put_notify(ctx, c, vi.notify.fault), any_notify = true;
    } else if (k == "notify_stop") {
      put_notify(ctx, c, vi.notify.stop), any_notify = true;
    } else if (k == "notify") {
      if (auto v = ctx.command(c)) generic_notify = *v, generic_notify_node = &c;
    } else if (k == "smtp_alert") {
      ctx.unsupported(c, "hadirector sends no e-mail: use notify scripts");
    } else if (k == "garp_master_delay") {
      if (auto v = ctx.seconds(c, 0s, 1h)) vi.garp.second_burst_delay = *v;
    } else if (k == "garp_master_repeat") {
      if (auto v = ctx.integer(c, 0, 100)) vi.garp.count = static_cast<int>(*v);
    } else if (k == "garp_master_refresh") {
      if (auto v = ctx.seconds(c, 0s, 24h)) vi.garp.refresh = *v;
    } else if (k == "garp_interval" || k == "gna_interval") {
      if (auto v = ctx.seconds(c, 0s, 1s)) vi.garp.spacing = *v, own_spacing = true;
    } else if (k == "garp_master_refresh_repeat") {
      ctx.note(c.pos, k + ": hadirector's refresh sends the whole burst (garp.count packets)");
    } else if (k == "lvs_sync_daemon_interface") {
      if (c.args.empty()) continue;
      if (!d.lvs_sync_interface) {
        d.lvs_sync_interface = c.args[0];
        d.lvs_sync_instance = vi.name;
        d.lvs_sync_pos = c.pos;
      } else {
        ctx.note(c.pos, k + ": global_defs lvs_sync_daemon already set: this one is ignored");
      }
    } else if (k == "use_vmac" || k == "vmac_xmit_base") {
      ctx.unsupported(c, "no VRRP MAC address: the VIPs go on " + vi.interface +
                             " and are announced with its MAC (gratuitous ARP moves them)");
    } else if (k == "mcast_src_ip") {
      ctx.unsupported(c, "multicast adverts come from " + vi.interface +
                             "'s primary address (list the other router's in peers to filter)");
    } else if (k == "dont_track_primary") {
      ctx.unsupported(c, "the instance's own interface is always tracked");
    } else if (k == "virtual_routes" || k == "virtual_rules") {
      ctx.unsupported(c, "no routes or rules follow the VIPs: add them in a notify script");
    } else if (k == "track_process" || k == "track_bfd") {
      ctx.unsupported(c, "not tracked: use a track_script that tests the same thing");
    } else if (k == "native_ipv6") {
      native_ipv6 = true;  // an IPv6 instance is native already; it names an instance without VIPs' family
    } else if (k == "accept" || k == "no_accept") {
      ctx.note(c.pos, k + ": hadirector neither adds nor needs firewall rules: a Master "
                          "accepts traffic to its VIPs (keepalived's accept)");
    } else if (k == "strict_mode" || k == "skip_check_adv_addr" || k == "check_unicast_src" ||
               k == "debug" || k == "kernel_rx_buf_size" || k == "higher_prio_send_advert" ||
               k == "lower_prio_no_advert" || k == "notify_master_rx_lower_pri" ||
               k == "notify_deleted" || k == "unicast_ttl" || k == "unicast_fault_no_peer" ||
               k == "garp_lower_prio_delay" || k == "garp_lower_prio_repeat" ||
               k == "garp_extra_if" || k == "vrrp_garp_extra_if") {
      ctx.unsupported(c, "ignored");
    } else {
      ctx.warn(c.pos, k + " not supported in vrrp_instance: ignored");
    }
  }
  if (vi.interface.empty()) {
    ctx.warn(n.pos, "vrrp_instance " + vi.name + " has no interface: ignored");
    return;
  }
  if (vi.vrid == 0) {
    ctx.warn(n.pos, "vrrp_instance " + vi.name + " has no virtual_router_id: ignored");
    return;
  }
  // No advertised VIP (none at all, as clouds' instances whose notify hooks move an address,
  // or only excluded ones): keepalived 2.2 runs it with version 2 ("at least one is
  // sensible": adverts carry no address) and refuses it with version 3 or IPv6 (RFC 5798).
  if (vi.vips.empty()) {
    const bool v6 = native_ipv6 || (vi.unicast_source && !vi.unicast_source->is_v4()) ||
                    std::any_of(vi.unicast_peers.begin(), vi.unicast_peers.end(),
                                [](auto& a) { return !a.is_v4(); });
    if (vi.version != 2 || v6) {
      ctx.warn(n.pos, "vrrp_instance " + vi.name + " has no virtual_ipaddress not supported with " +
                          (v6 ? std::string("IPv6") : std::string("VRRP version 3")) +
                          ": keepalived refuses it too (RFC 5798: an advert carries at least "
                          "one address): ignored");
      return;
    }
  }
  // One family per advert: keepalived moves the other family's addresses to the excluded
  // ones, and so does the importer.
  const Family fam = vi.family();
  for (auto it = vi.vips.begin(); it != vi.vips.end();) {
    if (it->prefix.address.family() != fam) {
      ctx.note(n.pos, "vrrp_instance " + vi.name + ": " + it->prefix.str() +
                          " is of the other address family: held as an excluded VIP");
      vi.excluded_vips.push_back(*it);
      it = vi.vips.erase(it);
    } else {
      ++it;
    }
  }
  // What one advert carries (hadirector check refuses more): the rest held unadvertised.
  const size_t most = fam == Family::v4 ? 255 : 90;
  if (vi.vips.size() > most) {
    ctx.note(n.pos, "vrrp_instance " + vi.name + ": more VIPs than one advert carries (" +
                        std::to_string(most) + "): the rest are held as excluded VIPs");
    vi.excluded_vips.insert(vi.excluded_vips.begin(), vi.vips.begin() + static_cast<long>(most),
                            vi.vips.end());
    vi.vips.resize(most);
  }
  if (fam == Family::v6 && vi.version == 2) {
    vi.version = 3;
    ctx.note(n.pos, "vrrp_instance " + vi.name + ": IPv6 needs VRRP version 3 (as keepalived "
                                                 "uses): version = 3");
  }
  if (advert) {
    if (vi.version == 2 && *advert % 1s != Duration::zero()) {
      ctx.note(n.pos, "vrrp_instance " + vi.name +
                          ": version 2 adverts are whole seconds: advert_int rounded to " +
                          config::duration_text(round_seconds(*advert)) + ", as keepalived rounds it");
      advert = round_seconds(*advert);
    }
    if (vi.version == 3) {
      advert = std::max<Duration>(10ms, std::chrono::round<std::chrono::duration<int64_t, std::centi>>(*advert));
      if (*advert > 40950ms) {
        ctx.note(n.pos, "vrrp_instance " + vi.name + ": version 3 adverts are at most 40.95 s: "
                                                     "advert_int capped, as keepalived caps it");
        advert = 40950ms;
      }
    }
    vi.advert_interval = *advert;
  }
  if (auth_type) {
    if (*auth_type == "AH") {
      ctx.warn(auth_pos, "auth_type AH not supported: this instance sends adverts without "
                      "authentication, so a keepalived peer using AH ignores them");
    } else if (*auth_type != "PASS") {
      ctx.warn(auth_pos, "auth_type " + *auth_type + " not supported: no authentication");
    } else if (vi.version == 3) {
      ctx.note(auth_pos, "vrrp_instance " + vi.name + ": authentication ignored for VRRP "
                                                   "version 3, as keepalived ignores it");
    } else if (auth_pass && !auth_pass->empty()) {
      vi.auth_pass = auth_pass->substr(0, 8);
      if (auth_pass->size() > 8)
        ctx.note(auth_pos, "auth_pass longer than 8 characters: only the first 8 are used, as "
                        "keepalived uses them");
    }
  }
  const auto& spacing = fam == Family::v6 ? d.gna_spacing : d.garp_spacing;
  if (spacing && !own_spacing) vi.garp.spacing = *spacing;
  if (generic_notify_node) {
    for (auto* slot : {&vi.notify.master, &vi.notify.backup, &vi.notify.fault, &vi.notify.stop})
      if (slot->empty()) *slot = generic_notify;
    ctx.note(generic_notify_node->pos,
             "notify: run for MASTER, BACKUP, FAULT and STOP with the instance name and the "
             "state appended (keepalived passes \"INSTANCE\" NAME STATE PRIORITY)");
    if (any_notify)
      ctx.note(generic_notify_node->pos,
               "notify beside notify_STATE: only notify_STATE runs for that state");
  } else if (any_notify) {
    ctx.note(n.pos, "vrrp_instance " + vi.name + ": notify commands get the instance name and "
                                                 "the new state appended as arguments");
  }
  if (state_master)
    ctx.note(n.pos, "vrrp_instance " + vi.name +
                        ": state MASTER: hadirector starts as BACKUP and the priority decides "
                        "(it becomes MASTER after Master_Down_Interval if no one is)");
  ctx.out().instance_from.push_back(n.pos);
  cfg.vrrp_instances.push_back(std::move(vi));
}

void map_sync_group(Ctx& ctx, const Node& n) {
  if (n.args.empty()) {
    ctx.bad(n, "the group has no name", "ignored");
    return;
  }
  config::SyncGroup g;
  g.name = n.args[0];
  for (auto& c : n.children) {
    if (c.keyword == "group") {
      for (auto& m : c.children) {
        g.instances.push_back(m.keyword);
        for (auto& more : m.args) g.instances.push_back(more);
      }
    } else if (c.keyword.rfind("notify", 0) == 0 || c.keyword == "smtp_alert") {
      ctx.unsupported(c, "give each member instance its notify commands");
    } else if (c.keyword == "track_interface") {
      read_track_interfaces(ctx, c, group_owner(g.name), ctx.group_tracks[g.name].interfaces);
    } else if (c.keyword == "track_script") {
      read_track_scripts(ctx, c, group_owner(g.name), ctx.group_tracks[g.name].scripts);
    } else if (c.keyword == "track_file") {
      read_track_files(ctx, c, group_owner(g.name), ctx.group_tracks[g.name].files);
    } else if (c.keyword == "track_process" || c.keyword == "track_bfd") {
      ctx.unsupported(c, "not tracked: use a track_script that tests the same thing");
    } else if (c.keyword == "global_tracking" || c.keyword == "sync_group_tracking_weight") {
      ctx.group_tracking_weight.insert(g.name);
      ctx.note(c.pos, c.keyword + ": hadirector's sync groups always add every member's "
                                  "tracking weights to every member");
    } else {
      ctx.warn(c.pos, c.keyword + " not supported in vrrp_sync_group: ignored");
    }
  }
  ctx.out().config.sync_groups.push_back(std::move(g));
  ctx.out().group_from.push_back(n.pos);
}

void finish_vrrp(Ctx& ctx) {
  auto& out = ctx.out();
  auto& cfg = out.config;
  auto has_script = [&](const std::string& s) {
    return std::any_of(cfg.track_scripts.begin(), cfg.track_scripts.end(),
                       [&](auto& t) { return t.name == s; });
  };
  auto find_instance = [&](const std::string& name) -> const VrrpInstance* {
    for (auto& i : cfg.vrrp_instances)
      if (i.name == name) return &i;
    return nullptr;
  };
  // Duplicate VRIDs on one interface and family: keepalived refuses the later one too.
  for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i) {
    auto& a = cfg.vrrp_instances[i];
    for (size_t j = 0; j < i; ++j) {
      auto& b = cfg.vrrp_instances[j];
      if (a.vrid == b.vrid && a.interface == b.interface && a.family() == b.family()) {
        ctx.warn(out.instance_from[i], "vrrp_instance " + a.name + ": virtual_router_id " +
                                           std::to_string(a.vrid) + " is " + b.name +
                                           "'s on " + a.interface + " too: instance ignored");
        cfg.vrrp_instances.erase(cfg.vrrp_instances.begin() + static_cast<long>(i));
        out.instance_from.erase(out.instance_from.begin() + static_cast<long>(i));
        --i;
        break;
      }
    }
  }
  for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i) {
    auto& vi = cfg.vrrp_instances[i];
    std::erase_if(vi.track_scripts, [&](auto& r) {
      if (has_script(r.name)) return false;
      auto at = ctx.track_ref_pos.find(vi.name + " " + r.name);
      ctx.warn(at != ctx.track_ref_pos.end() ? at->second : out.instance_from[i],
               "vrrp_instance " + vi.name + ": track_script " + r.name +
                                         " not supported: no such vrrp_script: not tracked "
                                         "(keepalived ignores it too)");
      return true;
    });
    for (auto& r : vi.track_files)
      if (auto a = ctx.file_alias.find(r.name); a != ctx.file_alias.end()) {
        auto at = ctx.track_ref_pos.find(vi.name + " file " + r.name);
        if (at != ctx.track_ref_pos.end()) ctx.track_ref_pos.emplace(vi.name + " file " + a->second, at->second);
        if (ctx.reversed.count(r.weight ? vi.name + " file " + r.name : "file " + r.name))
          ctx.reversed.insert(vi.name + " file " + a->second);
        if (!r.weight) r.weight = static_cast<int>(std::clamp(ctx.file_weight[r.name], -254L, 254L));
        r.name = a->second;
      }
    std::erase_if(vi.track_files, [&](auto& r) {
      auto f = std::find_if(cfg.track_files.begin(), cfg.track_files.end(),
                            [&](auto& tf) { return tf.name == r.name; });
      auto at = ctx.track_ref_pos.find(vi.name + " file " + r.name);
      const Pos& where = at != ctx.track_ref_pos.end() ? at->second : out.instance_from[i];
      if (f == cfg.track_files.end()) {
        ctx.warn(where, "vrrp_instance " + vi.name + ": track_file " + r.name +
                            " not supported: no such track_file: not tracked (keepalived ignores it too)");
        return true;
      }
      return false;
    });
  }
  std::set<std::string> grouped;
  for (size_t i = 0; i < cfg.sync_groups.size(); ++i) {
    auto& g = cfg.sync_groups[i];
    std::erase_if(g.instances, [&](const std::string& m) {
      if (!find_instance(m)) {
        ctx.warn(out.group_from[i], "vrrp_sync_group " + g.name + ": instance " + m +
                                        " not supported: it is not defined: left out");
        return true;
      }
      if (!grouped.insert(m).second) {
        ctx.warn(out.group_from[i], "vrrp_sync_group " + g.name + ": instance " + m +
                                        " is in another group already: left out");
        return true;
      }
      return false;
    });
    if (g.instances.empty()) {
      ctx.warn(out.group_from[i], "vrrp_sync_group " + g.name + " has no instance: ignored");
      cfg.sync_groups.erase(cfg.sync_groups.begin() + static_cast<long>(i));
      out.group_from.erase(out.group_from.begin() + static_cast<long>(i));
      --i;
    }
  }
  share_group_tracking(ctx);
  // After the sync groups' rule (keepalived drops a member's weighted file first, seen in
  // its log): an address owner tracks a file with weight 0.
  for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i) {
    auto& vi = cfg.vrrp_instances[i];
    if (vi.priority != 255) continue;
    for (auto& r : vi.track_files) {
      auto f = std::find_if(cfg.track_files.begin(), cfg.track_files.end(),
                            [&](auto& tf) { return tf.name == r.name; });
      if (f == cfg.track_files.end() || r.weight.value_or(f->weight) == 0) continue;
      auto at = ctx.track_ref_pos.find(vi.name + " file " + r.name);
      ctx.note(at != ctx.track_ref_pos.end() ? at->second : out.instance_from[i],
               "vrrp_instance " + vi.name + " owns its addresses (priority 255): track_file " +
                   r.name + " tracked with weight 0 (a value other than 0 faults it), "
                   "as keepalived requires");
      r.weight = 0;
    }
  }
  auto& d = ctx.defaults;
  if (d.lvs_sync_interface) {
    const VrrpInstance* vi = find_instance(*d.lvs_sync_instance);
    if (!vi) {
      ctx.warn(d.lvs_sync_pos, "lvs_sync_daemon: instance " + *d.lvs_sync_instance +
                                   " not supported: it is not defined: no connection sync");
    } else {
      config::SyncDaemon s;
      s.interface = *d.lvs_sync_interface;
      s.vrrp_instance = vi->name;
      s.sync_id = d.lvs_sync_id.value_or(vi->vrid);  // keepalived's default: the VRID
      if (d.lvs_sync_maxlen) {
        s.max_message = *d.lvs_sync_maxlen < 64 ? 64 : *d.lvs_sync_maxlen;
      } else {
        ctx.note(d.lvs_sync_pos, "lvs_sync_daemon: sync messages of at most 128 bytes "
                                 "(hadirector's default, so a switchover loses fewer "
                                 "connections; keepalived leaves the kernel's 1472)");
      }
      cfg.global.lvs_sync_daemon = s;
    }
  }
}

}  // namespace hd::migrate::keepalived::detail
