// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/render.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <span>

namespace hd::nft {
namespace {

std::string proto(const ipvs::ServiceKey& k) {
  return k.protocol() == ipvs::Protocol::udp ? "udp" : k.protocol() == ipvs::Protocol::tcp ? "tcp" : "sctp";
}

std::string element(const ipvs::ServiceKey& k) {
  return k.address().str() + " . " + proto(k) + " . " + std::to_string(k.port());
}

// "ip" or "ip6": the table's family, and the keyword of its address expressions.
std::string fam(Family f) { return f == Family::v6 ? "ip6" : "ip"; }

}  // namespace

std::string table(Family f) { return fam(f) + " " + kTable; }

std::string element_of(const ipvs::ServiceKey& k) { return element(k); }

namespace {

}  // namespace

size_t mh_size(int64_t total_weight) {
  auto prime = [](size_t n) {
    if (n < 2) return false;
    for (size_t d = 2; d * d <= n; ++d)
      if (n % d == 0) return false;
    return true;
  };
  size_t n = std::max<size_t>(257, static_cast<size_t>(std::min<int64_t>(total_weight, 4096)) * 16);
  while (!prime(n)) ++n;
  return std::min<size_t>(n, 65521);
}

std::vector<int> mh_table(const std::vector<ipvs::DestKey>& servers,
                          const std::vector<int64_t>& weights, size_t size) {
  std::vector<int> table(size, -1);
  if (servers.empty() || size == 0) return table;
  // Each server's own walk over the slots: where it starts and its stride, from two FNV-1a
  // hashes of "address:port" (fixed, so every director computes the same table).
  auto fnv = [](const std::string& text, uint64_t h) {
    for (unsigned char c : text) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    return h;
  };
  const size_t n = servers.size();
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = servers[i].str();
    offset[i] = fnv(name, 14695981039346656037ULL) % size;
    skip[i] = size > 1 ? fnv(name, 1469598103934665603ULL) % (size - 1) + 1 : 1;
  }
  // Rounds: each server takes as many of its preferred free slots as its weight, until every
  // slot has an owner (Maglev's population, weighted by turns).
  size_t filled = 0;
  while (filled < size) {
    for (size_t i = 0; i < n && filled < size; ++i) {
      for (int64_t t = 0; t < weights[i] && filled < size; ++t) {
        size_t c;
        do {
          c = (offset[i] + next[i] * skip[i]) % size;
          ++next[i];
        } while (table[c] >= 0);
        table[c] = static_cast<int>(i);
        ++filled;
      }
    }
  }
  return table;
}

