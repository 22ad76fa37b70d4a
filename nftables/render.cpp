// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/render.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace hd::nft {
namespace {

std::string proto(const ipvs::ServiceKey& k) {
  return k.protocol() == ipvs::Protocol::udp ? "udp" : k.protocol() == ipvs::Protocol::tcp ? "tcp" : "sctp";
}

std::string element(const ipvs::ServiceKey& k) {
  return k.address().str() + " . " + proto(k) + " . " + std::to_string(k.port());
}

std::string table() { return std::string("ip ") + kTable; }

}  // namespace

std::vector<std::string> unsupported(const ipvs::Service& s) {
  std::vector<std::string> out;
  if (s.key.is_fwmark()) out.push_back("fwmark services");
  else if (s.key.family() != Family::v4) out.push_back("IPv6 services (IPv4 only so far)");
  else if (s.key.protocol() == ipvs::Protocol::sctp) out.push_back("SCTP");
  if (s.scheduler != "rr" && s.scheduler != "wrr" && s.scheduler != "sh" && s.scheduler != "dh")
    out.push_back("scheduler " + s.scheduler + " (rr, wrr, sh and dh only)");
  if (s.flags & ipvs::kPersistent) out.push_back("persistence");
  for (auto& d : s.destinations) {
    if (d.method != ipvs::Method::nat) {
      out.push_back("forwarding " + std::string(ipvs::to_string(d.method)) + " (nat only)");
      break;
    }
  }
  for (auto& d : s.destinations) {
    if (d.u_threshold || d.l_threshold) {
      out.push_back("connection thresholds");
      break;
    }
  }
  return out;
}

std::string chain_name(const ipvs::ServiceKey& k) {
  char hex[9] = {};
  auto b = k.address().bytes();
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
  return "s_" + std::string(hex) + "_" + proto(k) + "_" + std::to_string(k.port());
}

std::string service_rule(const ipvs::Service& s) {
  // rr is wrr with every weight 1 (a weight-0 server takes nothing in either).
  const bool rr = s.scheduler == "rr";
  std::string ranges;
  int64_t at = 0;
  // In address order: the same servers give the same rule whatever order they came in.
  std::vector<const ipvs::Destination*> dests;
  for (auto& d : s.destinations) dests.push_back(&d);
  std::sort(dests.begin(), dests.end(), [](auto* a, auto* b) { return a->key < b->key; });
  for (const ipvs::Destination* dp : dests) {
    const ipvs::Destination& d = *dp;
    if (d.weight <= 0) continue;
    const int64_t w = rr ? 1 : d.weight;
    if (!ranges.empty()) ranges += ", ";
    ranges += std::to_string(at);
    if (w > 1) ranges += "-" + std::to_string(at + w - 1);
    const uint16_t port = d.key.port ? d.key.port : s.key.port();
    ranges += " : " + d.key.address.str() + " . " + std::to_string(port);
    at += w;
  }
  if (at == 0) return "drop";
  // rr/wrr: a counter over the ranges. sh/dh: a hash of the source (with sh-port, and its
  // port) or destination address, seeded with 0 so that both directors of a pair pick the
  // same server for a client, as IPVS's sh does.
  std::string pick = "numgen inc mod " + std::to_string(at);
  const std::string m = " mod " + std::to_string(at) + " seed 0x0";
  if (s.scheduler == "sh")
    pick = (s.flags & ipvs::kShPort) ? "jhash ip saddr . th sport" + m : "jhash ip saddr" + m;
  else if (s.scheduler == "dh")
    pick = "jhash ip daddr" + m;
  return "meta l4proto " + proto(s.key) + " dnat ip addr . port to " + pick + " map { " + ranges +
         " }";
}

std::string base_script() {
  const std::string t = table();
  // "add" keeps what exists; the base chains' one rule is written again (flush + add, one
  // transaction) so it is the current one.
  return "add table " + t + "\n" +
         "add map " + t + " services { type ipv4_addr . inet_proto . inet_service : verdict ; }\n" +
         "add chain " + t + " prerouting { type nat hook prerouting priority dstnat ; policy accept ; }\n" +
         "flush chain " + t + " prerouting\n" +
         "add rule " + t + " prerouting ip daddr . meta l4proto . th dport vmap @services\n" +
         "add chain " + t + " output { type nat hook output priority -100 ; policy accept ; }\n" +
         "flush chain " + t + " output\n" +
         "add rule " + t + " output ip daddr . meta l4proto . th dport vmap @services\n";
}

