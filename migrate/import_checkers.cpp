// SPDX-License-Identifier: GPL-2.0-or-later
// The checker blocks of a real_server (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK,
// DNS_CHECK, UDP_CHECK, PING_CHECK) -> a real server's check, with keepalived's timing
// inherited from the virtual server and the real server.
#include <algorithm>

#include "checkers/dns_message.h"
#include "core/text.h"
#include "migrate/import_context.h"

namespace hd::migrate::keepalived::detail {

using namespace std::chrono_literals;
using config::Check;

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

namespace {

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

// FILE_CHECK { track_file NAME; weight W [reverse]; dynamic } -> a file check on the
// track_file's path, read every second (keepalived reads it on each write).
std::optional<Check> map_file_check(Ctx& ctx, const Node& n) {
  std::string name;
  std::optional<long> weight;
  bool dynamic = false;
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "track_file" && !c.args.empty()) {
      name = c.args[0];
    } else if (k == "weight") {
      if (auto v = ctx.integer(c, -65535, 65535)) {
        weight = *v;
        if (c.args.size() > 1 && c.args[1] == "reverse") {
          if (*v == 0)
            ctx.warn(c.pos, "weight 0 reverse (down while the file reads 0) not supported: "
                            "weight 0 (down while it reads anything else)");
          weight = -*weight;
        }
      }
    } else if (k == "dynamic") {
      dynamic = true;
    } else {
      ctx.warn(c.pos, k + " not supported in FILE_CHECK: ignored");
    }
  }
  const auto own = ctx.file_weight.find(name);  // the named track_file's weight, uncut
  if (auto a = ctx.file_alias.find(name); a != ctx.file_alias.end()) name = a->second;
  auto& files = ctx.out().config.track_files;
  auto f = std::find_if(files.begin(), files.end(), [&](auto& tf) { return tf.name == name; });
  if (name.empty() || f == files.end()) {
    ctx.warn(n.pos, "FILE_CHECK not supported: " +
                        (name.empty() ? std::string("no track_file named") : "no track_file " + name) +
                        ": the real server is imported without this check");
    return std::nullopt;
  }
  const long w = weight.value_or(own->second);  // defined (f found): in file_weight
  if (w < -65535 || w > 65535) {
    ctx.warn(n.pos, "FILE_CHECK not supported: weight " + std::to_string(w) + " is beyond a real "
                        "server's weight range: the real server is imported without this check");
    return std::nullopt;
  }
  if (w != 0 && !dynamic) {
    ctx.warn(n.pos, "FILE_CHECK not supported: weight " + std::to_string(w) +
                        " without dynamic moves nothing in keepalived (the server stays up "
                        "unless value x weight is below -2^31): the real server is imported "
                        "without this check");
    return std::nullopt;
  }
  Check ch;
  ch.type = config::CheckType::file;
  ch.file = f->path;
  ch.file_weight = static_cast<int>(w);
  ch.interval = std::chrono::seconds(1);
  ch.timeout = std::chrono::seconds(1);
  ch.initial_up = true;
  ctx.note(n.pos, "FILE_CHECK: " + f->path + " is read every second (keepalived reads it "
                  "when it is written)");
  return ch;
}

}  // namespace

bool is_checker(const std::string& keyword) { return kCheckers.contains(keyword); }

std::optional<Check> map_checker(Ctx& ctx, const Node& n, Timing t, const std::string& vs_host) {
  const std::string& kind = n.keyword;
  if (kind == "BFD_CHECK") {
    ctx.unsupported(n, "not yet in hadirector: the real server is imported without this check");
    return std::nullopt;
  }
  if (kind == "FILE_CHECK") return map_file_check(ctx, n);
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
      if (c.args.empty()) continue;
      if (auto why = checkers::validate_helo_name(c.args[0]))
        ctx.bad(c, *why, "this host's name is used");
      else
        ch.helo_name = c.args[0];
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
  return ch;
}


}  // namespace hd::migrate::keepalived::detail
