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

std::string fam(Family f) { return family_keyword(f); }

}  // namespace

std::string family_keyword(Family f) { return f == Family::v6 ? "ip6" : "ip"; }

std::string table(Family f) { return fam(f) + " " + kTable; }

std::string element_of(const ipvs::ServiceKey& k) { return element(k); }

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
  if (!s.pe_name.empty()) out.push_back("persistence engine " + s.pe_name);
  if (s.flags & ipvs::kOnePacket) out.push_back("one-packet scheduling");
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

namespace {

// The scheduler's pick among the servers taking new connections (weight > 0, in address
// order: the same servers give the same rule whatever order they came in): the expression
// ("numgen inc mod 6"), its slot ranges (each a server), and the comment mh's weights ride in.
struct Pick {
  struct Range {
    size_t lo, hi, dest;
  };
  std::vector<const ipvs::Destination*> dests;
  std::string expr;
  std::vector<Range> ranges;
  std::string comment;
};

Pick pick_of(const ipvs::Service& s) {
  // rr counts each server once; wrr's weights are divided by their greatest common divisor
  // (2:2:4 is 1:1:2, a shorter cycle).
  Pick p;
  const bool rr = s.scheduler == "rr";
  for (auto& d : s.destinations)
    if (d.weight > 0) p.dests.push_back(&d);
  std::sort(p.dests.begin(), p.dests.end(), [](auto* a, auto* b) { return a->key < b->key; });
  if (p.dests.empty()) return p;
  std::vector<int64_t> w;
  int64_t g = 0, max = 0, total = 0;
  for (auto* d : p.dests) {
    w.push_back(rr ? 1 : d->weight);
    g = std::gcd(g, w.back());
  }
  for (auto& x : w) {
    x /= g;
    max = std::max(max, x);
    total += x;
  }
  // The slots 0..total-1, each a server. A counter (rr, wrr) walks them in IPVS's wrr order
  // (every server of weight >= k, for k from the largest weight down): a rule rewritten by a
  // health change or a slow-start step restarts the counter at slot 0, and interleaved slots
  // keep that from sending a run of new connections to one server. A hash (sh, dh) or more
  // than kMaxSlots slots: contiguous ranges, as wide as the weights.
  constexpr int64_t kMaxSlots = 1024;
  const bool hashed = s.scheduler == "sh" || s.scheduler == "dh";
  const bool mh = s.scheduler == "mh";
  std::vector<size_t> slots;
  if (mh) {
    // Maglev: a table of a prime number of slots, each server's slots spread over it; a
    // server leaving or joining moves little more than its own share. The weights (over
    // their gcd, in address order) ride in the rule's comment, so a restart reads back the
    // service it wrote (nft keeps 128 bytes of comment: past that, read back from the
    // slots' shares, approximately).
    std::vector<ipvs::DestKey> keys;
    for (auto* d : p.dests) keys.push_back(d->key);
    // At most 4,096 units of weight (the table's 16 slots a unit): larger weights scaled down,
    // each server keeping at least one, so every server gets its share of slots.
    std::vector<int64_t> turns = w;
    if (total > 4096)
      for (auto& t : turns) t = std::max<int64_t>(1, t * 4096 / total);
    for (int owner : mh_table(keys, turns, mh_size(total))) slots.push_back(static_cast<size_t>(owner));
    p.comment = "mh";
    for (size_t i = 0; i < w.size(); ++i) p.comment += (i ? "," : " ") + std::to_string(w[i]);
    if (p.comment.size() > 127) p.comment = "mh";
  } else if (!hashed && total <= kMaxSlots) {
    for (int64_t k = max; k >= 1; --k)
      for (size_t i = 0; i < w.size(); ++i)
        if (w[i] >= k) slots.push_back(i);
  } else {
    for (size_t i = 0; i < w.size(); ++i) slots.insert(slots.end(), static_cast<size_t>(w[i]), i);
  }
  for (size_t at = 0; at < slots.size();) {
    size_t end = at;
    while (end + 1 < slots.size() && slots[end + 1] == slots[at]) ++end;
    p.ranges.push_back({at, end, slots[at]});
    at = end + 1;
  }
  // sh, dh: a hash of the source (with sh-port, and its port) or destination address,
  // seeded with 0 so that both directors of a pair pick the same server for a client, as
  // IPVS's sh does.
  const std::string mod = " mod " + std::to_string(slots.size());
  const std::string f = fam(s.key.family());
  p.expr = "numgen inc" + mod;
  if (s.scheduler == "sh" || mh)  // kMhPort is the same flag bit as kShPort
    p.expr = "jhash " + f + " saddr" + ((s.flags & ipvs::kShPort) ? " . th sport" : "") + mod + " seed 0x0";
  else if (s.scheduler == "dh")
    p.expr = "jhash " + f + " daddr" + mod + " seed 0x0";
  return p;
}

// "0 : x, 1-2 : y": the pick's ranges, each with what `value` says of its server.
template <typename F>
std::string ranges_of(const Pick& p, F&& value) {
  std::string out;
  for (auto& r : p.ranges) {
    if (!out.empty()) out += ", ";
    out += std::to_string(r.lo);
    if (r.hi > r.lo) out += "-" + std::to_string(r.hi);
    out += " : " + value(*p.dests[r.dest]);
  }
  return out;
}

uint16_t port_of(const ipvs::Service& s, const ipvs::Destination& d) {
  return d.key.port ? d.key.port : s.key.port();  // port 0: the service's, as IPVS
}

std::string with_comment(std::string rule, const std::string& comment) {
  return comment.empty() ? rule : rule + " comment \"" + comment + "\"";
}

// The part of a persistent object's name after its prefix: the service's and the server's.
std::string persist_suffix(const ipvs::ServiceKey& k, const ipvs::DestKey& d) {
  std::string hex;
  char two[3];
  for (uint8_t b : d.address.bytes()) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  const std::string c = chain_name(k);  // "s_..." or "s6_..."
  return c.substr(1) + "_" + hex + "_" + std::to_string(d.port);
}

// The client a persistent service keys on: its source address, masked by the netmask.
std::string client_of(const ipvs::Service& s) {
  const Family f = s.key.family();
  const size_t bits = f == Family::v6 ? 128 : 32;
  const size_t len = s.netmask_len();
  std::string out = fam(f) + " saddr";
  if (len >= bits) return out;
  std::array<uint8_t, 16> m{};
  for (size_t i = 0; i < len; ++i) m[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  auto mask = IpAddress::from_bytes(f, std::span<const uint8_t>(m.data(), bits / 8));
  return out + " & " + mask->str();
}

}  // namespace

std::string persist_chain_name(const ipvs::ServiceKey& k, const ipvs::DestKey& d) {
  return "r" + persist_suffix(k, d);
}
std::string persist_set_name(const ipvs::ServiceKey& k, const ipvs::DestKey& d) {
  return "p" + persist_suffix(k, d);
}

std::string nft_duration(uint32_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  const std::pair<uint32_t, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (auto [size, name] : units) {
    if (seconds >= size) out += std::to_string(seconds / size) + name;
    seconds %= size;
  }
  return out;
}

std::optional<uint32_t> parse_nft_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t ms = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t digits = at;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == at || digits - at > 9) return std::nullopt;
    const uint64_t n = std::strtoull(std::string(text.substr(at, digits - at)).c_str(), nullptr, 10);
    size_t unit = digits;
    while (unit < text.size() && text[unit] >= 'a' && text[unit] <= 'z') ++unit;
    const std::string_view u = text.substr(digits, unit - digits);
    const uint64_t scale = u == "d" ? 86400000 : u == "h" ? 3600000 : u == "m" ? 60000 : u == "s" ? 1000 : u == "ms" ? 1 : 0;
    if (!scale) return std::nullopt;
    ms += n * scale;
    at = unit;
  }
  if (ms % 1000 || ms / 1000 > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(ms / 1000);
}

