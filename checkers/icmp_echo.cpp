// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/icmp_echo.h"

#include "core/checksum.h"

namespace hd::checkers::icmp {
namespace {

constexpr uint8_t kEchoRequest4 = 8, kEchoReply4 = 0, kUnreachable4 = 3, kTimeExceeded4 = 11;
constexpr uint8_t kEchoRequest6 = 128, kEchoReply6 = 129, kUnreachable6 = 1, kTimeExceeded6 = 3;

uint16_t be16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

// The echo request an ICMP error quotes: [IP header][8 bytes of our ICMP message].
bool quotes_ours(Family family, std::string_view inner, uint16_t id, uint16_t seq, bool check_id) {
  size_t ip_len;
  if (family == Family::v4) {
    if (inner.size() < 20) return false;
    const auto vihl = static_cast<uint8_t>(inner[0]);
    if ((vihl >> 4) != 4) return false;
    ip_len = static_cast<size_t>(vihl & 0x0f) * 4;
    if (ip_len < 20 || static_cast<uint8_t>(inner[9]) != 1 /* ICMP */) return false;
  } else {
    if (inner.size() < 40 || (static_cast<uint8_t>(inner[0]) >> 4) != 6) return false;
    ip_len = 40;
    if (static_cast<uint8_t>(inner[6]) != 58 /* ICMPv6, no extension headers */) return false;
  }
  if (inner.size() < ip_len + 8) return false;
  std::string_view echo = inner.substr(ip_len);
  const uint8_t want = family == Family::v4 ? kEchoRequest4 : kEchoRequest6;
  if (static_cast<uint8_t>(echo[0]) != want) return false;
  return (!check_id || be16(echo, 4) == id) && be16(echo, 6) == seq;
}

}  // namespace

std::string echo_request(Family family, uint16_t id, uint16_t seq, std::string_view payload) {
  std::string m(8, '\0');
  m[0] = static_cast<char>(family == Family::v4 ? kEchoRequest4 : kEchoRequest6);
  m[4] = static_cast<char>(id >> 8);
  m[5] = static_cast<char>(id & 0xff);
  m[6] = static_cast<char>(seq >> 8);
  m[7] = static_cast<char>(seq & 0xff);
  m.append(payload);
  if (family == Family::v4) {
    uint16_t sum = internet_checksum(
        std::span(reinterpret_cast<const uint8_t*>(m.data()), m.size()));
    m[2] = static_cast<char>(sum >> 8);
    m[3] = static_cast<char>(sum & 0xff);
  }
  return m;
}

Parsed parse(Family family, std::string_view p, bool with_ip_header, uint16_t id, uint16_t seq,
             bool check_id) {
  Parsed out;
  if (with_ip_header && family == Family::v4) {
    if (p.size() < 20) return out;
    const size_t ihl = static_cast<size_t>(static_cast<uint8_t>(p[0]) & 0x0f) * 4;
    if (ihl < 20 || p.size() < ihl) return out;
    p.remove_prefix(ihl);
  }
  if (p.size() < 8) return out;
  out.type = static_cast<uint8_t>(p[0]);
  out.code = static_cast<uint8_t>(p[1]);
  const bool v4 = family == Family::v4;
  if (out.type == (v4 ? kEchoReply4 : kEchoReply6)) {
    if ((!check_id || be16(p, 4) == id) && be16(p, 6) == seq) out.answer = Answer::reply;
    return out;
  }
  const bool error = v4 ? out.type == kUnreachable4 || out.type == kTimeExceeded4
                        : out.type == kUnreachable6 || out.type == kTimeExceeded6;
  if (error && quotes_ours(family, p.substr(8), id, seq, check_id)) out.answer = Answer::unreachable;
  return out;
}

}  // namespace hd::checkers::icmp
