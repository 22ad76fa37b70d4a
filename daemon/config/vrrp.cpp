// SPDX-License-Identifier: GPL-2.0-or-later
// [[vrrp_instance]], [[track_script]], [[sync_group]]. The protocol's own rules (advert
// interval) are vrrp/rules.h's.
#include "daemon/config/sections.h"

#include <algorithm>

#include "vrrp/rules.h"

namespace hd::config {
namespace {

using namespace std::chrono_literals;

std::optional<Vip> load_vip(Table& inst, const toml::node& n, std::string_view key) {
  Ctx& ctx = inst.ctx();
  std::string text;
  std::string label;
  const toml::node* addr_node = &n;
  if (auto* s = n.as_string()) {
    text = s->get();
  } else if (auto* t = n.as_table()) {
    Table vt(ctx, *t, std::string(key) + " entry");
    auto a = vt.str("address", true);
    if (a) {
      text = *a;
      addr_node = vt.node("address");
    }
    if (auto l = vt.str("label")) label = *l;
    vt.finish();
    if (!a) return std::nullopt;
  } else {
    inst.wrong_type(n, key, "a string or a table {address, label}");
    return std::nullopt;
  }
  auto p = IpPrefix::parse(text);
  if (!p) {
    ctx.error(*addr_node, "'" + text + "' is not a valid address or address/prefix");
    return std::nullopt;
  }
  return Vip{*p, label};
}


// `key`: an array of names, or of {name, weight} (track_scripts, track_files). False when an
// entry is neither (reported).
bool load_track_refs(Table& t, std::string_view key, const char* what, std::vector<TrackRef>& out) {
  auto* arr = t.array(key);
  if (!arr) return true;
  bool ok = true;
  for (auto& e : *arr) {
    if (auto* s = e.as_string()) {
      out.push_back({s->get(), std::nullopt});
    } else if (auto* tt = e.as_table()) {
      Table rt(t.ctx(), *tt, std::string(key) + " entry");
      TrackRef r;
      if (auto n = rt.str("name", true)) r.name = *n;
      if (auto w = rt.integer("weight", -254, 254)) r.weight = int(*w);
      rt.finish();
      out.push_back(r);
    } else {
      t.wrong_type(e, key, what);
      ok = false;
    }
  }
  return ok;
}

}  // namespace

std::optional<VrrpInstance> load_vrrp(Table& t) {
  Ctx& ctx = t.ctx();
  VrrpInstance vi;
  vi.pos = t.pos();
  bool ok = true;
  auto need = [&](auto opt, auto& dst) {
    if (opt)
      dst = *opt;
    else
      ok = false;
  };
  need(t.str("name", true), vi.name);
  need(t.str("interface", true), vi.interface);
  if (auto v = t.integer("virtual_router_id", 1, 255, true))
    vi.vrid = int(*v);
  else
    ok = false;
  if (auto* n = t.node("priority")) {
    if (auto v = t.check_int(*n, "priority", 1, 255)) vi.priority = int(*v);
    else ok = false;
  }
  if (auto* n = t.node("version")) {
    if (auto v = t.check_int(*n, "version", 2, 3)) vi.version = int(*v);
    else ok = false;
  }
  if (auto* n = t.node("advert_interval")) {
    (void)n;
    if (auto d = t.duration("advert_interval", Duration::zero(), std::chrono::seconds(255))) {
      auto ms = std::chrono::duration_cast<Millis>(*d);
      if (ms != *d) {
        ctx.error(*n, "'advert_interval' must be a whole number of milliseconds");
        ok = false;
      } else if (vi.version == 2 && !vrrp::valid_advert_interval(vrrp::Version::v2, *d)) {
        ctx.error(*n, "'advert_interval' for VRRP version 2 must be whole seconds from 1 to 255");
        ok = false;
      } else if (vi.version == 3 && !vrrp::valid_advert_interval(vrrp::Version::v3, *d)) {
        ctx.error(*n,
                  "'advert_interval' for VRRP version 3 must be from 10ms to 40.95s in 10ms steps");
        ok = false;
      } else {
        vi.advert_interval = *d;
      }
    } else {
      ok = false;
    }
  }
  if (auto v = t.boolean("preempt")) vi.preempt = *v;
  if (auto v = t.duration("preempt_delay", Duration::zero(), std::chrono::hours(1)))
    vi.preempt_delay = *v;
  if (auto v = t.duration("handover_linger", Duration::zero(), std::chrono::seconds(60)))
    vi.handover_linger = *v;
  // One entry of virtual_ipaddresses or virtual_ipaddresses_excluded; `advertised` says which.
  auto add_vip = [&](const toml::node& e, std::string_view key, bool advertised) {
    auto vip = load_vip(t, e, key);
    if (!vip) {
      ok = false;
      return;
    }
    SourcePos p = ctx.pos_of(e.source());
    if (advertised && !vi.vips.empty() &&
        vip->prefix.address.family() != vi.vips.front().prefix.address.family()) {
      ctx.error(p, "virtual IP address " + vip->prefix.address.str() +
                       " mixes address families in instance '" + vi.name +
                       "' (use one instance per family, or virtual_ipaddresses_excluded)");
      ok = false;
    }
    if (!vip->label.empty() && !vi.interface.empty()) {
      if (vip->label.rfind(vi.interface + ":", 0) != 0 || vip->label.size() == vi.interface.size() + 1) {
        ctx.error(p, "label '" + vip->label + "' must start with the interface name '" +
                         vi.interface + ":'");
        ok = false;
      } else if (vip->label.size() > 15) {
        ctx.error(p, "label '" + vip->label + "' is longer than 15 characters (IFNAMSIZ)");
        ok = false;
      }
    }
    if (!vip->label.empty() && !vip->prefix.address.is_v4()) {
      ctx.error(p, "labels apply to IPv4 addresses only (the kernel has no IPv6 labels)");
      ok = false;
    }
    for (auto* list : {&vi.vips, &vi.excluded_vips})
      for (auto& other : *list)
        if (other.prefix.address == vip->prefix.address) {
          ctx.error(p, "duplicate virtual IP address " + vip->prefix.address.str());
          ok = false;
        }
    (advertised ? vi.vips : vi.excluded_vips).push_back(*vip);
  };
  // Absent or empty: an instance without VIPs (keepalived allows it; notify hooks do the
  // work, such as moving a cloud's address). Its adverts carry no address.
  if (auto* arr = t.array("virtual_ipaddresses")) {
    for (auto& e : *arr) add_vip(e, "virtual_ipaddresses", true);
    // What one advert can carry (vrrp/rules.h): the 8-bit count, and the MTU.
    if (!vi.vips.empty()) {
      const auto v = vi.version == 2 ? vrrp::Version::v2 : vrrp::Version::v3;
      const size_t max = vrrp::max_advertised_addresses(v, vi.family());
      if (vi.vips.size() > max) {
        const bool by_count = max == vrrp::kMaxAdvertisedAddresses;
        ctx.error((*arr)[max],
                  "instance '" + vi.name + "' advertises " + std::to_string(vi.vips.size()) +
                      " virtual IP addresses; one advert carries at most " + std::to_string(max) +
                      (by_count ? " (an 8-bit count)"
                                : " (" + std::to_string(vrrp::advert_wire_size(v, vi.family(), max)) +
                                      " bytes with headers, within a " +
                                      std::to_string(vrrp::kAdvertMtu) + "-byte MTU)") +
                      ": this is the first one too many; list the rest in "
                      "'virtual_ipaddresses_excluded' (held with the others, not advertised)");
        ok = false;
      }
    }
  }
  // RFC 5798 5.2.5: a version 3 advert carries at least one address (keepalived 2.2 refuses
  // such an instance; with version 2 it warns and runs it, and so does hadirector).
  const auto* vip_list = t.node("virtual_ipaddresses");
  const bool none_listed = !vip_list || (vip_list->as_array() && vip_list->as_array()->empty());
  if (none_listed && vi.version != 2) {
    ctx.error(vip_list ? ctx.pos_of(vip_list->source()) : t.pos(),
              "instance '" + vi.name + "' has no virtual_ipaddresses: a VRRP version 3 advert "
              "carries at least one (RFC 5798); an instance without VIPs must be version = 2");
    ok = false;
  }
  if (auto* arr = t.array("virtual_ipaddresses_excluded"))
    for (auto& e : *arr) add_vip(e, "virtual_ipaddresses_excluded", false);
  if (!vi.interface.empty() && vi.interface.size() > 15) {
    ctx.error(*t.node("interface"), "interface name '" + vi.interface + "' is longer than 15 characters");
    ok = false;
  }
  if (vi.version == 2 && vi.family() != Family::v4) {
    ctx.error(*t.node("virtual_ipaddresses"), "VRRP version 2 is IPv4 only; use version = 3 for IPv6");
    ok = false;
  }
  // Addresses of the instance's family: its VIPs', or IPv4 without VIPs (version 2).
  const std::string not_vip_family = vi.vips.empty()
      ? " is not IPv4 (an instance without VIPs is version 2, IPv4)"
      : " is not in the virtual IPs' address family";
  if (auto a = t.address("unicast_source")) {
    vi.unicast_source = *a;
    if (a->family() != vi.family()) {
      ctx.error(*t.node("unicast_source"), vi.vips.empty() ? "unicast_source" + not_vip_family
                                                           : "unicast_source family differs from the virtual IPs'");
      ok = false;
    }
  }
  if (auto* arr = t.array("unicast_peers")) {
    for (auto& e : *arr) {
      auto a = t.check_address(e, "unicast_peers");
      if (!a) {
        ok = false;
        continue;
      }
      if (a->family() != vi.family()) {
        ctx.error(e, "unicast peer " + a->str() + not_vip_family);
        ok = false;
      }
      if (std::find(vi.unicast_peers.begin(), vi.unicast_peers.end(), *a) != vi.unicast_peers.end()) {
        ctx.error(e, "duplicate unicast peer " + a->str());
        ok = false;
      }
      vi.unicast_peers.push_back(*a);
    }
  }
  if (auto* arr = t.array("peers")) {
    if (!vi.unicast_peers.empty()) {
      ctx.error(*t.node("peers"), "'peers' is for multicast instances; a unicast instance "
                                  "already takes adverts from its 'unicast_peers' only");
      ok = false;
    }
    for (auto& e : *arr) {
      auto a = t.check_address(e, "peers");
      if (!a) {
        ok = false;
        continue;
      }
      if (a->family() != vi.family()) {
        ctx.error(e, "peer " + a->str() + not_vip_family);
        ok = false;
      }
      if (std::find(vi.peers.begin(), vi.peers.end(), *a) != vi.peers.end()) {
        ctx.error(e, "duplicate peer " + a->str());
        ok = false;
      }
      vi.peers.push_back(*a);
    }
  }
  if (auto* n = t.node("adopt_interval_ratio")) {
    if (auto v = t.check_int(*n, "adopt_interval_ratio", 0, vrrp::kV3MaxAdvertIntCs)) {
      if (vi.version != 3) {
        ctx.error(*n, "'adopt_interval_ratio' applies to VRRP version 3 only (version 2 "
                      "adverts must carry our own interval)");
        ok = false;
      } else {
        vi.adopt_interval_ratio = int(*v);
      }
    } else {
      ok = false;
    }
  }
  if (vi.unicast_source && vi.unicast_peers.empty()) {
    ctx.error(*t.node("unicast_source"), "'unicast_source' needs 'unicast_peers'");
    ok = false;
  }
  if (auto v = t.str("auth_pass")) {
    if (vi.version != 2) {
      ctx.error(*t.node("auth_pass"), "'auth_pass' exists only in VRRP version 2 (RFC 5798 removed authentication)");
      ok = false;
    } else if (v->empty() || v->size() > 8) {
      ctx.error(*t.node("auth_pass"), "'auth_pass' must be 1 to 8 characters");
      ok = false;
    } else {
      vi.auth_pass = *v;
    }
  }
  if (auto* a = t.subtable("auth")) {
    if (auto sec = load_auth(ctx, *a, "auth of instance '" + vi.name + "'")) vi.auth = std::move(*sec);
    else ok = false;
  } else if (t.node("auth")) {
    ok = false;
  }
  if (auto* g = t.subtable("garp")) {
    Table gt(ctx, *g, "garp of instance '" + vi.name + "'");
    if (auto v = gt.integer("count", 0, 100)) vi.garp.count = int(*v);
    if (auto v = gt.duration("spacing", Duration::zero(), 10s)) vi.garp.spacing = *v;
    if (auto v = gt.duration("refresh", Duration::zero(), std::chrono::hours(24))) vi.garp.refresh = *v;
    if (auto v = gt.duration("second_burst_delay", Duration::zero(), std::chrono::minutes(10)))
      vi.garp.second_burst_delay = *v;
    gt.finish();
  }
  if (auto v = t.string_list("track_interfaces")) vi.track_interfaces = *v;
  if (!load_track_refs(t, "track_scripts", "a script name or {name, weight}", vi.track_scripts)) ok = false;
  if (!load_track_refs(t, "track_files", "a track_file name or {name, weight}", vi.track_files)) ok = false;
  if (auto* arr = t.array("track_virtual_servers")) {
    for (auto& e : *arr) {
      TrackVirtualServerRef r;
      if (auto* s = e.as_string()) {
        r.service = s->get();
      } else if (auto* tt = e.as_table()) {
        Table st(ctx, *tt, "track_virtual_servers entry");
        if (auto n = st.str("service", true)) r.service = *n;
        if (auto w = st.integer("weight", -254, 254)) r.weight = int(*w);
        st.finish();
      } else {
        t.wrong_type(e, "track_virtual_servers", "a service such as \"tcp 192.0.2.1:80\" or {service, weight}");
        ok = false;
        continue;
      }
      vi.track_virtual_servers.push_back(r);
    }
  }
  if (auto* nt = t.subtable("notify")) {
    Table n(ctx, *nt, "notify of instance '" + vi.name + "'");
    if (auto v = n.argv("master")) vi.notify.master = *v;
    if (auto v = n.argv("backup")) vi.notify.backup = *v;
    if (auto v = n.argv("fault")) vi.notify.fault = *v;
    if (auto v = n.argv("stop")) vi.notify.stop = *v;
    if (auto v = n.duration("timeout", Millis(10), std::chrono::hours(1))) vi.notify.timeout = *v;
    n.finish();
  }
  t.finish();
  if (vi.vips.empty() && vi.excluded_vips.empty() && vi.notify == Notify{})
    ctx.warn(vi.pos, "instance '" + vi.name + "' has no virtual IP addresses and no notify hooks: "
                     "its Master holds nothing");
  if (!ok) return std::nullopt;
  return vi;
}


std::optional<TrackScript> load_track_script(Table& st) {
  TrackScript s;
  s.pos = st.pos();
  bool ok = true;
  if (auto v = st.str("name", true)) s.name = *v; else ok = false;
  if (auto v = st.argv("command", true)) s.command = *v; else ok = false;
  if (auto v = st.duration("interval", Millis(10), std::chrono::hours(24))) s.interval = *v;
  if (auto v = st.duration("timeout", Millis(1), std::chrono::hours(1))) s.timeout = *v;
  if (auto v = st.integer("rise", 1, 100)) s.rise = int(*v);
  if (auto v = st.integer("fall", 1, 100)) s.fall = int(*v);
  if (auto v = st.integer("weight", -254, 254)) s.weight = int(*v);
  st.finish();
  if (!ok) return std::nullopt;
  return s;
}

std::optional<TrackFile> load_track_file(Table& ft) {
  TrackFile f;
  f.pos = ft.pos();
  bool ok = true;
  if (auto v = ft.str("name", true)) f.name = *v; else ok = false;
  if (auto p = ft.file_path("path", true)) f.path = *p; else ok = false;
  if (auto v = ft.integer("weight", -254, 254)) f.weight = int(*v);
  if (auto v = ft.integer("init", INT32_MIN, INT32_MAX)) f.init = *v;
  if (auto v = ft.boolean("init_overwrite")) f.init_overwrite = *v;
  if (f.init_overwrite && !f.init) {
    ft.ctx().error(*ft.node("init_overwrite"), "'init_overwrite' needs 'init' (the value to write)");
    ok = false;
  }
  ft.finish();
  if (!ok) return std::nullopt;
  return f;
}

std::optional<SyncGroup> load_sync_group(Table& gt) {
  auto n = gt.str("name", true);
  auto i = gt.node("instances", true) ? gt.strings(*gt.node("instances"), "instances", true)
                                      : std::nullopt;
  gt.finish();
  if (!n || !i) return std::nullopt;
  return SyncGroup{gt.pos(), *n, *i};
}

}  // namespace hd::config
