// SPDX-License-Identifier: GPL-2.0-or-later
// vrrp::parse_received, the receive side of Socket::receive without the socket: the IPv4 header
// a raw socket delivers, the IPv6 source and control messages (hop limit, packet info).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string_view>

#include "vrrp/rules.h"
#include "tests/unit/seed_corpus.h"
#include "tests/unit/vrrp/wire.h"
#include "vrrp/socket.h"

namespace hd::vrrp {
namespace {

using namespace wire;

Bytes v3_advert(const IpAddress& src, const IpAddress& dst, const IpAddress& vip) {
  Advert a;
  a.vrid = 7;
  a.addresses.push_back(vip);
  return encode(a, src, dst);
}

// An IPv4 datagram as a raw socket delivers it: header (with `options` bytes of options), then
// the message, then `trailer` bytes past the total length (link-layer padding).
Bytes ipv4(const Bytes& message, uint8_t ttl = 255, size_t options = 0, size_t trailer = 0,
           uint8_t protocol = kIpProtocol) {
  const size_t ihl = 20 + options;
  const size_t total = ihl + message.size();
  Bytes d(ihl, 0);
  d[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
  d[1] = 0xc0;
  d[2] = static_cast<uint8_t>(total >> 8);
  d[3] = static_cast<uint8_t>(total);
  d[8] = ttl;
  d[9] = protocol;
  std::memcpy(&d[12], kV4Src.data(), 4);
  std::memcpy(&d[16], kV4Group.data(), 4);
  for (size_t i = 20; i < ihl; ++i) d[i] = 1;  // NOP options
  d.insert(d.end(), message.begin(), message.end());
  d.insert(d.end(), trailer, 0xee);
  return d;
}

sockaddr_storage from6(const IpAddress& a) {
  sockaddr_storage ss{};
  auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
  s6.sin6_family = AF_INET6;
  std::memcpy(&s6.sin6_addr, a.data(), 16);
  return ss;
}

// msg_control as the kernel fills it for IPV6_RECVHOPLIMIT + IPV6_RECVPKTINFO.
Bytes control6(int hop_limit, const IpAddress& dst, int ifindex) {
  alignas(cmsghdr) uint8_t buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr msg{};
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_HOPLIMIT;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &hop_limit, sizeof hop_limit);
  c = CMSG_NXTHDR(&msg, c);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo pi{};
  std::memcpy(&pi.ipi6_addr, dst.data(), 16);
  pi.ipi6_ifindex = static_cast<unsigned>(ifindex);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return Bytes(buf, buf + sizeof buf);
}

// A control buffer aligned for cmsghdr (a vector's storage is), of `b`'s first `n` bytes.
std::span<const uint8_t> first(const Bytes& b, size_t n) {
  return std::span<const uint8_t>(b.data(), n);
}

TEST(Receive, Ipv4HeaderIsStrippedAndReported) {
  const Bytes msg = v3_advert(kV4Src, kV4Group, ip("10.0.0.100"));
  auto p = parse_received(Family::v4, 4, ipv4(msg, 254), {}, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ifindex, 4);
  EXPECT_EQ(p->payload, msg);
  EXPECT_EQ(p->meta.ttl, 254);
  EXPECT_EQ(p->meta.source, kV4Src);
  EXPECT_EQ(p->meta.destination, kV4Group);
}

TEST(Receive, Ipv4OptionsAndPaddingPastTheTotalLengthAreNotPayload) {
  const Bytes msg = v3_advert(kV4Src, kV4Group, ip("10.0.0.100"));
  auto p = parse_received(Family::v4, 4, ipv4(msg, 255, 4, 6), {}, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload, msg);
  // A total length that cannot be (past the datagram, inside the header) reads as the datagram.
  Bytes d = ipv4(msg, 255, 0, 0);
  d[2] = 0xff;
  d[3] = 0xff;
  p = parse_received(Family::v4, 4, d, {}, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload, msg);
  d[2] = 0;
  d[3] = 10;
  p = parse_received(Family::v4, 4, d, {}, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload, msg);
}

TEST(Receive, Ipv4ThatIsNotVrrpOverIpIsRefused) {
  const Bytes msg = v3_advert(kV4Src, kV4Group, ip("10.0.0.100"));
  const Bytes good = ipv4(msg);
  EXPECT_FALSE(parse_received(Family::v4, 4, first(good, 19), {}, {}));  // shorter than a header
  Bytes d = good;
  d[0] = 0x65;  // version 6
  EXPECT_FALSE(parse_received(Family::v4, 4, d, {}, {}));
  d = good;
  d[0] = 0x44;  // IHL 16 bytes
  EXPECT_FALSE(parse_received(Family::v4, 4, d, {}, {}));
  d = good;
  d[0] = 0x4f;  // IHL 60 bytes, longer than the datagram
  EXPECT_FALSE(parse_received(Family::v4, 4, first(d, 40), {}, {}));
  EXPECT_FALSE(parse_received(Family::v4, 4, ipv4(msg, 255, 0, 0, IPPROTO_UDP), {}, {}));
}

TEST(Receive, Ipv6SourceAndControlMessages) {
  const Bytes msg = v3_advert(kV6Src, kV6Group, ip("2001:db8::100"));
  const Bytes control = control6(255, kV6Group, 4);
  auto p = parse_received(Family::v6, 4, msg, from6(kV6Src), control);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload, msg);
  EXPECT_EQ(p->meta.ttl, 255);
  EXPECT_EQ(p->meta.source, kV6Src);
  EXPECT_EQ(p->meta.destination, kV6Group);
  // No control messages: hop limit 0 (decode drops it), no destination.
  p = parse_received(Family::v6, 4, msg, from6(kV6Src), {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->meta.ttl, 0);
  EXPECT_EQ(p->meta.destination, IpAddress{});
}

// Found by tests/fuzz/vrrp_socket: a control message whose data is shorter than its type's was
// read in full, past the message (and past the buffer: a heap overflow under ASan).
TEST(Receive, Ipv6ControlMessageCutShortIsIgnored) {
  const Bytes msg = v3_advert(kV6Src, kV6Group, ip("2001:db8::100"));
  const Bytes control = control6(255, kV6Group, 4);
  // The hop limit's header, its data cut off by the end of the buffer.
  auto p = parse_received(Family::v6, 4, msg, from6(kV6Src), first(control, sizeof(cmsghdr) + 2));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->meta.ttl, 0);
  // A packet info that says it has no data, then a whole hop limit: the destination is not
  // read out of the hop limit's bytes.
  Bytes c2(CMSG_SPACE(0), 0);
  auto* h = reinterpret_cast<cmsghdr*>(c2.data());
  h->cmsg_len = CMSG_LEN(0);
  h->cmsg_level = IPPROTO_IPV6;
  h->cmsg_type = IPV6_PKTINFO;
  c2.insert(c2.end(), control.begin(), control.begin() + CMSG_SPACE(sizeof(int)));
  p = parse_received(Family::v6, 4, msg, from6(kV6Src), c2);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->meta.destination, IpAddress{});
  EXPECT_EQ(p->meta.ttl, 255);
}

