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

// "r_0a090064_tcp_80_0a0a000b_80" (or "p_...", "r6_...", "p6_...") -> its service and server.
std::optional<std::pair<ipvs::ServiceKey, ipvs::DestKey>> persist_key_of(const std::string& name) {
  if (name.size() < 2 || (name[0] != 'r' && name[0] != 'p')) return std::nullopt;
  const size_t port_at = name.rfind('_');
  if (port_at == std::string::npos || port_at == 0) return std::nullopt;
  const size_t hex_at = name.rfind('_', port_at - 1);
  if (hex_at == std::string::npos) return std::nullopt;
  auto key = key_of_chain("s" + name.substr(1, hex_at - 1));
  if (!key) return std::nullopt;
  const std::string hex = name.substr(hex_at + 1, port_at - hex_at - 1);
  const size_t n = key->family() == Family::v6 ? 16 : 4;
  if (hex.size() != 2 * n || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  const std::string port = name.substr(port_at + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const unsigned long pn = std::stoul(port);
  auto addr = IpAddress::from_bytes(key->family(), std::span<const uint8_t>(b.data(), n));
  if (pn > 65535 || !addr) return std::nullopt;
  return std::make_pair(*key, ipvs::DestKey{*addr, static_cast<uint16_t>(pn)});
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
  size_t open = 7;
  auto b = line.find(" map { ");
  if (b == std::string::npos) {  // a persistent service's pick: a vmap of server chains
    b = line.find(" vmap { ");
    open = 8;
  }
  auto e = b == std::string::npos ? b : line.find('}', b);
  if (b != std::string::npos && e != std::string::npos)
    for (char c : line.substr(b + open, e - b - open))
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
  int keep_rules[2] = {}, keep_ok[2] = {};           // [v4, v6]: the keep_nat chain
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
      if (block.rfind("set ", 0) == 0) l.sets.insert(block.substr(4));
      if (block.rfind("chain ", 0) != 0) continue;
      const std::string name = block.substr(6);
      if (name != "prerouting" && name != "output") l.chains[name];
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
    if (block == std::string("chain ") + kKeepNat) {
      ++keep_rules[fi];
      if (normalize_rule(line) == normalize_rule(keep_nat_rule(tf))) ++keep_ok[fi];
      continue;
    }
    if (base >= 0) {
      ++base_rules[fi][base];
      if (line == f + " daddr . meta l4proto . th dport vmap @services") ++base_vmap[fi][base];
      continue;
    }
    if (block.rfind("chain ", 0) == 0) l.chains[block.substr(6)].push_back(normalize_rule(line));
    if (!cur) continue;
    ++l.rules[block.substr(6)];
    l.signatures[cur->key] = rule_signature(line);
    // A persistent service: a server's lookup rule ("ip saddr [& MASK ==] @p_... goto r_..."),
    // then the pick, a vmap of the servers' chains ("0 : goto r_..., 1-2 : goto r_...").
    auto server = [&](const std::string& chain) -> ipvs::Destination* {
      auto k = persist_key_of(chain);
      if (!k || k->first != cur->key) return nullptr;
      cur->flags |= ipvs::kPersistent;
      auto it = std::find_if(cur->destinations.begin(), cur->destinations.end(),
                             [&](const ipvs::Destination& x) { return x.key == k->second; });
      if (it != cur->destinations.end()) return &*it;
      ipvs::Destination d;
      d.key = k->second;
      d.weight = 0;
      cur->destinations.push_back(d);
      return &cur->destinations.back();
    };
    if (line.find(" vmap { ") == std::string::npos) {
      if (auto g = line.find(" goto "); g != std::string::npos && line.find(" @p") != std::string::npos) {
        server(trim(std::string_view(line).substr(g + 6)));
        if (auto a = line.find(" & "); a != std::string::npos) {
          auto mask = IpAddress::parse(line.substr(a + 3, line.find(' ', a + 3) - (a + 3)));
          if (mask && mask->family() == tf) {
            uint8_t bits = 0;
            for (uint8_t b : mask->bytes())
              for (int i = 7; i >= 0; --i) bits += (b >> i) & 1;
            cur->netmask = bits;
          }
        }
      }
    } else {
      std::string body = line.substr(line.find(" vmap { ") + 8);
      for_each_item(body.substr(0, body.find('}')), [&](const std::string& e) {
        unsigned lo = 0, hi = 0;
        char chain[300] = {};
        if (std::sscanf(e.c_str(), " %u-%u : goto %299s", &lo, &hi, chain) != 3) {
          if (std::sscanf(e.c_str(), " %u : goto %299s", &lo, chain) != 2) return;
          hi = lo;
        }
        if (auto* d = hi >= lo ? server(chain) : nullptr) d->weight += static_cast<int32_t>(hi - lo + 1);
      });
    }
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
    std::string body = m == std::string::npos ? "" : line.substr(m + 7);
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
      // Of the servers taking new connections (a persistent service lists the others too).
      std::sort(cur->destinations.begin(), cur->destinations.end(),
                [](const ipvs::Destination& a, const ipvs::Destination& b) { return a.key < b.key; });
      std::vector<ipvs::Destination*> taking;
      for (auto& d : cur->destinations)
        if (d.weight > 0) taking.push_back(&d);
      if (ws.size() == taking.size())
        for (size_t i = 0; i < ws.size(); ++i) taking[i]->weight = ws[i];
    }
  }
  // A persistent service's timeout: in its servers' chains ("update @p_... { ... timeout 5m }").
  for (auto& [key, svc] : out) {
    if (!(svc.flags & ipvs::kPersistent)) continue;
    for (auto& d : svc.destinations) {
      auto c = l.chains.find(persist_chain_name(key, d.key));
      if (c == l.chains.end() || c->second.empty()) continue;
      const std::string& rule = c->second.front();
      if (auto t = rule.find(" timeout "); t != std::string::npos) {
        const size_t from = t + 9;
        if (auto v = parse_nft_duration(rule.substr(from, rule.find(' ', from) - from))) svc.timeout = *v;
      }
      break;
    }
  }
  auto ok = [&](int fi) {
    return base_rules[fi][0] == 1 && base_vmap[fi][0] == 1 && base_rules[fi][1] == 1 &&
           base_vmap[fi][1] == 1 && keep_rules[fi] == 1 && keep_ok[fi] == 1;
  };
  l.base = ok(0);
  l.base6 = ok(1);
  return l;
}

