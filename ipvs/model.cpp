// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/model.h"

#include <algorithm>

#include "core/hash.h"

namespace hd::ipvs {
namespace {

std::string host_port(const IpAddress& a, uint16_t port) {
  if (a.is_v4()) return a.str() + ":" + std::to_string(port);
  return "[" + a.str() + "]:" + std::to_string(port);
}

}  // namespace

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp:
      return "TCP";
    case Protocol::udp:
      return "UDP";
    case Protocol::sctp:
      return "SCTP";
  }
  return "?";
}

std::optional<Protocol> parse_protocol(std::string_view s) {
  if (s == "tcp") return Protocol::tcp;
  if (s == "udp") return Protocol::udp;
  if (s == "sctp") return Protocol::sctp;
  return std::nullopt;
}

ServiceKey ServiceKey::inet(Protocol protocol, const IpAddress& address, uint16_t port) {
  ServiceKey k;
  k.family_ = address.family();
  k.protocol_ = protocol;
  k.address_ = address;
  k.port_ = port;
  return k;
}

ServiceKey ServiceKey::fwmark(uint32_t mark, Family family) {
  ServiceKey k;
  k.mark_ = mark;
  k.family_ = family;
  k.address_ = family == Family::v4 ? *IpAddress::parse("0.0.0.0") : *IpAddress::parse("::");
  return k;
}

std::string ServiceKey::str() const {
  if (is_fwmark()) return "FWM " + std::to_string(mark_) + (family_ == Family::v6 ? " IPv6" : "");
  return std::string(to_string(protocol_)) + " " + host_port(address_, port_);
}

std::string DestKey::str() const {
  return host_port(address, port);
}

std::string_view to_string(Method m) {
  switch (m) {
    case Method::nat:
      return "nat";
    case Method::local:
      return "local";
    case Method::tun:
      return "tun";
    case Method::dr:
      return "dr";
  }
  return "?";
}

std::optional<Method> parse_method(std::string_view s) {
  if (s == "nat") return Method::nat;
  if (s == "dr") return Method::dr;
  if (s == "tun") return Method::tun;
  if (s == "local") return Method::local;
  return std::nullopt;
}

std::string_view to_string(TunType t) {
  switch (t) {
    case TunType::ipip:
      return "ipip";
    case TunType::gue:
      return "gue";
    case TunType::gre:
      return "gre";
  }
  return "?";
}

std::optional<TunType> parse_tun_type(std::string_view s) {
  if (s == "ipip") return TunType::ipip;
  if (s == "gue") return TunType::gue;
  if (s == "gre") return TunType::gre;
  return std::nullopt;
}

std::string Destination::str() const {
  std::string s = key.str() + " " + std::string(to_string(method));
  if (method == Method::tun) {
    s += "/" + std::string(to_string(tunnel.type));
    if (tunnel.type == TunType::gue) s += ":" + std::to_string(tunnel.port);
    if (tunnel.flags & kTunCsum) s += "+csum";
    if (tunnel.flags & kTunRemCsum) s += "+remcsum";
  }
  s += " w" + std::to_string(weight);
  if (u_threshold) s += " u" + std::to_string(u_threshold);
  if (l_threshold) s += " l" + std::to_string(l_threshold);
  return s;
}

bool operator==(const Destination& a, const Destination& b) {
  return a.key == b.key && a.method == b.method && a.weight == b.weight &&
         a.u_threshold == b.u_threshold && a.l_threshold == b.l_threshold &&
         (a.method != Method::tun || a.tunnel == b.tunnel);
}

std::optional<uint32_t> parse_sched_flag(std::string_view name) {
  if (name == "sh-fallback") return kShFallback;
  if (name == "sh-port") return kShPort;
  if (name == "mh-fallback") return kMhFallback;
  if (name == "mh-port") return kMhPort;
  return std::nullopt;
}

std::string sched_flags_str(uint32_t flags, std::string_view scheduler) {
  std::string prefix = scheduler == "sh" || scheduler == "mh" ? std::string(scheduler) : "";
  std::string out;
  auto add = [&](uint32_t bit, std::string_view named, std::string_view generic) {
    if (!(flags & bit)) return;
    if (!out.empty()) out += ",";
    out += prefix.empty() ? std::string(generic) : prefix + "-" + std::string(named);
  };
  add(IP_VS_SVC_F_SCHED1, "fallback", "flag-1");
  add(IP_VS_SVC_F_SCHED2, "port", "flag-2");
  add(IP_VS_SVC_F_SCHED3, "flag-3", "flag-3");
  return out;
}