std::string service_rule(const ipvs::Service& s) {
  const Pick p = pick_of(s);
  if (p.dests.empty()) return "drop";
  const std::string rule = "meta l4proto " + proto(s.key) + " dnat " + fam(s.key.family()) +
                           " addr . port to " + p.expr + " map { " +
                           ranges_of(p, [&](const ipvs::Destination& d) {
                             return d.key.address.str() + " . " + std::to_string(port_of(s, d));
                           }) +
                           " }";
  return with_comment(rule, p.comment);
}

ServiceObjects service_objects(const ipvs::Service& s) {
  ServiceObjects o;
  if (!(s.flags & ipvs::kPersistent)) {
    o.rules.push_back(service_rule(s));
    return o;
  }
  const bool v6 = s.key.family() == Family::v6;
  const std::string client = client_of(s);
  // A client's element lives for the timeout after its last new connection (IPVS: after its
  // last connection ends; conntrack's entries are not visible from here).
  const std::string timeout = nft_duration(std::max<uint32_t>(1, s.timeout));
  std::vector<const ipvs::Destination*> all;
  for (auto& d : s.destinations) all.push_back(&d);
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->key < b->key; });
  for (auto* d : all) {
    const std::string set = persist_set_name(s.key, d->key), chain = persist_chain_name(s.key, d->key);
    const std::string addr = v6 ? "[" + d->key.address.str() + "]" : d->key.address.str();
    o.sets[set] = std::string("{ type ") + (v6 ? "ipv6_addr" : "ipv4_addr") +
                  " ; flags dynamic,timeout ; size " + std::to_string(kPersistClients) + " ; }";
    // The element first, on its own: a full set fails that rule, not the DNAT.
    o.chains[chain] = {"update @" + set + " { " + client + " timeout " + timeout + " }",
                       "meta l4proto " + proto(s.key) + " dnat to " + addr + ":" +
                           std::to_string(port_of(s, *d))};
    o.rules.push_back(client + " @" + set + " goto " + chain);
  }
  const Pick p = pick_of(s);
  if (p.dests.empty()) {
    o.rules.push_back("drop");
  } else {
    o.rules.push_back(with_comment(p.expr + " vmap { " +
                                       ranges_of(p, [&](const ipvs::Destination& d) {
                                         return "goto " + persist_chain_name(s.key, d.key);
                                       }) +
                                       " }",
                                   p.comment));
  }
  return o;
}

