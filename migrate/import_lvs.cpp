// SPDX-License-Identifier: GPL-2.0-or-later
// virtual_server_group, virtual_server, real_server and the checkers -> [[virtual_server]],
// [[virtual_server.real_server]] with their checks.
#include <algorithm>
#include <array>
#include <cstring>

#include "checkers/dns_message.h"
#include "core/text.h"
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

// Checker timing as keepalived inherits it: virtual_server, then real_server, then checker.
struct Timing {
  Duration delay_loop = 60s;       // keepalived's default
  Duration connect_timeout = 5s;   // keepalived's default
  std::optional<int> retry;        // default per checker (1; MISC_CHECK 0)
  std::optional<Duration> delay_before_retry;
  bool alpha = false;
};

bool timing_keyword(Ctx& ctx, const Node& c, Timing& t) {
  const std::string& k = c.keyword;
  if (k == "delay_loop") {
    if (auto v = ctx.seconds(c, 10ms, 24h)) t.delay_loop = *v;
  } else if (k == "connect_timeout") {
    if (auto v = ctx.seconds(c, 1ms, 1h)) t.connect_timeout = *v;
  } else if (k == "retry" || k == "nb_get_retry") {
    if (auto v = ctx.integer(c, 0, 99)) t.retry = static_cast<int>(*v);  // fall = retry + 1 <= 100
  } else if (k == "delay_before_retry") {
    t.delay_before_retry = ctx.seconds(c, 0s, 1h);
  } else if (k == "alpha") {
    t.alpha = true;
  } else if (k == "warmup") {
    ctx.note(c.pos, "warmup: checks start at once (hadirector spreads the first checks "
                    "over the first interval anyway)");
  } else {
    return false;
  }
  return true;
}

// keepalived's hex strings: the words run together, an odd last digit padded ("Ab12f 3"
// is ab 12 f3). Wildcards (X) are not supported: nullopt.
std::optional<std::string> hex_words(const std::vector<std::string>& words) {
  std::string all;
  for (auto& w : words) all += w;
  if (all.size() % 2) all += '0';
  return from_hex(all);
}

std::vector<config::StatusRange> status_codes(Ctx& ctx, const Node& c) {
  std::vector<config::StatusRange> out;
  for (size_t i = 0; i < c.args.size(); ++i) {
    const std::string& a = c.args[i];
    auto dash = a.find('-');
    char* end = nullptr;
    long lo = std::strtol(a.c_str(), &end, 10);
    long hi = lo;
    if (dash != std::string::npos) hi = std::strtol(a.c_str() + dash + 1, &end, 10);
    if (a.empty() || *end != '\0' || lo < 100 || hi > 599 || lo > hi) {
      ctx.bad(c, "'" + a + "' is not a status code or range", "ignored");
      continue;
    }
    out.push_back({static_cast<int>(lo), static_cast<int>(hi)});
  }
  return out;
}

const std::set<std::string> kCheckers = {"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK",
                                         "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK",
                                         "FILE_CHECK", "BFD_CHECK"};

