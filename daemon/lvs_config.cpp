// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/lvs_config.h"

#include "daemon/config/check_spec.h"

namespace hd {
namespace {

ipvs::Method to_method(config::Forwarding f) {
  switch (f) {
    case config::Forwarding::nat: return ipvs::Method::nat;
    case config::Forwarding::dr: return ipvs::Method::dr;
    case config::Forwarding::tun: return ipvs::Method::tun;
  }
  return ipvs::Method::nat;
}

}  // namespace

ipvs::ServiceKey service_key(const config::VirtualServer& vs) {
  if (vs.fwmark) return ipvs::ServiceKey::fwmark(vs.fwmark, vs.family());
  ipvs::Protocol p = vs.protocol == config::Protocol::udp    ? ipvs::Protocol::udp
                     : vs.protocol == config::Protocol::sctp ? ipvs::Protocol::sctp
                                                             : ipvs::Protocol::tcp;
  return ipvs::ServiceKey::inet(p, *vs.address, static_cast<uint16_t>(vs.port));
}


std::string real_server_id(const config::VirtualServer& vs, const config::RealServer& rs) {
  std::string a = rs.address.is_v4() ? rs.address.str() : "[" + rs.address.str() + "]";
  return vs.key() + " -> " + a + ":" + std::to_string(rs.port);
}

std::string_view virtual_server_key_of(std::string_view real_id) {
  auto at = real_id.rfind(" -> ");
  return at == std::string_view::npos ? std::string_view{} : real_id.substr(0, at);
}

std::set<std::string> real_server_ids(const config::Config& cfg) {
  std::set<std::string> out;
  for (auto& vs : cfg.virtual_servers)
    for (auto& rs : vs.real_servers) out.insert(real_server_id(vs, rs));
  return out;
}

Resolved resolve_real_server(const config::Config& cfg, const std::string& vs_word,
                             const std::string& rs_word) {
  std::vector<const config::VirtualServer*> vss;
  for (auto& vs : cfg.virtual_servers) {
    std::string key = vs.key();
    if (key == vs_word) {
      vss.assign(1, &vs);
      break;
    }
    // "tcp 10.0.0.1:80" is also "10.0.0.1:80"; "fwmark 7 v4" also "fwmark 7".
    auto space = key.find(' ');
    bool short_form = vs.fwmark ? key.rfind(' ') > space && key.substr(0, key.rfind(' ')) == vs_word
                                : key.substr(space + 1) == vs_word;
    if (short_form) vss.push_back(&vs);
  }
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (auto& n : names) out += (out.empty() ? "" : ", ") + ("'" + n + "'");
    return out;
  };
  if (vss.empty()) {
    std::vector<std::string> all;
    for (auto& vs : cfg.virtual_servers) all.push_back(vs.key());
    return {"", "no virtual server '" + vs_word + "'" +
                    (all.empty() ? std::string(" (none is configured)")
                                 : " (configured: " + list(all) + ")")};
  }
  if (vss.size() > 1) {
    std::vector<std::string> keys;
    for (auto* vs : vss) keys.push_back(vs->key());
    return {"", "'" + vs_word + "' names several virtual servers: " + list(keys)};
  }
  const config::VirtualServer& vs = *vss[0];
  std::vector<std::string> ids, all;
  for (auto& rs : vs.real_servers) {
    std::string id = real_server_id(vs, rs);
    std::string rhs = id.substr(id.find(" -> ") + 4);
    all.push_back(rhs);
    std::string addr = rs.address.str();
    if (rhs == rs_word) {
      ids.assign(1, id);
      break;
    }
    if (addr == rs_word || "[" + addr + "]" == rs_word) ids.push_back(id);
  }
  if (ids.size() == 1) return {ids[0], ""};
  if (ids.empty())
    return {"", "virtual server '" + vs.key() + "' has no real server '" + rs_word + "'" +
                    (all.empty() ? std::string() : " (it has " + list(all) + ")")};
  std::vector<std::string> rhs;
  for (auto& id : ids) rhs.push_back(id.substr(id.find(" -> ") + 4));
  return {"", "'" + rs_word + "' names several real servers of '" + vs.key() + "': " + list(rhs)};
}

std::vector<ipvs::VirtualServiceSpec> to_ipvs_specs(const config::Config& cfg) {
  std::vector<ipvs::VirtualServiceSpec> out;
  out.reserve(cfg.virtual_servers.size());
  for (auto& vs : cfg.virtual_servers) out.push_back(to_ipvs_spec(vs));
  return out;
}

ipvs::VirtualServiceSpec to_ipvs_spec(const config::VirtualServer& vs) {
  ipvs::VirtualServiceSpec s;
  s.key = service_key(vs);
  s.scheduler = std::string(ipvs::to_string(vs.scheduler));
  s.flags |= vs.scheduler_flags;
  if (vs.one_packet) s.flags |= ipvs::kOnePacket;
  s.persistence = std::chrono::duration_cast<std::chrono::seconds>(vs.persistence_timeout);
  if (vs.persistence_netmask) s.netmask = static_cast<uint8_t>(*vs.persistence_netmask);
  s.quorum = vs.quorum;
  s.hysteresis = vs.hysteresis;
  if (vs.sorry_server) {
    ipvs::Destination d;
    d.key = {vs.sorry_server->address, static_cast<uint16_t>(vs.sorry_server->port)};
    d.method = to_method(vs.forwarding);
    d.weight = 1;
    s.sorry = d;
  }
  s.inhibit_on_failure = vs.inhibit_on_failure;
  s.slow_start = vs.slow_start;
  s.reals.reserve(vs.real_servers.size());
  for (auto& rs : vs.real_servers) {
    ipvs::Destination d;
    d.key = {rs.address, static_cast<uint16_t>(rs.port)};
    d.method = to_method(rs.forwarding.value_or(vs.forwarding));
    d.weight = rs.weight;
    d.u_threshold = static_cast<uint32_t>(rs.upper_threshold);
    d.l_threshold = static_cast<uint32_t>(rs.lower_threshold);
    if (d.method == ipvs::Method::tun) d.tunnel = rs.tunnel;
    s.reals.push_back({real_server_id(vs, rs), d});
  }
  return s;
}

std::vector<checkers::Target> to_check_targets(const config::Config& cfg,
                                               const std::set<std::string>& adopted_up) {
  std::vector<checkers::Target> out;
  size_t n = 0;
  for (auto& vs : cfg.virtual_servers)
    for (auto& rs : vs.real_servers) n += rs.check.has_value();
  out.reserve(n);
  for (auto& vs : cfg.virtual_servers) append_check_targets(vs, out);
  if (!adopted_up.empty())
    for (auto& t : out)
      if (adopted_up.count(t.id)) t.spec.initial_up = true;
  return out;
}

void append_check_targets(const config::VirtualServer& vs, std::vector<checkers::Target>& out) {
  for (auto& rs : vs.real_servers) {
    if (!rs.check) continue;
    int port = rs.port ? rs.port : vs.port;
    out.push_back({real_server_id(vs, rs), config::to_check_spec(*rs.check, rs.address, port, rs.weight)});
  }
}

}  // namespace hd
