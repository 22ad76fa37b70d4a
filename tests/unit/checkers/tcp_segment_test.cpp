// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/tcp_segment.h"
#include "core/checksum.h"

#include <gtest/gtest.h>

#include <vector>

namespace hd::checkers {
namespace {

// RFC 1071 the slow way, byte by byte, for comparison.
uint16_t reference_checksum(const IpAddress& src, const IpAddress& dst,
                            const std::vector<uint8_t>& seg) {
  std::vector<uint8_t> buf;
  buf.insert(buf.end(), src.bytes().begin(), src.bytes().end());
  buf.insert(buf.end(), dst.bytes().begin(), dst.bytes().end());
  if (src.is_v4()) {
    buf.insert(buf.end(), {0, 6, uint8_t(seg.size() >> 8), uint8_t(seg.size())});
  } else {
    buf.insert(buf.end(), {0, 0, uint8_t(seg.size() >> 8), uint8_t(seg.size()), 0, 0, 0, 6});
  }
  buf.insert(buf.end(), seg.begin(), seg.end());
  if (buf.size() % 2) buf.push_back(0);
  uint32_t sum = 0;
  for (size_t i = 0; i < buf.size(); i += 2) {
    sum += uint32_t(buf[i]) << 8 | buf[i + 1];
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return uint16_t(~sum);
}

std::vector<uint8_t> syn(uint16_t sport, uint16_t dport, uint32_t isn, const IpAddress& dst,
                         std::optional<IpAddress> src) {
  std::vector<uint8_t> out(kSynSize);
  build_syn(std::span<uint8_t, kSynSize>(out.data(), kSynSize), sport, dport, isn, dst, src);
  return out;
}

TEST(TcpSegment, SynFields) {
  auto dst = *IpAddress::parse("192.0.2.10");
  auto s = syn(40001, 80, 0x01020304, dst, std::nullopt);
  auto p = parse_tcp(s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->sport, 40001);
  EXPECT_EQ(p->dport, 80);
  EXPECT_EQ(p->seq, 0x01020304u);
  EXPECT_EQ(p->ack, 0u);
  EXPECT_EQ(p->flags, tcp_flags::syn);
  EXPECT_EQ(s[12] >> 4, 6);  // 24 bytes of header
  EXPECT_EQ(s[20], 2);       // MSS option
  EXPECT_EQ(s[22] << 8 | s[23], 1460);
  EXPECT_EQ(s[16], 0);  // no source: checksum left to the kernel
  EXPECT_EQ(s[17], 0);
}

TEST(TcpSegment, Ipv4ChecksumMatchesTheReference) {
  auto src = *IpAddress::parse("10.1.2.3");
  auto dst = *IpAddress::parse("192.0.2.10");
  for (uint32_t isn : {0u, 1u, 0xffffffffu, 0x8000ffffu, 0x12345678u}) {
    auto s = syn(61000, 443, isn, dst, src);
    uint16_t got = uint16_t(s[16] << 8 | s[17]);
    s[16] = s[17] = 0;
    EXPECT_EQ(got, reference_checksum(src, dst, s)) << isn;
    s[16] = uint8_t(got >> 8);
    s[17] = uint8_t(got);
    // A segment carrying its right checksum sums to zero.
    EXPECT_EQ(pseudo_header_checksum(src, dst, IPPROTO_TCP, s), 0) << isn;
  }
}

TEST(TcpSegment, Ipv6Checksum) {
  auto src = *IpAddress::parse("2001:db8::1");
  auto dst = *IpAddress::parse("2001:db8::ff:10");
  auto s = syn(33333, 8080, 0xdeadbeef, dst, src);
  uint16_t got = uint16_t(s[16] << 8 | s[17]);
  s[16] = s[17] = 0;
  EXPECT_EQ(got, reference_checksum(src, dst, s));
  EXPECT_EQ(s[22] << 8 | s[23], 1440);
}

TEST(TcpSegment, OddLengthChecksum) {
  auto src = *IpAddress::parse("10.0.0.1");
  auto dst = *IpAddress::parse("10.0.0.2");
  std::vector<uint8_t> seg = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(pseudo_header_checksum(src, dst, IPPROTO_TCP, seg), reference_checksum(src, dst, seg));
}

std::vector<uint8_t> ipv4_packet(uint8_t proto, uint16_t frag, std::vector<uint8_t> tcp,
                                 uint8_t ihl_words = 5) {
  std::vector<uint8_t> p(ihl_words * 4, 0);
  p[0] = uint8_t(0x40 | ihl_words);
  size_t total = p.size() + tcp.size();
  p[2] = uint8_t(total >> 8);
  p[3] = uint8_t(total);
  p[6] = uint8_t(frag >> 8);
  p[7] = uint8_t(frag);
  p[8] = 64;
  p[9] = proto;
  p[12] = 192, p[13] = 0, p[14] = 2, p[15] = 10;
  p[16] = 10, p[17] = 1, p[18] = 2, p[19] = 3;
  p.insert(p.end(), tcp.begin(), tcp.end());
  return p;
}

std::vector<uint8_t> syn_ack(uint32_t seq, uint32_t ack) {
  std::vector<uint8_t> t(20, 0);
  t[0] = 0, t[1] = 80;                    // sport 80
  t[2] = 0x9c, t[3] = 0x41;               // dport 40001
  t[4] = uint8_t(seq >> 24), t[5] = uint8_t(seq >> 16), t[6] = uint8_t(seq >> 8), t[7] = uint8_t(seq);
  t[8] = uint8_t(ack >> 24), t[9] = uint8_t(ack >> 16), t[10] = uint8_t(ack >> 8), t[11] = uint8_t(ack);
  t[12] = 5 << 4;
  t[13] = tcp_flags::syn | tcp_flags::ack;
  return t;
}

TEST(TcpSegment, ParsesAnIpv4SynAck) {
  auto p = parse_ipv4_tcp(ipv4_packet(6, 0x4000, syn_ack(7, 0x01020305)));  // DF set
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source.str(), "192.0.2.10");
  EXPECT_EQ(p->tcp.sport, 80);
  EXPECT_EQ(p->tcp.dport, 40001);
  EXPECT_EQ(p->tcp.ack, 0x01020305u);
  EXPECT_TRUE(p->tcp.is_syn_ack());
  EXPECT_FALSE(p->tcp.is_rst());
  // With IP options.
  auto q = parse_ipv4_tcp(ipv4_packet(6, 0, syn_ack(7, 9), 6));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->tcp.ack, 9u);
}

TEST(TcpSegment, RefusesWhatIsNotATcpSegment) {
  EXPECT_FALSE(parse_ipv4_tcp(ipv4_packet(17, 0, syn_ack(1, 2))));        // UDP
  EXPECT_FALSE(parse_ipv4_tcp(ipv4_packet(6, 0x0010, syn_ack(1, 2))));    // later fragment
  auto truncated = ipv4_packet(6, 0, syn_ack(1, 2));
  truncated.resize(30);
  EXPECT_FALSE(parse_ipv4_tcp(truncated));
  auto bad_ihl = ipv4_packet(6, 0, syn_ack(1, 2));
  bad_ihl[0] = 0x44;  // 16-byte header: invalid
  EXPECT_FALSE(parse_ipv4_tcp(bad_ihl));
  auto v6 = ipv4_packet(6, 0, syn_ack(1, 2));
  v6[0] = 0x65;
  EXPECT_FALSE(parse_ipv4_tcp(v6));
  auto bad_offset = syn_ack(1, 2);
  bad_offset[12] = 0xf0;  // 60-byte header in a 20-byte segment
  EXPECT_FALSE(parse_tcp(bad_offset));
  EXPECT_FALSE(parse_tcp(std::vector<uint8_t>(19, 0)));
  EXPECT_FALSE(parse_quoted_tcp(std::vector<uint8_t>(7, 0)));
}

TEST(TcpSegment, QuotedHeader) {
  auto s = syn(40001, 80, 0xa0b0c0d0, *IpAddress::parse("192.0.2.1"), std::nullopt);
  auto q = parse_quoted_tcp(std::span<const uint8_t>(s.data(), 8));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->sport, 40001);
  EXPECT_EQ(q->dport, 80);
  EXPECT_EQ(q->seq, 0xa0b0c0d0u);
}

TEST(TcpSegment, RstFlags) {
  auto t = syn_ack(0, 5);
  t[13] = tcp_flags::rst | tcp_flags::ack;
  auto p = parse_tcp(t);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_rst());
  EXPECT_FALSE(p->is_syn_ack());
}

}  // namespace
}  // namespace hd::checkers