// The fuzzer's seeds (tests/fuzz/vrrp_socket/corpus) are datagrams as the kernel delivers them,
// in vrrp_socket_fuzz.cpp's layout: selector (bit 0: IPv6), then for IPv4 the datagram, for
// IPv6 the control length, the control messages, the source, the message.
// HD_WRITE_CORPUS=1 rewrites the files (tests/unit/seed_corpus.h).
TEST(FuzzCorpus, SocketSeedsAreKernelDatagrams) {
  auto v6_seed = [](const Bytes& message) {
    const Bytes control = control6(255, kV6Group, 4);
    Bytes seed{1, static_cast<uint8_t>(control.size())};
    seed.insert(seed.end(), control.begin(), control.end());
    seed.insert(seed.end(), kV6Src.data(), kV6Src.data() + 16);
    seed.insert(seed.end(), message.begin(), message.end());
    return seed;
  };
  auto v4_seed = [](const Bytes& datagram) {
    Bytes seed{0};
    seed.insert(seed.end(), datagram.begin(), datagram.end());
    return seed;
  };
  Advert v2;
  v2.version = Version::v2;
  v2.vrid = 9;
  v2.addresses = {ip("10.0.0.100"), ip("10.0.0.101")};
  const std::pair<const char*, Bytes> seeds[] = {
      {"v2_ipv4", v4_seed(ipv4(encode(v2, kV4Src, kV4Group)))},
      {"v3_ipv4_options_padding",
       v4_seed(ipv4(v3_advert(kV4Src, kV4Group, ip("10.0.0.100")), 255, 4, 6))},
      {"v3_ipv6", v6_seed(v3_advert(kV6Src, kV6Group, ip("2001:db8::100")))},
  };
  for (const auto& [name, seed] : seeds) {
    SCOPED_TRACE(name);
    hd::corpus::expect_seed(HD_VRRP_SOCKET_CORPUS_DIR, name, seed);
    // And each parses, and decodes, as the engine would see it.
    const bool v6 = seed[0] & 1;
    Bytes control;
    sockaddr_storage from{};
    std::span<const uint8_t> datagram(seed.data() + 1, seed.size() - 1);
    if (v6) {
      control.assign(seed.begin() + 2, seed.begin() + 2 + seed[1]);
      from = from6(kV6Src);
      datagram = datagram.subspan(1 + seed[1] + 16);
    }
    auto p = parse_received(v6 ? Family::v6 : Family::v4, 4, datagram, from, control);
    ASSERT_TRUE(p);
    ExpectedParams x;
    x.family = v6 ? Family::v6 : Family::v4;
    x.version = p->payload[0] >> 4 == 2 ? Version::v2 : Version::v3;
    x.vrid = peek_vrid(p->payload).value_or(0);
    EXPECT_TRUE(decode(p->payload, p->meta, x).ok());
  }
}

}  // namespace
}  // namespace hd::vrrp