std::string keep_nat_rule(Family f) {
  return f == Family::v6 ? "meta l4proto tcp dnat to [::1]:9" : "meta l4proto tcp dnat to 127.0.0.1:9";
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
         "add rule " + t + " output " + lookup +
         "add chain " + t + " " + kKeepNat + "\n" +
         "flush chain " + t + " " + kKeepNat + "\n" +
         "add rule " + t + " " + kKeepNat + " " + keep_nat_rule(f) + "\n";
}

std::string change_script(const ipvs::Table& before, const ipvs::Table& after) {
  std::string out;
  auto write_chain = [&](const std::string& t, const std::string& c, const std::vector<std::string>& rules,
                         bool made) {
    // "add" keeps a chain that is there (what a drift repair could not remove): flushed, so
    // the rules below are its only ones.
    if (!made) out += "add chain " + t + " " + c + "\n";
    out += "flush chain " + t + " " + c + "\n";
    for (auto& r : rules) out += "add rule " + t + " " + c + " " + r + "\n";
  };
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
    const ServiceObjects now = service_objects(s);
    std::optional<ServiceObjects> was;
    if (old != before.end()) {
      was = service_objects(old->second);
      if (*was == now) continue;
    }
    // What the service's chain will name first: sets (kept when there: their clients stay),
    // then the servers' chains, new or changed.
    for (auto& [name, def] : now.sets)
      if (!was || !was->sets.count(name)) out += "add set " + t + " " + name + " " + def + "\n";
    for (auto& [name, rules] : now.chains) {
      auto w = was ? was->chains.find(name) : now.chains.end();
      const bool made = was && w != was->chains.end();
      if (made && w->second == rules) continue;
      write_chain(t, name, rules, made);
    }
    if (!was || was->rules != now.rules) write_chain(t, c, now.rules, was.has_value());
    if (!was) out += "add element " + t + " services { " + element(key) + " : jump " + c + " }\n";
  }
  return out;
}

std::string cleanup_script(const ipvs::Table& before, const ipvs::Table& after) {
  std::string out;
  for (auto& [key, s] : before) {
    if (!(s.flags & ipvs::kPersistent)) continue;
    const std::string t = table(key.family());
    const ServiceObjects was = service_objects(s);
    auto now_it = after.find(key);
    std::optional<ServiceObjects> now;
    if (now_it != after.end()) now = service_objects(now_it->second);
    // Chains first: they update the sets.
    for (auto& [c, rules] : was.chains)
      if (!now || !now->chains.count(c)) out += "flush chain " + t + " " + c + "\ndelete chain " + t + " " + c + "\n";
    for (auto& [name, def] : was.sets)
      if (!now || !now->sets.count(name)) out += "delete set " + t + " " + name + "\n";
  }
  return out;
}

}  // namespace hd::nft
