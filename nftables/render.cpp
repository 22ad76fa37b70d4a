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
  // The servers taking new connections, in address order (the same servers give the same
  // rule whatever order they came in), with their weights: rr counts each once; wrr's are
  // divided by their greatest common divisor (2:2:4 is 1:1:2, a shorter cycle).
  const bool rr = s.scheduler == "rr";
  std::vector<const ipvs::Destination*> dests;
  for (auto& d : s.destinations)
    if (d.weight > 0) dests.push_back(&d);
  std::sort(dests.begin(), dests.end(), [](auto* a, auto* b) { return a->key < b->key; });
  if (dests.empty()) return "drop";
  std::vector<int64_t> w;
  int64_t g = 0, max = 0, total = 0;
  for (auto* d : dests) {
    w.push_back(rr ? 1 : d->weight);
    g = std::gcd(g, w.back());
  }
  for (auto& x : w) {
    x /= g;
    max = std::max(max, x);
    total += x;
  }
  auto target = [&](size_t i) {
    const uint16_t port = dests[i]->key.port ? dests[i]->key.port : s.key.port();
    return dests[i]->key.address.str() + " . " + std::to_string(port);
  };
  // The slots 0..total-1, each a server. A counter (rr, wrr) walks them in IPVS's wrr order
  // (every server of weight >= k, for k from the largest weight down): a rule rewritten by a
  // health change or a slow-start step restarts the counter at slot 0, and interleaved slots
  // keep that from sending a run of new connections to one server. A hash (sh, dh) or more
  // than kMaxSlots slots: contiguous ranges, as wide as the weights.
  constexpr int64_t kMaxSlots = 1024;
  const bool hashed = s.scheduler == "sh" || s.scheduler == "dh";
  std::vector<size_t> slots;
  if (!hashed && total <= kMaxSlots) {
    for (int64_t k = max; k >= 1; --k)
      for (size_t i = 0; i < w.size(); ++i)
        if (w[i] >= k) slots.push_back(i);
  } else {
    for (size_t i = 0; i < w.size(); ++i) slots.insert(slots.end(), static_cast<size_t>(w[i]), i);
  }
  std::string ranges;
  for (size_t at = 0; at < slots.size();) {
    size_t end = at;
    while (end + 1 < slots.size() && slots[end + 1] == slots[at]) ++end;
    if (!ranges.empty()) ranges += ", ";
    ranges += std::to_string(at);
    if (end > at) ranges += "-" + std::to_string(end);
    ranges += " : " + target(slots[at]);
    at = end + 1;
  }
  // sh, dh: a hash of the source (with sh-port, and its port) or destination address,
  // seeded with 0 so that both directors of a pair pick the same server for a client, as
  // IPVS's sh does.
  const std::string mod = " mod " + std::to_string(total);
  std::string pick = "numgen inc" + mod;
  if (s.scheduler == "sh")
    pick = ((s.flags & ipvs::kShPort) ? "jhash ip saddr . th sport" : "jhash ip saddr") + mod + " seed 0x0";
  else if (s.scheduler == "dh")
    pick = "jhash ip daddr" + mod + " seed 0x0";
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
      // A server has one range, or (wrr's interleaved slots) several: its weight is their sum.
      ipvs::DestKey key{*ip, static_cast<uint16_t>(dport)};
      auto it = std::find_if(cur->destinations.begin(), cur->destinations.end(),
                             [&](const ipvs::Destination& x) { return x.key == key; });
      if (it == cur->destinations.end()) {
        ipvs::Destination d;
        d.key = key;
        d.weight = 0;
        cur->destinations.push_back(d);
        it = cur->destinations.end() - 1;
      }
      it->weight += static_cast<int32_t>(hi - lo + 1);
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