std::vector<std::string> unsupported(const ipvs::Service& s) {
  std::vector<std::string> out;
  if (s.key.is_fwmark()) out.push_back("fwmark services");
  else if (s.key.protocol() == ipvs::Protocol::sctp) out.push_back("SCTP");
  if (s.scheduler != "rr" && s.scheduler != "wrr" && s.scheduler != "sh" && s.scheduler != "dh" &&
      s.scheduler != "mh")
    out.push_back("scheduler " + s.scheduler + " (rr, wrr, sh, dh and mh only)");
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
  std::string hex;
  char two[3];
  for (uint8_t b : k.address().bytes()) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return (k.family() == Family::v6 ? "s6_" : "s_") + hex + "_" + proto(k) + "_" +
         std::to_string(k.port());
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
  const bool mh = s.scheduler == "mh";
  std::vector<size_t> slots;
  std::string comment;
  if (mh) {
    // Maglev: a table of a prime number of slots, each server's slots spread over it; a
    // server leaving or joining moves little more than its own share. The weights (over
    // their gcd, in address order) ride in the rule's comment, so a restart reads back the
    // service it wrote (nft keeps 128 bytes of comment: past that, read back from the
    // slots' shares, approximately).
    std::vector<ipvs::DestKey> keys;
    for (auto* d : dests) keys.push_back(d->key);
    // At most 4,096 units of weight (the table's 16 slots a unit): larger weights scaled down,
    // each server keeping at least one, so every server gets its share of slots.
    std::vector<int64_t> turns = w;
    if (total > 4096)
      for (auto& t : turns) t = std::max<int64_t>(1, t * 4096 / total);
    for (int owner : mh_table(keys, turns, mh_size(total))) slots.push_back(static_cast<size_t>(owner));
    comment = "mh";
    for (size_t i = 0; i < w.size(); ++i) comment += (i ? "," : " ") + std::to_string(w[i]);
    if (comment.size() > 127) comment = "mh";
  } else if (!hashed && total <= kMaxSlots) {
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
  const std::string mod = " mod " + std::to_string(slots.size());
  const std::string f = fam(s.key.family());
  std::string pick = "numgen inc" + mod;
  if (s.scheduler == "sh" || mh)  // kMhPort is the same flag bit as kShPort
    pick = "jhash " + f + " saddr" + ((s.flags & ipvs::kShPort) ? " . th sport" : "") + mod + " seed 0x0";
  else if (s.scheduler == "dh")
    pick = "jhash " + f + " daddr" + mod + " seed 0x0";
  return "meta l4proto " + proto(s.key) + " dnat " + f + " addr . port to " + pick + " map { " +
         ranges + " }" + (comment.empty() ? "" : " comment \"" + comment + "\"");
}

std::string base_script(Family f) {
  const std::string t = table(f);
  const std::string addr = f == Family::v6 ? "ipv6_addr" : "ipv4_addr";
  const std::string lookup = fam(f) + " daddr . meta l4proto . th dport vmap @services\n";
  // "add" keeps what exists; the base chains' one rule is written again (flush + add, one
  // transaction) so it is the current one.
  return "add table " + t + "\n" +
         "add map " + t + " services { type " + addr + " . inet_proto . inet_service : verdict ; }\n" +
         "add chain " + t + " prerouting { type nat hook prerouting priority dstnat ; policy accept ; }\n" +
         "flush chain " + t + " prerouting\n" +
         "add rule " + t + " prerouting " + lookup +
         "add chain " + t + " output { type nat hook output priority -100 ; policy accept ; }\n" +
         "flush chain " + t + " output\n" +
         "add rule " + t + " output " + lookup;
}

namespace {

// "s_0a090064_tcp_80" or "s6_<32 hex digits>_tcp_80" -> the service's key.
std::optional<ipvs::ServiceKey> key_of_chain(const std::string& name) {
  const bool v6 = name.rfind("s6_", 0) == 0;
  if (!v6 && name.rfind("s_", 0) != 0) return std::nullopt;
  const size_t digits = v6 ? 32 : 8, start = v6 ? 3 : 2;
  if (name.size() < start + digits + 1 || name[start + digits] != '_') return std::nullopt;
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < digits / 2; ++i) {
    unsigned x = 0;
    const std::string two = name.substr(start + 2 * i, 2);
    if (two.find_first_not_of("0123456789abcdef") != std::string::npos ||
        std::sscanf(two.c_str(), "%2x", &x) != 1)
      return std::nullopt;
    b[i] = static_cast<uint8_t>(x);
  }
  unsigned port = 0;
  char pr[8] = {};
  int used = 0;
  const std::string rest = name.substr(start + digits);
  if (std::sscanf(rest.c_str(), "_%7[a-z]_%u%n", pr, &port, &used) != 2 || port > 65535 ||
      static_cast<size_t>(used) != rest.size())
    return std::nullopt;
  auto proto = ipvs::parse_protocol(pr);
  if (!proto) return std::nullopt;
  auto addr = IpAddress::from_bytes(v6 ? Family::v6 : Family::v4,
                                    std::span<const uint8_t>(b.data(), v6 ? 16 : 4));
  if (!addr) return std::nullopt;
  return ipvs::ServiceKey::inet(*proto, *addr, static_cast<uint16_t>(port));
}

// What a service rule does, whichever way it is spelled (as we write it or as nft lists it):
// the pick (counter, or a hash of what), the modulus, the slots, the comment.
std::string rule_signature(const std::string& line) {
  if (line == "drop") return "drop";
  const auto has = [&](const char* x) { return line.find(x) != std::string::npos; };
  std::string sig = has("numgen inc") ? "numgen"
                    : has("saddr . ") ? "jhash saddr sport"
                    : has("saddr")    ? "jhash saddr"
                    : has("daddr")    ? "jhash daddr"
                                      : "?";
  if (auto m = line.find(" mod "); m != std::string::npos)
    sig += " mod " + std::to_string(std::strtoul(line.c_str() + m + 5, nullptr, 10));
  auto b = line.find(" map { ");
  auto e = b == std::string::npos ? b : line.find('}', b);
  if (b != std::string::npos && e != std::string::npos)
    for (char c : line.substr(b + 7, e - b - 7))
      if (c != ' ' && c != '\t') sig += c;
  if (auto c = line.find("comment \""); c != std::string::npos) sig += " " + line.substr(c);
  return sig;
}

std::string trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == ';')) v.remove_suffix(1);
  return std::string(v);
}

