// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/dns_message.h"

#include <array>
#include <cctype>
#include <utility>

namespace hd::checkers::dns {
namespace {

constexpr std::array<std::pair<std::string_view, uint16_t>, 9> kTypes = {{
    {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"PTR", 12}, {"MX", 15}, {"TXT", 16},
    {"AAAA", 28}, {"SRV", 33}}};

std::string_view without_final_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

uint16_t be16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

}  // namespace

std::optional<uint16_t> parse_type(std::string_view name) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto& [n, v] : kTypes)
    if (up == n) return v;
  if (up.rfind("TYPE", 0) == 0 && up.size() > 4 && up.size() <= 9) {
    unsigned long v = 0;
    for (size_t i = 4; i < up.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(up[i]))) return std::nullopt;
      v = v * 10 + static_cast<unsigned long>(up[i] - '0');
    }
    if (v >= 1 && v <= 65535) return static_cast<uint16_t>(v);
  }
  return std::nullopt;
}

std::string type_name(uint16_t type) {
  for (auto& [n, v] : kTypes)
    if (v == type) return std::string(n);
  return "TYPE" + std::to_string(type);
}

std::optional<std::string> validate_name(std::string_view name) {
  if (name == ".") return std::nullopt;  // the root (keepalived's default name)
  name = without_final_dot(name);
  if (name.empty()) return "the name is empty";
  if (name.size() > 253) return "the name is longer than 253 characters";
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0) return "the name has an empty label";
      if (label > 63) return "a label is longer than 63 characters";
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c) && c != '-' && c != '_')
      return "the name holds a character other than letters, digits, '-', '_' and dots";
    ++label;
  }
  return std::nullopt;
}

std::string query(uint16_t id, std::string_view name, uint16_t type) {
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xff);
  q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);  // RD; QDCOUNT 1
  name = without_final_dot(name);
  size_t start = 0;
  while (start <= name.size() && !name.empty()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q.append(name.substr(start, dot - start));
    start = dot + 1;
    if (dot == name.size()) break;
  }
  q += '\0';
  q += static_cast<char>(type >> 8);
  q += static_cast<char>(type & 0xff);
  q += std::string("\x00\x01", 2);  // class IN
  return q;
}

Judged judge(std::string_view p, uint16_t id, std::string_view name, uint16_t type) {
  Judged out;
  if (p.size() < 12 || be16(p, 0) != id) return out;
  const auto flags = be16(p, 2);
  if (!(flags & 0x8000)) return out;  // a query, not a response
  if (be16(p, 4) != 1) return out;    // our query asked one question
  // The question must be ours, compared case-insensitively (RFC 4343).
  size_t at = 12;
  std::string asked;
  for (int labels = 0;; ++labels) {
    if (at >= p.size() || labels > 127) return out;
    const auto len = static_cast<uint8_t>(p[at++]);
    if (len == 0) break;
    if (len > 63 || at + len > p.size()) return out;  // no compression in a question we sent
    if (!asked.empty()) asked += '.';
    asked.append(p.substr(at, len));
    at += len;
  }
  if (at + 4 > p.size() || be16(p, at) != type || be16(p, at + 2) != 1) return out;
  name = without_final_dot(name);
  if (asked.size() != name.size()) return out;
  for (size_t i = 0; i < asked.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(asked[i])) !=
        std::tolower(static_cast<unsigned char>(name[i])))
      return out;
  out.truncated = flags & 0x0200;
  out.rcode = flags & 0x000f;
  if (out.rcode != 0) out.verdict = Verdict::error;
  else out.verdict = be16(p, 6) > 0 ? Verdict::answered : Verdict::no_answer;
  return out;
}

std::string rcode_name(int rcode) {
  static constexpr std::array<std::string_view, 6> kNames = {"NOERROR", "FORMERR", "SERVFAIL",
                                                            "NXDOMAIN", "NOTIMP", "REFUSED"};
  if (rcode >= 0 && rcode < static_cast<int>(kNames.size())) return std::string(kNames[rcode]);
  return std::to_string(rcode);
}

}  // namespace hd::checkers::dns
