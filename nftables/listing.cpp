// SPDX-License-Identifier: GPL-2.0-or-later
// Reading the tables back (render.h: parse_listing, holds, normalize_rule, persist_owner): what
// nft lists, whichever way it spells it, turned into services, elements and chains, and
// compared with what render.cpp writes.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "nftables/render.h"

namespace hd::nft {
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
    const std::string f = family_keyword(tf);
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

std::optional<std::string> difference(const Listing& l, const ipvs::Service& s) {
  const std::string c = chain_name(s.key);
  auto e = l.elements.find(s.key);
  if (e == l.elements.end()) return "its map element is gone";
  if (e->second != c) return "its map element jumps to " + e->second;
  auto r = l.chains.find(c);
  if (r == l.chains.end()) return "its chain is gone";
  const ServiceObjects o = service_objects(s);
  const std::vector<std::string>& listed = r->second;
  if (listed.size() != o.rules.size())
    return "its chain holds " + std::to_string(listed.size()) + " rules, not " +
           std::to_string(o.rules.size());
  // The pick by what it does (rule_signature); a persistent service's lookups, its servers'
  // chains and sets as written.
  for (size_t i = 0; i + 1 < listed.size(); ++i)
    if (listed[i] != normalize_rule(o.rules[i]))
      return "its rule " + std::to_string(i + 1) + " is not the one written";
  if (!listed.empty() && rule_signature(listed.back()) != rule_signature(o.rules.back()))
    return "its rule is not the one written";
  for (auto& [name, rules] : o.chains) {
    auto it = l.chains.find(name);
    if (it == l.chains.end()) return "its chain " + name + " is gone";
    if (it->second.size() != rules.size()) return "its chain " + name + " is not the one written";
    for (size_t i = 0; i < rules.size(); ++i)
      if (it->second[i] != normalize_rule(rules[i]))
        return "its chain " + name + " is not the one written";
  }
  for (auto& [name, def] : o.sets)
    if (!l.sets.count(name)) return "its set " + name + " is gone";
  return std::nullopt;
}


}  // namespace hd::nft