std::string_view to_string(Scheduler s) { return kSchedulers.at(static_cast<size_t>(s)); }

std::optional<Scheduler> parse_scheduler(std::string_view name) {
  auto it = std::find(kSchedulers.begin(), kSchedulers.end(), name);
  if (it == kSchedulers.end()) return std::nullopt;
  return static_cast<Scheduler>(it - kSchedulers.begin());
}

bool is_known_scheduler(std::string_view name) { return parse_scheduler(name).has_value(); }

std::optional<Scheduler> sched_flag_scheduler(std::string_view flag) {
  if (flag == "sh-fallback" || flag == "sh-port") return Scheduler::sh;
  if (flag == "mh-fallback" || flag == "mh-port") return Scheduler::mh;
  return std::nullopt;
}

std::optional<uint16_t> parse_tun_checksum(std::string_view name) {
  if (name == "none") return uint16_t{0};
  if (name == "csum") return kTunCsum;
  if (name == "remcsum") return kTunRemCsum;
  return std::nullopt;
}

std::string_view tun_checksum_str(uint16_t flags) {
  if (flags & kTunRemCsum) return "remcsum";
  if (flags & kTunCsum) return "csum";
  return "none";
}

uint8_t Service::netmask_len() const {
  if (netmask) return *netmask;
  return key.family() == Family::v4 ? 32 : 128;
}

const Destination* Service::find(const DestKey& k) const {
  for (const auto& d : destinations)
    if (d.key == k) return &d;
  return nullptr;
}

bool Service::same_settings(const Service& o) const {
  return key == o.key && scheduler == o.scheduler && flags == o.flags && timeout == o.timeout &&
         netmask_len() == o.netmask_len() && pe_name == o.pe_name;
}

std::string Service::str() const {
  std::string s = key.str() + " " + scheduler;
  if (std::string f = sched_flags_str(flags, scheduler); !f.empty()) s += " (" + f + ")";
  if (flags & kPersistent) s += " persistent " + std::to_string(timeout);
  if (netmask) s += " mask " + std::to_string(*netmask);
  if (flags & kOnePacket) s += " ops";
  if (!pe_name.empty()) s += " pe " + pe_name;
  return s;
}

bool operator==(const Service& a, const Service& b) {
  if (!a.same_settings(b) || a.destinations.size() != b.destinations.size()) return false;
  const DestIndex in_b = index_destinations(b);
  for (const auto& d : a.destinations) {
    auto o = in_b.find(d.key);
    if (o == in_b.end() || !(*o->second == d)) return false;
  }
  return true;
}

DestIndex index_destinations(const Service& s) {
  DestIndex out;
  out.reserve(s.destinations.size());
  for (const auto& d : s.destinations) out.emplace(d.key, &d);  // a duplicate: the first
  return out;
}

std::optional<TunnelProblem> validate_tunnel(const Tunnel& t) {
  const bool gue = t.type == TunType::gue;
  if (gue && t.port == 0)
    return TunnelProblem{TunnelProblem::Field::type,
                         "a gue tunnel needs tunnel_port (the real server's UDP port)"};
  if (!gue && t.port != 0)
    return TunnelProblem{TunnelProblem::Field::port, "tunnel_port is for gue tunnels only"};
  if ((t.flags & kTunRemCsum) && !gue)
    return TunnelProblem{TunnelProblem::Field::checksum, "remcsum is for gue tunnels only"};
  return std::nullopt;
}

}  // namespace hd::ipvs

size_t std::hash<hd::ipvs::ServiceKey>::operator()(const hd::ipvs::ServiceKey& k) const noexcept {
  size_t h = hd::hash_mix(k.mark(), static_cast<size_t>(k.protocol()));
  h = hd::hash_mix(h, k.port());
  return hd::hash_mix(h, hd::hash_address(k.address()));
}

size_t std::hash<hd::ipvs::DestKey>::operator()(const hd::ipvs::DestKey& k) const noexcept {
  return hd::hash_mix(hd::hash_address(k.address), k.port);
}