std::optional<std::pair<ipvs::ServiceKey, ipvs::DestKey>> persist_owner(const std::string& name) {
  return persist_key_of(name);
}

std::string normalize_rule(std::string_view rule) {
  std::string out;
  for (char c : rule) {
    if (c == '\t' || c == '\n') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  out = trim(out);
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = out.find(from, at)) != std::string::npos; at += to.size())
      out.replace(at, from.size(), to);
  };
  replace(" == @", " @");
  replace("meta l4proto 6 ", "meta l4proto tcp ");
  replace("meta l4proto 17 ", "meta l4proto udp ");
  replace("meta l4proto 132 ", "meta l4proto sctp ");
  return out;
}

bool holds(const Listing& l, const ipvs::Service& s) {
  const std::string c = chain_name(s.key);
  auto e = l.elements.find(s.key);
  auto r = l.chains.find(c);
  if (e == l.elements.end() || e->second != c || r == l.chains.end()) return false;
  const ServiceObjects o = service_objects(s);
  const std::vector<std::string>& listed = r->second;
  if (listed.size() != o.rules.size()) return false;
  // The pick by what it does (rule_signature); a persistent service's lookups, its servers'
  // chains and sets as written.
  for (size_t i = 0; i + 1 < listed.size(); ++i)
    if (listed[i] != normalize_rule(o.rules[i])) return false;
  if (rule_signature(listed.back()) != rule_signature(o.rules.back())) return false;
  for (auto& [name, rules] : o.chains) {
    auto it = l.chains.find(name);
    if (it == l.chains.end() || it->second.size() != rules.size()) return false;
    for (size_t i = 0; i < rules.size(); ++i)
      if (it->second[i] != normalize_rule(rules[i])) return false;
  }
  for (auto& [name, def] : o.sets)
    if (!l.sets.count(name)) return false;
  return true;
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
