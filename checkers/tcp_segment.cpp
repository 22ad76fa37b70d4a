// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/tcp_segment.h"

#include <netinet/in.h>

#include <cstring>

#include "core/checksum.h"

namespace hd::checkers {
namespace {

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}

}  // namespace

void build_syn(std::span<uint8_t, kSynSize> out, uint16_t sport, uint16_t dport, uint32_t isn,
               const IpAddress& dst, const std::optional<IpAddress>& checksum_source) {
  uint8_t* p = out.data();
  std::memset(p, 0, kSynSize);
  put16(p, sport);
  put16(p + 2, dport);
  put32(p + 4, isn);
  put32(p + 8, 0);
  p[12] = uint8_t((kSynSize / 4) << 4);  // data offset, in 32-bit words
  p[13] = tcp_flags::syn;
  put16(p + 14, 64240);  // window
  // checksum at 16, urgent pointer at 18: zero
  p[20] = 2;  // MSS option, length 4
  p[21] = 4;
  put16(p + 22, dst.is_v4() ? 1460 : 1440);
  if (checksum_source)
    put16(p + 16, pseudo_header_checksum(*checksum_source, dst, IPPROTO_TCP, out));
}

std::optional<Segment> parse_tcp(std::span<const uint8_t> d) {
  if (d.size() < 20) return std::nullopt;
  size_t offset = size_t(d[12] >> 4) * 4;
  if (offset < 20 || offset > d.size()) return std::nullopt;
  Segment s;
  s.sport = get16(d.data());
  s.dport = get16(d.data() + 2);
  s.seq = get32(d.data() + 4);
  s.ack = get32(d.data() + 8);
  s.flags = d[13];
  return s;
}

std::optional<Ipv4Segment> parse_ipv4_tcp(std::span<const uint8_t> d) {
  if (d.size() < 20 || (d[0] >> 4) != 4) return std::nullopt;
  size_t ihl = size_t(d[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > d.size()) return std::nullopt;
  if (d[9] != 6) return std::nullopt;                   // not TCP
  if ((get16(d.data() + 6) & 0x1fff) != 0) return std::nullopt;  // not the first fragment
  size_t total = get16(d.data() + 2);
  if (total < ihl) return std::nullopt;
  size_t end = total < d.size() ? total : d.size();
  auto tcp = parse_tcp(d.subspan(ihl, end - ihl));
  if (!tcp) return std::nullopt;
  auto src = IpAddress::from_bytes(Family::v4, d.subspan(12, 4));
  if (!src) return std::nullopt;
  return Ipv4Segment{*src, *tcp};
}

std::optional<Quoted> parse_quoted_tcp(std::span<const uint8_t> d) {
  if (d.size() < 8) return std::nullopt;
  return Quoted{get16(d.data()), get16(d.data() + 2), get32(d.data() + 4)};
}

}  // namespace hd::checkers
