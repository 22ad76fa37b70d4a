// SPDX-License-Identifier: GPL-2.0-or-later
// The model's own functions: names of its enums, a virtual server's key.
#include "daemon/config/model.h"

#include <algorithm>

namespace hd::config {

const char* to_string(Forwarding f) {
  switch (f) {
    case Forwarding::nat: return "nat";
    case Forwarding::dr: return "dr";
    case Forwarding::tun: return "tun";
  }
  return "?";
}
const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp: return "tcp";
    case Protocol::udp: return "udp";
    case Protocol::sctp: return "sctp";
  }
  return "?";
}
const char* to_string(Dataplane d) {
  return d == Dataplane::none ? "none" : d == Dataplane::nftables ? "nftables" : "kernel";
}

const char* to_string(Announce a) { return a == Announce::bgp ? "bgp" : "vrrp"; }

std::optional<MetricsEndpoint> parse_listen(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  int p = 0;
  if (port.empty() || port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + (c - '0');
  }
  if (p < 1 || p > 65535) return std::nullopt;
  MetricsEndpoint e;
  e.port = p;
  if (host.empty()) {
    e.address = *IpAddress::parse("127.0.0.1");
    return e;
  }
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  auto a = IpAddress::parse(host);
  // An IPv6 address needs its brackets ("::1:9406" would be ambiguous); IPv4 has none.
  if (!a || a->is_v4() == bracketed) return std::nullopt;
  e.address = *a;
  return e;
}

std::string to_string(const MetricsEndpoint& e) {
  return (e.address.is_v4() ? e.address.str() : "[" + e.address.str() + "]") + ":" +
         std::to_string(e.port);
}

std::string VirtualServer::key() const {
  if (fwmark) return "fwmark " + std::to_string(fwmark) + (family_ == Family::v6 ? " inet6" : " inet");
  std::string a = address ? address->str() : "?";
  if (address && !address->is_v4()) a = "[" + a + "]";
  return std::string(to_string(protocol)) + " " + a + ":" + std::to_string(port);
}


Config without_virtual_servers(const Config& cfg) {
  Config out;
  out.source = cfg.source;
  out.global = cfg.global;
  out.vrrp_instances = cfg.vrrp_instances;
  out.track_scripts = cfg.track_scripts;
  out.track_files = cfg.track_files;
  out.sync_groups = cfg.sync_groups;
  out.realserver = cfg.realserver;
  return out;
}

std::vector<std::string> sync_group_of(const Config& cfg, const std::string& instance) {
  for (auto& g : cfg.sync_groups)
    if (std::find(g.instances.begin(), g.instances.end(), instance) != g.instances.end())
      return g.instances;
  return {instance};
}

}  // namespace hd::config
