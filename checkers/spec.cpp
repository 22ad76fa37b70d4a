// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/spec.h"

#include <regex.h>

#include <algorithm>
#include <cctype>

#include "checkers/dns_message.h"
#include "checkers/http_match.h"
#include "core/text.h"

namespace hd::checkers {

std::string_view to_string(CheckType t) {
  switch (t) {
    case CheckType::tcp:
      return "tcp";
    case CheckType::http:
      return "http";
    case CheckType::https:
      return "https";
    case CheckType::script:
      return "script";
    case CheckType::udp:
      return "udp";
    case CheckType::ping:
      return "ping";
    case CheckType::smtp:
      return "smtp";
    case CheckType::dns:
      return "dns";
    case CheckType::file:
      return "file";
  }
  return "?";
}

std::string_view to_string(HttpMethod m) {
  return m == HttpMethod::head ? "HEAD" : "GET";
}

namespace {
bool bad_char(const std::string& v) {
  return std::any_of(v.begin(), v.end(), [](unsigned char c) { return c <= ' ' || c == 127; });
}
}  // namespace

std::optional<std::string> validate_body_regex(const std::string& re) {
  if (auto why = regex_guard(re)) return why;
  regex_t compiled;
  std::string why;
  if (compile_body_regex(re, &compiled, why) != 0) return why;
  regfree(&compiled);
  return std::nullopt;
}

std::optional<std::string> validate_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return "path must start with '/'";
  if (bad_char(path)) return "path holds blanks or control characters";
  return std::nullopt;
}

std::optional<std::string> validate_host(const std::string& host) {
  // A Host header: a name or an address, with an optional port; nothing that would end or
  // change a URL's authority.
  if (bad_char(host) || host.find_first_of("/\\#?@%") != std::string::npos)
    return "host holds blanks, control characters or one of / \\ # ? @ %";
  return std::nullopt;
}

std::optional<std::string> validate_sni(const std::string& sni) {
  if (sni.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
      std::string::npos)
    return "sni must be a host name (letters, digits, '.', '-', '_')";
  return std::nullopt;
}

std::optional<std::string> validate_helo_name(const std::string& name) {
  // The EHLO argument goes into the URL's path: a domain or address literal only.
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789._-[]:") != std::string::npos)
    return "helo_name must be a host name or an address literal";
  return std::nullopt;
}

std::optional<std::string> validate(const Spec& s) { return validate(s, endpoint_of(s)); }

std::optional<std::string> validate(const Spec& s, const Endpoint& target) {
  using std::chrono::milliseconds;
  if (s.interval < milliseconds(1)) return "interval below 1ms";
  if (s.timeout < milliseconds(1)) return "timeout below 1ms";
  if (s.rise < 1 || s.fall < 1) return "rise and fall must be at least 1";
  if (s.type == CheckType::script) {
    if (s.argv.empty() || s.argv[0].empty()) return "script: empty command";
    if (s.argv[0][0] != '/') return "script: command must be an absolute path";
    return std::nullopt;
  }
  if (s.type == CheckType::file) {
    if (!is_absolute_file_path(s.file_path))
      return "file: must be an absolute path to a file";
    return std::nullopt;
  }
  if (s.type == CheckType::ping) {
    if (s.source_address && s.source_address->family() != target.address.family())
      return "source_address family differs from the target's";
    return std::nullopt;
  }
  if (target.port == 0) return "port 0";
  if (s.source_address && s.source_address->family() != target.address.family())
    return "source_address family differs from the target's";
  if (s.type == CheckType::smtp) return validate_helo_name(s.helo_name);
  if (s.type == CheckType::dns) {
    if (target.port == 0) return "port 0";
    if (auto why = dns::validate_name(s.dns_name)) return "dns: " + *why;
    return std::nullopt;
  }
  if (s.type == CheckType::udp) {
    if (s.send.size() > 65507) return "send longer than a UDP datagram (65507 bytes)";
    if (s.expect.size() > 65507) return "expect longer than a UDP datagram (65507 bytes)";
    return std::nullopt;
  }
  if (s.type == CheckType::tcp) {
    if (!s.expect.empty() && s.expect.size() > 64 * 1024) return "expect longer than 64 KiB";
    if (s.half_open && (!s.send.empty() || !s.expect.empty()))
      return "a syn probe cannot send or expect bytes";
    return std::nullopt;
  }
  if (auto why = validate_path(s.path)) return why;
  if (auto why = validate_host(s.host)) return why;
  if (auto why = validate_sni(s.sni)) return why;
  for (auto& r : s.expect_status)
    if (r.lo < 100 || r.hi > 599 || r.lo > r.hi) return "bad expect_status range";
  if (!s.body_regex.empty())
    if (auto why = validate_body_regex(s.body_regex)) return why;
  if (s.method == HttpMethod::head &&
      (!s.body_contains.empty() || !s.body_regex.empty() || !s.body_sha256.empty()))
    return "body checks need method GET";
  if (!s.body_sha256.empty()) {
    if (s.body_sha256.size() != 64 ||
        !std::all_of(s.body_sha256.begin(), s.body_sha256.end(),
                     [](unsigned char c) { return std::isxdigit(c); }))
      return "body_sha256 must be 64 hex digits";
  }
  return std::nullopt;
}

}  // namespace hd::checkers