// A protocol as nft prints it: its name, or its number (NFT_CTX_OUTPUT_NUMERIC_PROTO).
std::optional<ipvs::Protocol> parse_proto(std::string_view p) {
  if (p == "6") return ipvs::Protocol::tcp;
  if (p == "17") return ipvs::Protocol::udp;
  if (p == "132") return ipvs::Protocol::sctp;
  return ipvs::parse_protocol(p);
}

// The items of a map body as nft lists it ("a : b, c : d"), one at a time.
template <typename F>
void for_each_item(const std::string& body, F&& f) {
  size_t at = 0;
  while (at < body.size()) {
    size_t comma = body.find(',', at);
    if (comma == std::string::npos) comma = body.size();
    f(body.substr(at, comma - at));
    at = comma + 1;
  }
}

// "10.9.0.100 . tcp . 80 : jump s_0a090064_tcp_80, ..." -> key -> chain.
void parse_elements(const std::string& body, Family f,
                    std::map<ipvs::ServiceKey, std::string>& out) {
  for_each_item(body, [&](const std::string& e) {
    char addr[64] = {}, pr[8] = {}, verdict[160] = {};
    unsigned port = 0;
    if (std::sscanf(e.c_str(), " %63s . %7s . %u : %159[^,]", addr, pr, &port, verdict) != 4) return;
    // "jump s_...": the chain; any other verdict (goto, drop, ...) as written, which is no
    // service's chain name.
    std::string chain = trim(verdict);
    if (chain.rfind("jump ", 0) == 0) chain = chain.substr(5);
    auto ip = IpAddress::parse(addr);
    auto proto = parse_proto(pr);
    if (!ip || !proto || port > 65535 || ip->family() != f) return;
    out[ipvs::ServiceKey::inet(*proto, *ip, static_cast<uint16_t>(port))] = chain;
  });
}

}  // namespace

ipvs::Table parse_table(const std::string& listing) { return parse_listing(listing).services; }