ipvs::Table parse_table(const std::string& listing) {
  // nft folds a long map over several lines, each but the last ending in ",": unfolded.
  std::string text;
  for (size_t i = 0; i < listing.size(); ++i) {
    if (listing[i] == '\n' && i > 0 && listing[i - 1] == ',') {
      while (i + 1 < listing.size() && (listing[i + 1] == ' ' || listing[i + 1] == '\t')) ++i;
      text += ' ';
    } else {
      text += listing[i];
    }
  }
  ipvs::Table out;
  ipvs::Service* cur = nullptr;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (auto c = line.find("chain "); c != std::string::npos) {
      cur = nullptr;
      unsigned a = 0, port = 0;
      char pr[8] = {};
      if (std::sscanf(line.c_str() + c, "chain s_%8x_%7[a-z]_%u", &a, pr, &port) != 3 || port > 65535)
        continue;
      auto proto = ipvs::parse_protocol(pr);
      if (!proto) continue;
      auto addr = IpAddress::of(static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                                static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a));
      ipvs::Service svc;
      svc.key = ipvs::ServiceKey::inet(*proto, addr, static_cast<uint16_t>(port));
      svc.scheduler = "wrr";
      cur = &(out[svc.key] = svc);
      continue;
    }
    if (!cur) continue;
    if (line.find("jhash ip saddr") != std::string::npos) cur->scheduler = "sh";
    if (line.find("jhash ip saddr . ") != std::string::npos) cur->flags |= ipvs::kShPort;
    if (line.find("jhash ip daddr") != std::string::npos) cur->scheduler = "dh";
    auto m = line.find(" map { ");
    if (m == std::string::npos) continue;
    std::string body = line.substr(m + 7);
    body = body.substr(0, body.find('}'));
    size_t at = 0;
    while (at < body.size()) {
      size_t comma = body.find(',', at);
      if (comma == std::string::npos) comma = body.size();
      std::string e = body.substr(at, comma - at);
      at = comma + 1;
      unsigned lo = 0, hi = 0, dport = 0;
      char addr[64] = {};
      int n = std::sscanf(e.c_str(), " %u-%u : %63s . %u", &lo, &hi, addr, &dport);
      if (n != 4) {
        hi = 0;
        if (std::sscanf(e.c_str(), " %u : %63s . %u", &lo, addr, &dport) != 3) continue;
        hi = lo;
      }
      auto ip = IpAddress::parse(addr);
      if (!ip || hi < lo || dport > 65535) continue;
      ipvs::Destination d;
      d.key = ipvs::DestKey{*ip, static_cast<uint16_t>(dport)};
      d.weight = static_cast<int32_t>(hi - lo + 1);
      cur->destinations.push_back(d);
    }
  }
  return out;
}

std::string change_script(const ipvs::Table& before, const ipvs::Table& after) {
  const std::string t = table();
  std::string out;
  for (auto& [key, s] : before) {
    if (after.count(key)) continue;
    const std::string c = chain_name(key);
    out += "delete element " + t + " services { " + element(key) + " }\n";
    out += "flush chain " + t + " " + c + "\n";
    out += "delete chain " + t + " " + c + "\n";
  }
  for (auto& [key, s] : after) {
    const std::string c = chain_name(key);
    auto old = before.find(key);
    const std::string rule = service_rule(s);
    if (old == before.end()) {
      out += "add chain " + t + " " + c + "\n";
      out += "add rule " + t + " " + c + " " + rule + "\n";
      out += "add element " + t + " services { " + element(key) + " : jump " + c + " }\n";
    } else if (service_rule(old->second) != rule) {
      out += "flush chain " + t + " " + c + "\n";
      out += "add rule " + t + " " + c + " " + rule + "\n";
    }
  }
  return out;
}

}  // namespace hd::nft
