// SPDX-License-Identifier: GPL-2.0-or-later
// A real server's check table. The probes' own validators (checkers/spec.h) judge the values
// they will run, at the values' positions.
#include "daemon/config/sections.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "checkers/dns_message.h"
#include "checkers/spec.h"
#include "core/text.h"

namespace hd::config {
std::optional<Check> load_check(Ctx& ctx, const toml::table& ct, const std::string& where) {
  Table t(ctx, ct, where);
  Check c;
  bool ok = true;
  auto type = t.choice("type", {"tcp", "http", "https", "script", "udp", "ping", "smtp", "dns", "file"}, true);
  if (!type) {
    t.finish();
    return std::nullopt;
  }
  c.type = *type == "tcp"     ? CheckType::tcp
           : *type == "http"  ? CheckType::http
           : *type == "https" ? CheckType::https
           : *type == "udp"   ? CheckType::udp
           : *type == "ping"  ? CheckType::ping
           : *type == "smtp"  ? CheckType::smtp
           : *type == "dns"   ? CheckType::dns
           : *type == "file"  ? CheckType::file
                              : CheckType::script;
  if (auto v = t.duration("interval", Millis(10), std::chrono::hours(24))) c.interval = *v;
  if (auto v = t.duration("timeout", Millis(1), std::chrono::hours(1))) c.timeout = *v;
  if (auto v = t.integer("rise", 1, 100)) c.rise = int(*v);
  if (auto v = t.integer("fall", 1, 100)) c.fall = int(*v);
  if (c.timeout > c.interval) {
    ctx.error(t.node("timeout") ? ctx.pos_of(t.node("timeout")->source()) : t.pos(),
              "check 'timeout' must not exceed 'interval'");
    ok = false;
  }
  if (auto v = t.choice("initial_state", {"up", "down"})) c.initial_up = *v == "up";
  if (auto a = t.address("connect_address")) c.connect_address = *a;
  if (auto v = t.integer("connect_port", 1, 65535)) c.connect_port = int(*v);
  if (auto a = t.address("source_address")) c.source_address = *a;
  bool is_http = c.type == CheckType::http || c.type == CheckType::https;
  auto only = [&](std::string_view key, bool allowed, const char* types) {
    auto* n = ct.get(key);
    if (n && !allowed) {
      ctx.error(*n, "'" + std::string(key) + "' applies only to " + types + " checks");
      ok = false;
    }
  };
  only("connect_port", c.type != CheckType::ping && c.type != CheckType::file,
       "tcp, udp, http, https and script");
  for (auto k : {"connect_address", "source_address"}) only(k, c.type != CheckType::file, "network");
  for (auto k : {"file", "weight"}) only(k, c.type == CheckType::file, "file");
  const bool bytes = c.type == CheckType::tcp || c.type == CheckType::udp;
  only("probe", c.type == CheckType::tcp, "tcp");
  for (auto k : {"send", "expect", "send_hex", "expect_hex"}) only(k, bytes, "tcp and udp");
  only("require_reply", c.type == CheckType::udp, "udp");
  const bool smtp = c.type == CheckType::smtp;
  for (auto k : {"method", "path", "host", "expect_status", "body_contains", "body_regex",
                 "body_sha256", "keepalive"})
    only(k, is_http, "http and https");
  only("connect_timeout", is_http || smtp, "http, https and smtp");
  for (auto k : {"tls_verify", "ca_file"}) only(k, c.type == CheckType::https || smtp, "https and smtp");
  only("sni", c.type == CheckType::https || smtp, "https and smtp");
  for (auto k : {"helo_name", "starttls"}) only(k, smtp, "smtp");
  for (auto k : {"query_name", "query_type"}) only(k, c.type == CheckType::dns, "dns");
  if (c.type == CheckType::dns) {
    if (auto v = t.str("query_name", true)) {
      if (auto why = checkers::dns::validate_name(*v)) {
        ctx.error(*t.node("query_name"), "'query_name': " + *why);
        ok = false;
      }
      c.query_name = *v;
    } else {
      ok = false;
    }
    if (auto v = t.str("query_type")) {
      if (auto q = checkers::dns::parse_type(*v)) {
        c.query_type = *q;
      } else {
        ctx.error(*t.node("query_type"), "'query_type' must be A, AAAA, CNAME, MX, NS, PTR, SOA, "
                                         "SRV, TXT or TYPEnnn");
        ok = false;
      }
    }
  }
  for (auto k : {"command", "exit_weights"}) only(k, c.type == CheckType::script, "script");
  if (auto v = t.str("send")) c.send = *v;
  if (auto v = t.str("expect")) c.expect = *v;
  // Bytes that are not text (a DNS query, say): hexadecimal, "0a1b" or "0a 1b" or "0a:1b".
  auto hex = [&](const char* key, const char* plain, std::string& dst) {
    auto v = t.str(key);
    if (!v) return;
    if (t.node(plain)) {
      ctx.error(*t.node(key), "'" + std::string(key) + "' and '" + plain + "' exclude each other");
      ok = false;
    } else if (auto b = from_hex(*v)) {
      dst = *b;
    } else {
      ctx.error(*t.node(key), "'" + std::string(key) + "' must be pairs of hexadecimal digits");
      ok = false;
    }
  };
  hex("send_hex", "send", c.send);
  hex("expect_hex", "expect", c.expect);
  if (auto v = t.boolean("require_reply")) c.require_reply = *v;
  if (c.type == CheckType::udp && c.send.size() > 65507) {
    ctx.error(*(t.node("send") ? t.node("send") : t.node("send_hex")),
              "a udp check's payload must fit one datagram (65507 bytes)");
    ok = false;
  }
  // A half-open probe by default; bytes to send or expect need a connection. Other types
  // keep the default (false): the probe kind is a tcp check's only.
  c.half_open = c.type == CheckType::tcp && c.send.empty() && c.expect.empty();
  if (auto v = t.choice("probe", {"syn", "connect"})) {
    if (*v == "syn" && (!c.send.empty() || !c.expect.empty())) {
      ctx.error(*t.node("probe"),
                "probe = \"syn\" cannot send or expect bytes; use probe = \"connect\"");
      ok = false;
    }
    c.half_open = *v == "syn";
  }
  if (auto v = t.choice("method", {"GET", "HEAD"}))
    c.method = *v == "HEAD" ? HttpMethod::head : HttpMethod::get;
  // The probes' own validators judge these values, so `check` accepts exactly what runs.
  auto judged = [&](const char* key, std::string& dst,
                    std::optional<std::string> (*judge)(const std::string&)) {
    if (auto v = t.str(key)) {
      if (auto why = judge(*v)) {
        ctx.error(*t.node(key), "'" + std::string(key) + "': " + *why);
        ok = false;
      }
      dst = *v;
    }
  };
  judged("path", c.path, checkers::validate_path);
  judged("host", c.host, checkers::validate_host);
  if (auto* arr = t.array("expect_status")) {
    c.expect_status.clear();
    for (auto& e : *arr) {
      if (auto* i = e.as_integer()) {
        if (i->get() < 100 || i->get() > 599) {
          ctx.error(e, "HTTP status " + std::to_string(i->get()) + " is outside 100-599");
          ok = false;
        } else {
          c.expect_status.push_back({int(i->get()), int(i->get())});
        }
      } else if (auto* s = e.as_string()) {
        int lo = 0, hi = 0;
        char extra = 0;
        if (std::sscanf(s->get().c_str(), "%d-%d%c", &lo, &hi, &extra) != 2 || lo < 100 ||
            hi > 599 || lo > hi) {
          ctx.error(e, "'" + s->get() + "' is not a status range such as \"200-299\"");
          ok = false;
        } else {
          c.expect_status.push_back({lo, hi});
        }
      } else {
        t.wrong_type(e, "expect_status", "a status code or a range string");
        ok = false;
      }
    }
    if (c.expect_status.empty()) {
      ctx.error(*t.node("expect_status"), "'expect_status' must not be empty");
      ok = false;
    }
  }
  if (auto v = t.str("body_contains")) c.body_contains = *v;
  judged("body_regex", c.body_regex, checkers::validate_body_regex);
  if (auto v = t.str("body_sha256")) {
    bool hex = v->size() == 64 && std::all_of(v->begin(), v->end(), [](char ch) {
                 return std::isxdigit(static_cast<unsigned char>(ch));
               });
    if (!hex) {
      ctx.error(*t.node("body_sha256"), "'body_sha256' must be 64 hexadecimal digits");
      ok = false;
    }
    c.body_sha256 = *v;
  }
  if (c.method == HttpMethod::head &&
      (!c.body_contains.empty() || !c.body_regex.empty() || !c.body_sha256.empty())) {
    ctx.error(*t.node("method"), "method HEAD gets no body: body_contains, body_regex and "
                                 "body_sha256 need method GET");
    ok = false;
  }
  judged("helo_name", c.helo_name, checkers::validate_helo_name);
  if (auto v = t.boolean("starttls")) c.starttls = *v;
  if (auto v = t.boolean("tls_verify")) c.tls_verify = *v;
  if (auto v = t.boolean("keepalive")) c.keepalive = *v;
  if (auto v = t.str("ca_file")) c.ca_file = *v;
  judged("sni", c.sni, checkers::validate_sni);
  if (auto v = t.duration("connect_timeout", Millis(1), std::chrono::hours(1))) c.connect_timeout = *v;
  if (c.type == CheckType::script) {
    if (auto v = t.argv("command", true))
      c.command = *v;
    else
      ok = false;
  } else {
    t.node("command");
  }
  if (c.type == CheckType::file) {
    if (auto f = t.file_path("file", true)) c.file = *f; else ok = false;
    if (auto v = t.integer("weight", -65535, 65535)) c.file_weight = int(*v);
  } else {
    t.node("file");  // reported above, as another type's key
    t.node("weight");
  }
  if (auto* ew = t.subtable("exit_weights")) {
    for (auto&& [k, v] : *ew) {
      int code = -1;
      char extra = 0;
      if (std::sscanf(std::string(k.str()).c_str(), "%d%c", &code, &extra) != 1 || code < 0 ||
          code > 255) {
        ctx.error(ctx.pos_of(k.source()), "exit_weights key '" + std::string(k.str()) +
                                          "' must be an exit code 0-255");
        ok = false;
        continue;
      }
      if (auto w = t.check_int(v, "exit_weights", 0, 65535)) c.exit_weights[code] = int(*w);
      else ok = false;
    }
  }
  t.finish();
  if (!ok) return std::nullopt;
  return c;
}


}  // namespace hd::config