Listing parse_listing(const std::string& listing) {
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
  Listing l;
  ipvs::Table& out = l.services;
  ipvs::Service* cur = nullptr;
  std::string block;  // "chain NAME" or "map services" while inside one
  Family tf = Family::v4;  // the table's: "table ip hadirector" or "table ip6 hadirector"
  int base_rules[2][2] = {}, base_vmap[2][2] = {};  // [v4, v6][prerouting, output]
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = trim(std::string_view(text).substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty()) continue;
    if (line == "}") {
      block.clear();
      cur = nullptr;
      continue;
    }
    if (line.rfind("table ", 0) == 0) {
      tf = line.rfind("table ip6 ", 0) == 0 ? Family::v6 : Family::v4;
      if (tf == Family::v6) l.has6 = true;
      block.clear();
      continue;
    }
    const std::string f = fam(tf);
    if (line.rfind("chain ", 0) == 0 || line.rfind("map ", 0) == 0 || line.rfind("set ", 0) == 0) {
      block = trim(std::string_view(line).substr(0, line.find(" {")));
      cur = nullptr;
      if (block.rfind("chain ", 0) != 0) continue;
      const std::string name = block.substr(6);
      auto key = key_of_chain(name);
      if (!key || key->family() != tf) continue;
      l.rules[name] = 0;
      ipvs::Service svc;
      svc.key = *key;
      svc.scheduler = "wrr";
      cur = &(out[svc.key] = svc);
      continue;
    }
    if (block == "map services") {
      if (auto e = line.find("elements = { "); e != std::string::npos) {
        std::string body = line.substr(e + 13);
        parse_elements(body.substr(0, body.find('}')), tf, l.elements);
      }
      continue;
    }
    if (line.rfind("type ", 0) == 0) continue;  // a base chain's hook line
    const int base = block == "chain prerouting" ? 0 : block == "chain output" ? 1 : -1;
    const int fi = tf == Family::v6 ? 1 : 0;
    if (base >= 0) {
      ++base_rules[fi][base];
      if (line == f + " daddr . meta l4proto . th dport vmap @services") ++base_vmap[fi][base];
      continue;
    }
    if (!cur) continue;
    ++l.rules[block.substr(6)];
    l.signatures[cur->key] = rule_signature(line);
    std::string comment_weights;
    if (auto c = line.find("comment \"mh"); c != std::string::npos) {
      cur->scheduler = "mh";
      comment_weights = line.substr(c + 11, line.find('"', c + 11) - (c + 11));
    }
    if (line.find("jhash " + f + " saddr") != std::string::npos && cur->scheduler != "mh")
      cur->scheduler = "sh";
    if (line.find("jhash " + f + " saddr . ") != std::string::npos) cur->flags |= ipvs::kShPort;
    if (line.find("jhash " + f + " daddr") != std::string::npos) cur->scheduler = "dh";
    auto m = line.find(" map { ");
    if (m == std::string::npos) continue;
    std::string body = line.substr(m + 7);
    body = body.substr(0, body.find('}'));
    for_each_item(body, [&](const std::string& e) {
      unsigned lo = 0, hi = 0, dport = 0;
      char addr[64] = {};
      int n = std::sscanf(e.c_str(), " %u-%u : %63s . %u", &lo, &hi, addr, &dport);
      if (n != 4) {
        hi = 0;
        if (std::sscanf(e.c_str(), " %u : %63s . %u", &lo, addr, &dport) != 3) return;
        hi = lo;
      }
      auto ip = IpAddress::parse(addr);
      if (!ip || ip->family() != tf || hi < lo || dport > 65535) return;
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
    });
    // mh: the slots' shares only approximate the weights; the comment has them (address order).
    if (cur->scheduler == "mh" && !comment_weights.empty()) {
      std::vector<int32_t> ws;
      for (const char* p = comment_weights.c_str(); *p;) {
        char* end = nullptr;
        long v = std::strtol(p, &end, 10);
        if (end == p) {
          ++p;
          continue;
        }
        ws.push_back(static_cast<int32_t>(v));
        p = end;
      }
      std::sort(cur->destinations.begin(), cur->destinations.end(),
                [](const ipvs::Destination& a, const ipvs::Destination& b) { return a.key < b.key; });
      if (ws.size() == cur->destinations.size())
        for (size_t i = 0; i < ws.size(); ++i) cur->destinations[i].weight = ws[i];
    }
  }
  auto ok = [&](int fi) {
    return base_rules[fi][0] == 1 && base_vmap[fi][0] == 1 && base_rules[fi][1] == 1 &&
           base_vmap[fi][1] == 1;
  };
  l.base = ok(0);
  l.base6 = ok(1);
  return l;
}

bool holds(const Listing& l, const ipvs::Service& s) {
  const std::string c = chain_name(s.key);
  auto e = l.elements.find(s.key);
  auto r = l.rules.find(c);
  auto g = l.signatures.find(s.key);
  return e != l.elements.end() && e->second == c && r != l.rules.end() && r->second == 1 &&
         g != l.signatures.end() && g->second == rule_signature(service_rule(s));
}

std::string change_script(const ipvs::Table& before, const ipvs::Table& after) {
  std::string out;
  for (auto& [key, s] : before) {
    if (after.count(key)) continue;
    const std::string t = table(key.family()), c = chain_name(key);
    out += "delete element " + t + " services { " + element(key) + " }\n";
    out += "flush chain " + t + " " + c + "\n";
    out += "delete chain " + t + " " + c + "\n";
  }
  for (auto& [key, s] : after) {
    const std::string t = table(key.family()), c = chain_name(key);
    auto old = before.find(key);
    const std::string rule = service_rule(s);
    if (old == before.end()) {
      // "add" keeps a chain that is there (what a drift repair could not remove): flushed,
      // so the rule below is its only one.
      out += "add chain " + t + " " + c + "\n";
      out += "flush chain " + t + " " + c + "\n";
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