// One checker block -> a Check, or nullopt (not supported, said).
std::optional<Check> checker(Ctx& ctx, const Node& n, Timing t, int rs_port,
                             const std::string& vs_host) {
  const std::string& kind = n.keyword;
  if (kind == "FILE_CHECK" || kind == "BFD_CHECK") {
    ctx.unsupported(n, "not yet in hadirector: the real server is imported without this check");
    return std::nullopt;
  }
  Check ch;
  ch.initial_up = !t.alpha;
  std::optional<Duration> misc_timeout;
  std::string host = vs_host;
  bool misc_dynamic = false;
  bool dns_type_given = false;
  const Node* url = nullptr;
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (timing_keyword(ctx, c, t)) continue;
    if (k == "connect_ip") {
      if (auto a = ctx.address(c)) ch.connect_address = *a;
    } else if (k == "connect_port") {
      if (auto v = ctx.integer(c, 1, 65535)) ch.connect_port = static_cast<int>(*v);
    } else if (k == "bindto") {
      if (auto a = ctx.address(c)) ch.source_address = *a;
    } else if (k == "bind_port") {
      ctx.unsupported(c, "the probe's source port is the kernel's choice");
    } else if (k == "fwmark") {
      ctx.unsupported(c, "probes are not marked");
    } else if (k == "url" && (kind == "HTTP_GET" || kind == "SSL_GET")) {
      if (url) ctx.unsupported(c, "a second url: only the first one is checked");
      else url = &c;
    } else if (k == "virtualhost") {
      if (!c.args.empty()) host = c.args[0];
    } else if (k == "misc_path" && kind == "MISC_CHECK") {
      if (auto v = ctx.command(c)) ch.command = *v;
    } else if (k == "misc_timeout" && kind == "MISC_CHECK") {
      misc_timeout = ctx.seconds(c, 1ms, 1h);
    } else if (k == "misc_dynamic" && kind == "MISC_CHECK") {
      misc_dynamic = true;
    } else if (k == "payload" && kind == "UDP_CHECK") {
      auto b = hex_words(c.args);
      if (b) ch.send = *b;
      else ctx.bad(c, "not a hexadecimal string", "an empty datagram is sent");
    } else if (k == "require_reply" && kind == "UDP_CHECK") {
      ch.require_reply = true;
      if (!c.args.empty()) {
        if (auto b = hex_words(c.args)) {
          ch.expect = *b;
          ctx.note(c.pos, "require_reply: a reply holding these bytes anywhere is up");
        } else {
          ctx.bad(c, "not a hexadecimal string", "any reply is up");
        }
      }
    } else if ((k == "min_reply_length" || k == "max_reply_length") && kind == "UDP_CHECK") {
      ctx.unsupported(c, "the reply's length is not checked");
    } else if ((k == "user" && kind == "MISC_CHECK")) {
      ctx.unsupported(c, "the script runs as hadirector's own user (root)");
    } else if (k == "type" && kind == "DNS_CHECK") {
      auto q = c.args.empty() ? std::nullopt : checkers::dns::parse_type(c.args[0]);
      dns_type_given = true;
      if (q) ch.query_type = *q;
      else ch.query_type = 6, ctx.bad(c, "not a DNS type hadirector knows", "SOA asked");
    } else if (k == "name" && kind == "DNS_CHECK") {
      if (!c.args.empty()) ch.query_name = c.args[0];
    } else if (k == "helo_name" && kind == "SMTP_CHECK") {
      if (!c.args.empty()) ch.helo_name = c.args[0];
    } else if (k == "enable_sni" || k == "tls_compliant" || k == "http_protocol" ||
               k == "protocol" || k == "fast_recovery" || k == "log_all_failures") {
      ctx.note(c.pos, k + ": not needed by hadirector's probe: ignored");
    } else {
      ctx.warn(c.pos, k + " not supported in " + kind + ": ignored");
    }
  }
  ch.interval = t.delay_loop;
  // keepalived's default retries: MISC_CHECK none, DNS_CHECK 3, the others 1.
  const int retry = t.retry.value_or(kind == "MISC_CHECK" ? 0 : kind == "DNS_CHECK" ? 3 : 1);
  ch.fall = retry + 1;
  ch.rise = 1;
  if (kind == "TCP_CHECK") {
    ch.type = config::CheckType::tcp;
    ch.half_open = true;
    ch.timeout = t.connect_timeout;
  } else if (kind == "DNS_CHECK") {
    ch.type = config::CheckType::dns;
    ch.timeout = t.connect_timeout;
    if (!dns_type_given) ch.query_type = 6;  // keepalived's default: SOA
    if (ch.query_name.empty()) ch.query_name = ".";  // keepalived's default: the root
    if (auto why = checkers::dns::validate_name(ch.query_name)) {
      ctx.bad(n, "name " + ch.query_name + ": " + *why, "the root (.) asked");
      ch.query_name = ".";
    }
  } else if (kind == "SMTP_CHECK") {
    ch.type = config::CheckType::smtp;
    ch.timeout = t.connect_timeout;
  } else if (kind == "PING_CHECK") {
    ch.type = config::CheckType::ping;
    ch.timeout = t.connect_timeout;
    ch.connect_port.reset();  // an echo has no port
  } else if (kind == "UDP_CHECK") {
    ch.type = config::CheckType::udp;
    ch.timeout = t.connect_timeout;
  } else if (kind == "HTTP_GET" || kind == "SSL_GET") {
    ch.type = kind == "HTTP_GET" ? config::CheckType::http : config::CheckType::https;
    ch.timeout = t.connect_timeout;
    ch.host = host;
    if (kind == "SSL_GET") {
      ch.tls_verify = false;
      ctx.note(n.pos, "SSL_GET: tls_verify = false, as keepalived checks no certificate (set "
                      "tls_verify = true and ca_file when the real servers' certificates "
                      "can be verified)");
    }
    if (url) {
      for (auto& c : url->children) {
        if (c.keyword == "path" && !c.args.empty()) ch.path = c.args[0];
        else if (c.keyword == "status_code") {
          auto codes = status_codes(ctx, c);
          if (!codes.empty()) ch.expect_status = codes;
        } else if (c.keyword == "digest")
          ctx.unsupported(c, "the body's MD5 is not checked (hadirector checks body_sha256: "
                             "put the body's SHA-256 there)");
        else if (c.keyword == "regex") {
          if (!c.args.empty()) ch.body_regex = c.args[0];
        } else if (c.keyword == "virtualhost") {
          if (!c.args.empty()) ch.host = c.args[0];
        } else if (c.keyword == "regex_no_match" || c.keyword == "regex_options" ||
                   c.keyword == "regex_stack" || c.keyword == "regex_min_offset" ||
                   c.keyword == "regex_max_offset")
          ctx.unsupported(c, "ignored");
        else
          ctx.warn(c.pos, c.keyword + " not supported in url: ignored");
      }
    }
  } else {  // MISC_CHECK
    ch.type = config::CheckType::script;
    if (ch.command.empty()) {
      ctx.warn(n.pos, "MISC_CHECK without misc_path: ignored");
      return std::nullopt;
    }
    ch.timeout = misc_timeout.value_or(t.delay_loop);
    if (misc_dynamic)
      for (int code = 2; code <= 255; ++code) ch.exit_weights[code] = code - 2;
  }
  if (t.delay_before_retry && retry > 0 && *t.delay_before_retry != ch.interval)
    ctx.note(n.pos, kind + ": a failure is retried after the interval (" +
                        config::duration_text(ch.interval) + "), not after delay_before_retry: "
                        "the server goes down after fall = " + std::to_string(ch.fall) +
                        " failed checks");
  if (ch.timeout > ch.interval) {
    ctx.note(n.pos, kind + ": timeout " + config::duration_text(ch.timeout) +
                        " is longer than the interval (delay_loop " +
                        config::duration_text(ch.interval) + "): timeout cut to the interval");
    ch.timeout = ch.interval;
  }
  (void)rs_port;
  return ch;
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
    } else if (kCheckers.contains(k)) {
      auto ch = checker(ctx, c, t, rs.port.value_or(0), rs_host);
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
  if (n.args.empty()) {
    ctx.bad(n, "the group has no name", "ignored");
    return;
  }
  if (groups.contains(n.args[0])) {
    ctx.warn(n.pos, "virtual_server_group " + n.args[0] + " defined again: the first one is used");
    return;
  }
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
              rs.check->type != config::CheckType::ping)
            rs.check->connect_port = rs.port;
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
