// SPDX-License-Identifier: GPL-2.0-or-later
// virtual_server_group, virtual_server, real_server and the checkers -> [[virtual_server]],
// [[virtual_server.real_server]] with their checks.
#include <algorithm>
#include <array>
#include <cstring>

#include "migrate/import_context.h"

namespace hd::migrate::keepalived::detail {

using namespace std::chrono_literals;
using config::Check;
using config::Forwarding;
using config::RealServer;
using config::VirtualServer;

namespace {

// "10.0.0.1-10": the last byte (IPv4) or the last group (IPv6, hex) runs to the number.
std::vector<IpAddress> expand_range(const std::string& text, bool& ok) {
  ok = true;
  auto dash = text.rfind('-');
  if (dash == std::string::npos) {
    auto a = IpAddress::parse(text);
    ok = a.has_value();
    return a ? std::vector<IpAddress>{*a} : std::vector<IpAddress>{};
  }
  auto first = IpAddress::parse(text.substr(0, dash));
  const std::string last_text = text.substr(dash + 1);
  char* end = nullptr;
  unsigned long last = std::strtoul(last_text.c_str(), &end, first && first->is_v4() ? 10 : 16);
  if (!first || last_text.empty() || *end != '\0') {
    ok = false;
    return {};
  }
  auto span = first->bytes();
  std::array<uint8_t, 16> bytes{};
  std::copy(span.begin(), span.end(), bytes.begin());
  std::vector<IpAddress> out;
  if (first->is_v4()) {
    if (last > 255 || last < bytes[3]) return ok = false, out;
    for (unsigned long b = bytes[3]; b <= last; ++b) {
      auto v = bytes;
      v[3] = static_cast<uint8_t>(b);
      out.push_back(*IpAddress::from_bytes(Family::v4, std::span(v.data(), 4)));
    }
  } else {
    unsigned long start = (static_cast<unsigned long>(bytes[14]) << 8) | bytes[15];
    if (last > 0xffff || last < start || last - start > 1024) return ok = false, out;
    for (unsigned long g = start; g <= last; ++g) {
      auto v = bytes;
      v[14] = static_cast<uint8_t>(g >> 8);
      v[15] = static_cast<uint8_t>(g & 0xff);
      out.push_back(*IpAddress::from_bytes(Family::v6, std::span(v.data(), 16)));
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// lb_kind / lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]
std::optional<Forwarding> method(Ctx& ctx, const Node& c, ipvs::Tunnel* tunnel) {
  if (c.args.empty()) {
    ctx.bad(c, "the method is missing", "ignored");
    return std::nullopt;
  }
  // keepalived reads NAT, DR and TUN in upper case only; anything else ("dr") runs as NAT.
  const std::string& m = c.args[0];
  if (m == "NAT") return Forwarding::nat;
  if (m == "DR") return Forwarding::dr;
  if (m == "TUN") {
    for (size_t i = 1; i < c.args.size(); ++i) {
      const std::string& a = c.args[i];
      if (a == "type" && i + 1 < c.args.size()) {
        auto t = ipvs::parse_tun_type(c.args[++i]);
        if (!t) ctx.bad(c, "tunnel type '" + c.args[i] + "' is unknown", "ipip used");
        else if (tunnel) tunnel->type = *t;
      } else if (a == "port" && i + 1 < c.args.size()) {
        if (auto p = ctx.integer(c, 1, 65535, ++i); p && tunnel)
          tunnel->port = static_cast<uint16_t>(*p);
      } else if (a == "nocsum" || a == "csum" || a == "remcsum") {
        if (tunnel) tunnel->flags = a == "nocsum" ? 0 : *ipvs::parse_tun_checksum(a);
      } else {
        ctx.warn(c.pos, c.keyword + " TUN: '" + a + "' not supported: ignored");
      }
    }
    if (tunnel)
      if (auto problem = ipvs::validate_tunnel(*tunnel)) {
        ctx.warn(c.pos, c.keyword + " TUN: " + problem->message +
                            " not supported: keepalived refuses the line too: NAT used");
        *tunnel = ipvs::Tunnel{};
        return Forwarding::nat;
      }
    return Forwarding::tun;
  }
  const std::string l = lower(m);
  ctx.warn(c.pos, c.keyword + " " + m + " not supported: NAT used, as keepalived uses it" +
                      (l == "fnat" ? " (FNAT is a DPVS keepalived method; Linux IPVS has no FNAT)"
                       : l == "nat" || l == "dr" || l == "tun"
                           ? " (keepalived reads NAT, DR and TUN in upper case only: write " +
                                 upper(m) +
                                 " if that is meant)"
                           : ""));
  return Forwarding::nat;
}

struct RsSpec {
  Pos pos;
  IpAddress address;
  std::optional<int> port;
  int weight = 1;
  std::optional<Forwarding> forwarding;
  ipvs::Tunnel tunnel;
  int upper = 0, lower = 0;
  bool inhibit = false;
  std::optional<Check> check;
};

std::optional<RsSpec> real_server(Ctx& ctx, const Node& n, const Timing& vs_timing,
                                  const std::string& host) {
  RsSpec rs;
  rs.pos = n.pos;
  if (n.args.empty()) {
    ctx.bad(n, "the address is missing", "ignored");
    return std::nullopt;
  }
  auto a = IpAddress::parse(n.args[0]);
  if (!a) {
    ctx.bad(n, "'" + n.args[0] + "' is not an address", "real server ignored");
    return std::nullopt;
  }
  rs.address = *a;
  if (n.args.size() > 1)
    if (auto p = ctx.integer(n, 0, 65535, 1)) rs.port = static_cast<int>(*p);
  Timing t = vs_timing;
  std::string rs_host = host;  // a real server's virtualhost overrides the service's
  for (auto& c : n.children) {
    if (c.keyword == "virtualhost" && !c.args.empty()) rs_host = c.args[0];
    timing_keyword(ctx, c, t);
  }
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "delay_loop" || k == "connect_timeout" || k == "retry" || k == "nb_get_retry" ||
        k == "delay_before_retry" || k == "warmup" || k == "alpha" || k == "virtualhost") {
      continue;
    } else if (k == "weight") {
      if (auto v = ctx.integer(c, 0, 65535)) rs.weight = static_cast<int>(*v);
    } else if (k == "uthreshold") {
      if (auto v = ctx.integer(c, 0, 65535)) rs.upper = static_cast<int>(*v);
    } else if (k == "lthreshold") {
      if (auto v = ctx.integer(c, 0, 65535)) rs.lower = static_cast<int>(*v);
    } else if (k == "lvs_method") {
      rs.forwarding = method(ctx, c, &rs.tunnel);
    } else if (k == "inhibit_on_failure") {
      rs.inhibit = true;
    } else if (k == "notify_up" || k == "notify_down") {
      ctx.unsupported(c, "no per real server scripts: `hadirector status --json` and the "
                         "metrics show every check's state");
    } else if (is_checker(k)) {
      auto ch = map_checker(ctx, c, t, rs_host);
      if (!ch) continue;
      if (rs.check) {
        ctx.unsupported(c, "a second checker: only the first one decides whether the server "
                           "is up");
        continue;
      }
      rs.check = ch;
    } else {
      ctx.warn(c.pos, k + " not supported in real_server: ignored");
    }
  }
  return rs;
}

}  // namespace

void map_vs_group(Ctx& ctx, const Node& n, VsGroups& groups) {
  if (!ctx.new_definition(n, "group", [&](const std::string& name) { return groups.contains(name); }))
    return;
  VsGroup g;
  g.pos = n.pos;
  for (auto& c : n.children) {
    if (c.keyword == "fwmark") {
      if (auto v = ctx.integer(c, 1, 4294967295L)) g.members.push_back({c.pos, {}, 0, static_cast<uint32_t>(*v)});
      continue;
    }
    bool ok = false;
    auto addrs = expand_range(c.keyword, ok);
    if (!ok) {
      ctx.warn(c.pos, "'" + c.keyword + "' is not an address or range: ignored");
      continue;
    }
    int port = 0;
    if (!c.args.empty()) {
      auto p = ctx.integer(c, 0, 65535);
      if (!p) continue;
      port = static_cast<int>(*p);
    }
    for (auto& a : addrs) g.members.push_back({c.pos, a, port, 0});
  }
  groups[n.args[0]] = std::move(g);
}

void map_virtual_server(Ctx& ctx, const Node& n, const VsGroups& groups) {
  auto& out = ctx.out();
  std::vector<VsGroup::Member> members;
  if (n.args.size() >= 2 && n.args[0] == "group") {
    auto it = groups.find(n.args[1]);
    if (it == groups.end()) {
      ctx.warn(n.pos, "virtual_server group " + n.args[1] +
                          ": no such virtual_server_group: ignored");
      return;
    }
    members = it->second.members;
    if (members.size() > 1)
      ctx.note(n.pos, "virtual_server group " + n.args[1] + ": one virtual_server per member (" +
                        std::to_string(members.size()) + ")");
  } else if (n.args.size() >= 2 && n.args[0] == "fwmark") {
    auto v = ctx.integer(n, 1, 4294967295L, 1);
    if (!v) return;
    members.push_back({n.pos, {}, 0, static_cast<uint32_t>(*v)});
  } else if (!n.args.empty() && n.args[0] != "group" && n.args[0] != "fwmark") {
    auto a = IpAddress::parse(n.args[0]);
    if (!a) {
      ctx.bad(n, "'" + n.args[0] + "' is not an address", "virtual server ignored");
      return;
    }
    // The port is optional in keepalived (a port-0 service: every port, persistent only);
    // hadirector has no such service.
    int port = 0;
    if (n.args.size() >= 2) {
      auto p = ctx.integer(n, 0, 65535, 1);
      if (!p) return;
      port = static_cast<int>(*p);
    }
    if (port == 0) {
      ctx.warn(n.pos, "virtual_server " + a->str() + " without a port not supported: hadirector "
                      "has no port-0 services (use a fwmark service): left out");
      return;
    }
    members.push_back({n.pos, a, port, 0});
  } else {
    ctx.bad(n, "needs ADDRESS PORT, fwmark N or group NAME", "ignored");
    return;
  }
  if (n.args.size() > 2)
    ctx.warn(n.pos, "virtual_server: '" + n.args[2] + "' not supported: ignored");

  VirtualServer base;
  Timing timing;
  std::string host;
  std::optional<Family> ip_family;
  std::optional<std::pair<IpAddress, std::optional<int>>> sorry;
  std::vector<RsSpec> rss;
  ipvs::Tunnel vs_tunnel;
  for (auto& c : n.children) {
    if (c.keyword == "virtualhost" && !c.args.empty()) host = c.args[0];
    timing_keyword(ctx, c, timing);
  }
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "delay_loop" || k == "connect_timeout" || k == "retry" || k == "nb_get_retry" ||
        k == "delay_before_retry" || k == "warmup" || k == "alpha" || k == "virtualhost") {
      continue;
    } else if (k == "lb_algo" || k == "lvs_sched") {
      auto s = c.args.empty() ? std::nullopt : ipvs::parse_scheduler(c.args[0]);
      if (s) base.scheduler = *s;
      else
        ctx.warn(c.pos, k + " " + (c.args.empty() ? "" : c.args[0]) +
                            " not supported: not a Linux IPVS scheduler: wlc used");
    } else if (k == "lb_kind" || k == "lvs_method") {
      // the tunnel settings go to every real server without its own lvs_method
      if (auto m = method(ctx, c, &vs_tunnel)) base.forwarding = *m;
    } else if (k == "persistence_timeout") {
      if (c.args.empty()) base.persistence_timeout = 360s;  // keepalived's default value
      else if (auto v = ctx.integer(c, 0, 2678400)) base.persistence_timeout = std::chrono::seconds(*v);
    } else if (k == "persistence_granularity") {
      if (c.args.empty()) continue;
      const std::string& g = c.args[0];
      if (g.find('.') != std::string::npos) {
        auto m = IpAddress::parse(g);
        int len = 0;
        bool contiguous = m && m->is_v4();
        if (contiguous) {
          auto b = m->bytes();
          uint32_t v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
          len = __builtin_popcount(v);
          contiguous = v == (len == 0 ? 0u : ~uint32_t{0} << (32 - len));
        }
        if (contiguous) base.persistence_netmask = len;
        else ctx.bad(c, "'" + g + "' is not a netmask", "ignored");
      } else if (auto v = ctx.integer(c, 1, 128)) {
        base.persistence_netmask = static_cast<int>(*v);
      }
    } else if (k == "protocol") {
      const std::string p = c.args.empty() ? "" : lower(c.args[0]);
      if (p == "tcp") base.protocol = config::Protocol::tcp;
      else if (p == "udp") base.protocol = config::Protocol::udp;
      else if (p == "sctp") base.protocol = config::Protocol::sctp;
      else ctx.bad(c, "'" + p + "' is not tcp, udp or sctp", "tcp used");
    } else if (k == "ip_family") {
      if (!c.args.empty() && c.args[0] == "inet6") ip_family = Family::v6;
      else if (!c.args.empty() && c.args[0] == "inet") ip_family = Family::v4;
      else ctx.bad(c, "not inet or inet6", "ignored");
    } else if (k == "sorry_server") {
      auto a = ctx.address(c);
      std::optional<int> port;
      if (c.args.size() > 1)
        if (auto p = ctx.integer(c, 0, 65535, 1)) port = static_cast<int>(*p);
      if (a) sorry = std::make_pair(*a, port);
    } else if (k == "sorry_server_inhibit") {
      ctx.unsupported(c, "the sorry server is removed when quorum returns");
    } else if (k == "sorry_server_lvs_method") {
      ctx.unsupported(c, "the sorry server uses the virtual server's forwarding");
    } else if (k == "quorum") {
      if (auto v = ctx.integer(c, 0, 1 << 30)) base.quorum = static_cast<int>(*v);
    } else if (k == "hysteresis") {
      if (auto v = ctx.integer(c, 0, 1 << 30)) base.hysteresis = static_cast<int>(*v);
    } else if (k == "quorum_up" || k == "quorum_down") {
      ctx.unsupported(c, "no quorum scripts: track the virtual server from a VRRP instance "
                         "(track_virtual_servers) or watch the metrics");
    } else if (k == "inhibit_on_failure") {
      base.inhibit_on_failure = true;
    } else if (k == "omega") {
      ctx.unsupported(c, "no quorum scripts are run on stop");
    } else if (k == "ha_suspend") {
      ctx.unsupported(c, "checks run whatever the VRRP state");
    } else if (k == "ops") {
      base.one_packet = true;
    } else if (k == "hashed" || k == "sh-port" || k == "sh-fallback" || k == "mh-port" ||
               k == "mh-fallback" || k == "flag-1" || k == "flag-2" || k == "flag-3") {
      // read after the scheduler is known
    } else if (k == "real_server") {
      if (auto r = real_server(ctx, c, timing, host)) rss.push_back(std::move(*r));
    } else if (k == "persistence_engine") {
      ctx.unsupported(c, "no persistence engines (sip): persistence by address only");
    } else if (k == "nat_mask" || k == "lvs_id" || k == "net_mask") {
      ctx.unsupported(c, "an obsolete or unknown keyword: ignored");
    } else {
      ctx.warn(c.pos, k + " not supported in virtual_server: ignored");
    }
  }
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    const bool sh = base.scheduler == ipvs::Scheduler::sh, mh = base.scheduler == ipvs::Scheduler::mh;
    uint32_t bit = 0;
    if (k == "sh-fallback" || k == "mh-fallback" || k == "flag-1")
      bit = sh ? ipvs::kShFallback : mh ? ipvs::kMhFallback : 0;
    else if (k == "sh-port" || k == "mh-port" || k == "flag-2")
      bit = sh ? ipvs::kShPort : mh ? ipvs::kMhPort : 0;
    else if (k == "hashed")
      ctx.note(c.pos, "hashed: the kernel sets it on every service");
    else if (k == "flag-3")
      ctx.unsupported(c, "no scheduler uses it: ignored");
    else
      continue;
    if (bit) base.scheduler_flags |= bit;
    else if (k != "hashed" && k != "flag-3")
      ctx.unsupported(c, "only for the sh and mh schedulers: ignored");
  }

  if (base.hysteresis > 0) {
    // keepalived: quorum is lost below quorum - hysteresis and regained at quorum +
    // hysteresis; hadirector: lost below quorum, regained at quorum + hysteresis. The same
    // two thresholds: quorum - h and a hysteresis of 2h.
    const int q = std::max(base.quorum, 1), h = base.hysteresis;
    ctx.note(n.pos, "quorum " + std::to_string(q) + ", hysteresis " + std::to_string(h) +
                        ": written as quorum " + std::to_string(std::max(q - h, 1)) +
                        ", hysteresis " + std::to_string(q + h - std::max(q - h, 1)) +
                        " (the same thresholds: lost below " + std::to_string(q - h) +
                        ", regained at " + std::to_string(q + h) + ", as keepalived counts)");
    base.quorum = std::max(q - h, 1);
    base.hysteresis = q + h - base.quorum;
  }
  if (base.one_packet && base.protocol != config::Protocol::udp) {
    ctx.warn(n.pos, "ops not supported on a " + std::string(to_string(base.protocol)) +
                        " service (IPVS schedules single packets for UDP only): off");
    base.one_packet = false;
  }
  // Real servers inherit the inhibit flag per service in hadirector.
  if (std::any_of(rss.begin(), rss.end(), [](auto& r) { return r.inhibit; }) &&
      !base.inhibit_on_failure) {
    base.inhibit_on_failure = true;
    ctx.note(n.pos, "inhibit_on_failure on a real server: hadirector sets it for the whole "
                    "virtual server (every failed server is kept with weight 0)");
  }

  if (base.persistence_netmask && base.persistence_timeout == Duration::zero()) {
    base.persistence_timeout = 360s;
    ctx.note(n.pos, "persistence_granularity without persistence_timeout: persistence of 360 s, "
                    "as keepalived sets it");
  }
  for (auto& m : members) {
    VirtualServer vs = base;
    vs.address = m.address;
    vs.port = m.port;
    vs.fwmark = m.fwmark;
    if (vs.fwmark && vs.one_packet) {
      ctx.warn(m.pos, "ops not supported on a fwmark service: off");
      vs.one_packet = false;
    }
    if (!m.address) {
      vs.family_ = ip_family.value_or(rss.empty() ? Family::v4 : rss.front().address.family());
    }
    const Family fam = vs.family();
    if (vs.persistence_netmask && fam == Family::v4 && *vs.persistence_netmask > 32) {
      ctx.warn(n.pos, "persistence_granularity " + std::to_string(*vs.persistence_netmask) +
                          " not supported on an IPv4 service: a /32 granularity");
      vs.persistence_netmask.reset();
    }
    if (sorry) {
      if (sorry->first.family() != fam && vs.forwarding != Forwarding::tun) {
        ctx.warn(n.pos, "sorry_server " + sorry->first.str() +
                            " is of the other address family: no sorry server");
      } else {
        vs.sorry_server = config::SorryServer{sorry->first, sorry->second.value_or(vs.port)};
      }
    }
    {
      std::vector<Pos> rs_pos;
      bool mixed = false;
      for (auto& r : rss) {
        RealServer rs;
        rs.address = r.address;
        rs.weight = r.weight;
        rs.forwarding = r.forwarding;
        rs.upper_threshold = r.upper;
        rs.lower_threshold = r.lower;
        const Forwarding fwd = r.forwarding.value_or(vs.forwarding);
        rs.tunnel = r.forwarding ? r.tunnel : vs_tunnel;
        rs.check = r.check;
        rs.port = r.port.value_or(vs.port);
        if (r.address.family() != fam && fwd != Forwarding::tun) {
          // keepalived runs no part of such a service (the kernel mixes families for tun
          // only): neither does the import.
          ctx.warn(r.pos, "real_server " + r.address.str() + " is of the other address family "
                          "than " + vs.key() + " (only tun forwarding mixes them) not supported: "
                          "the virtual server is left out, as keepalived leaves it out");
          mixed = true;
          break;
        }
        if (fwd != Forwarding::nat && rs.port != vs.port) {
          // IPVS forwards DR and TUN packets unchanged: the port is the service's.
          if (rs.check && !rs.check->connect_port && rs.port != 0 &&
              rs.check->type != config::CheckType::script &&
              rs.check->type != config::CheckType::ping &&
              rs.check->type != config::CheckType::file)
            rs.check.mut().connect_port = rs.port;
          if (rs.port != 0 && vs.port != 0)
            ctx.note(r.pos, "real_server " + r.address.str() + " " + std::to_string(rs.port) +
                                ": " + to_string(fwd) + " forwarding keeps the service's port " +
                                std::to_string(vs.port) + " (as IPVS does); the check still "
                                "probes " + std::to_string(rs.port));
          rs.port = vs.port;
        }
        if (std::any_of(vs.real_servers.begin(), vs.real_servers.end(), [&](auto& o) {
              return o.address == rs.address && o.port == rs.port;
            })) {
          ctx.warn(r.pos, "real_server " + r.address.str() + " given twice in " + vs.key() +
                              ": the second one is left out");
          continue;
        }
        vs.real_servers.push_back(std::move(rs));
        rs_pos.push_back(r.pos);
      }
      if (mixed) goto next_member;
      // The same service again (a group used twice, say): keepalived programs both blocks
      // into the one IPVS service, so its real servers are the union; the first block's
      // settings stay.
      auto& all = out.config.virtual_servers;
      auto same = std::find_if(all.begin(), all.end(), [&](auto& o) { return o.key() == vs.key(); });
      if (same != all.end()) {
        const size_t i = static_cast<size_t>(same - all.begin());
        ctx.note(n.pos, "virtual_server " + vs.key() + " given again: its real servers join the "
                        "first one's (as keepalived programs both into one IPVS service); the "
                        "first one's settings are kept");
        for (size_t k = 0; k < vs.real_servers.size(); ++k) {
          auto& rs = vs.real_servers[k];
          if (std::any_of(same->real_servers.begin(), same->real_servers.end(),
                          [&](auto& o) { return o.address == rs.address && o.port == rs.port; }))
            continue;
          same->real_servers.push_back(std::move(rs));
          out.rs_from[i].push_back(rs_pos[k]);
        }
        goto next_member;
      }
      all.push_back(std::move(vs));
      out.vs_from.push_back(n.pos);
      out.rs_from.push_back(std::move(rs_pos));
    }
  next_member:;
  }
}

}  // namespace hd::migrate::keepalived::detail
