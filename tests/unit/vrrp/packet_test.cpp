// SPDX-License-Identifier: GPL-2.0-or-later
// Wire format tests, written from RFC 3768 section 5 / 7.1 and RFC 5798 section 5 / 7.1.
#include "vrrp/packet.h"

#include "core/checksum.h"
#include "tests/unit/seed_corpus.h"
#include "tests/unit/vrrp/wire.h"
#include "vrrp/rules.h"

#include <gtest/gtest.h>

#include <set>

namespace hd::vrrp {
namespace {

using namespace wire;

RxMeta meta(const IpAddress& src, const IpAddress& dst, uint8_t ttl = 255) {
  return RxMeta{src, dst, ttl};
}

// RFC 3768 5.1 layout, worked by hand.
//   21 01 64 01 00 01 cs cs | c0 a8 00 01 | 00 x 8 (auth data)
//   version 2, type 1, VRID 1, priority 100, 1 address, auth type 0, Adver Int 1 s.
// Checksum over the VRRP message alone (RFC 3768 5.3.8), 16-bit words with checksum = 0:
//   0x2101 + 0x6401 + 0x0001 + 0xc0a8 + 0x0001 = 0x145ac; fold: 0x45ac + 0x1 = 0x45ad;
//   one's complement: ~0x45ad = 0xba52.
const Bytes kV2Packet = {0x21, 0x01, 0x64, 0x01, 0x00, 0x01, 0xba, 0x52, 0xc0, 0xa8,
                         0x00, 0x01, 0,    0,    0,    0,    0,    0,    0,    0};

Advert v2Advert() {
  Advert a;
  a.version = Version::v2;
  a.vrid = 1;
  a.priority = 100;
  a.advert_int_s = 1;
  a.addresses = {ip("192.168.0.1")};
  return a;
}

ExpectedParams v2Expect() {
  ExpectedParams e;
  e.version = Version::v2;
  e.family = Family::v4;
  e.vrid = 1;
  e.advert_int_s = 1;
  return e;
}

// RFC 5798 5.1 layout over IPv4, src 10.0.0.1, dst 224.0.0.18:
//   31 01 64 01 00 64 cs cs | 0a 00 00 64
//   version 3, type 1, VRID 1, priority 100, 1 address, Max Adver Int 100 cs, 10.0.0.100.
// RFC 5798 5.2.8 sums the IPv4 pseudo-header first (src, dst, 0, 112, length 12):
//   0x0a00 + 0x0001 + 0xe000 + 0x0012 + 0x0070 + 0x000c = 0xea8f
// then the message: 0x3101 + 0x6401 + 0x0064 + 0x0a00 + 0x0064 = 0x9fca.
//   0xea8f + 0x9fca = 0x18a59; fold: 0x8a5a; ~0x8a5a = 0x75a5.
const Bytes kV3V4Packet = {0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0x75, 0xa5, 0x0a, 0x00, 0x00, 0x64};

Advert v3V4Advert() {
  Advert a;
  a.version = Version::v3;
  a.vrid = 1;
  a.priority = 100;
  a.max_advert_int_cs = 100;
  a.addresses = {ip("10.0.0.100")};
  return a;
}

ExpectedParams v3Expect(Family f, uint8_t vrid) {
  ExpectedParams e;
  e.version = Version::v3;
  e.family = f;
  e.vrid = vrid;
  return e;
}

// RFC 5798 5.1 layout over IPv6, src fe80::1, dst ff02::12:
//   31 02 c8 01 00 64 cs cs | 2001:0db8::1 (16 bytes)
// IPv6 pseudo-header (RFC 8200 8.1): src, dst, length 24 as 32 bits, 3 zero bytes, 112:
//   0xfe80 + 0x0001 + 0xff02 + 0x0012 + 0x0018 + 0x0070 = 0x1fe1d
// message: 0x3102 + 0xc801 + 0x0064 + 0x2001 + 0x0db8 + 0x0001 = 0x12721
//   0x1fe1d + 0x12721 = 0x3253e; fold: 0x2541; ~0x2541 = 0xdabe.
const Bytes kV3V6Packet = {0x31, 0x02, 0xc8, 0x01, 0x00, 0x64, 0xda, 0xbe, 0x20, 0x01, 0x0d, 0xb8,
                           0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x01};

Advert v3V6Advert() {
  Advert a;
  a.version = Version::v3;
  a.vrid = 2;
  a.priority = 200;
  a.max_advert_int_cs = 100;
  a.addresses = {ip("2001:db8::1")};
  return a;
}

// An independent recomputation of the checksum field, for tests that edit bytes on purpose.
void fixChecksum(Bytes& p, Version v, const IpAddress& src, const IpAddress& dst) {
  p[6] = p[7] = 0;
  Bytes sum_over;
  if (v == Version::v3) {
    sum_over.insert(sum_over.end(), src.bytes().begin(), src.bytes().end());
    sum_over.insert(sum_over.end(), dst.bytes().begin(), dst.bytes().end());
    if (src.is_v4()) {
      sum_over.insert(sum_over.end(), {0, 112, 0, static_cast<uint8_t>(p.size())});
    } else {
      sum_over.insert(sum_over.end(), {0, 0, 0, static_cast<uint8_t>(p.size()), 0, 0, 0, 112});
    }
  }
  sum_over.insert(sum_over.end(), p.begin(), p.end());
  const uint16_t c = internet_checksum(sum_over);
  p[6] = static_cast<uint8_t>(c >> 8);
  p[7] = static_cast<uint8_t>(c);
}

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddress::parse("192.0.2.7");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), Family::v4);
  EXPECT_EQ(Bytes(v4->bytes().begin(), v4->bytes().end()), (Bytes{192, 0, 2, 7}));
  EXPECT_EQ(v4->str(), "192.0.2.7");
  EXPECT_EQ(*v4, IpAddress::of(192, 0, 2, 7));

  auto v6 = IpAddress::parse("2001:DB8:0:0::42");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family(), Family::v6);
  EXPECT_EQ(v6->bytes().size(), 16u);
  EXPECT_EQ(v6->str(), "2001:db8::42");

  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("10.0.0"));
  EXPECT_FALSE(IpAddress::parse("10.0.0.256"));
  EXPECT_FALSE(IpAddress::parse("::g"));
  EXPECT_EQ(IpAddress().str(), "0.0.0.0");
}

TEST(IpAddress, FromBytesNeedsTheFamilySize) {
  const uint8_t b[16] = {10, 0, 0, 1};
  EXPECT_EQ(IpAddress::from_bytes(Family::v4, std::span(b, 4)), ip("10.0.0.1"));
  EXPECT_FALSE(IpAddress::from_bytes(Family::v4, std::span(b, 5)));
  EXPECT_FALSE(IpAddress::from_bytes(Family::v6, std::span(b, 4)));
  EXPECT_EQ(IpAddress::from_bytes(Family::v6, std::span(b, 16))->str(), "a00:1::");
}

// RFC 5798 6.4.3: "the primary IPvX Address of the sender is greater than the local primary
// IPvX Address": numeric comparison, not text.
TEST(IpAddress, OrdersNumericallyWithinAFamily) {
  EXPECT_LT(ip("10.0.0.9"), ip("10.0.0.10"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_GT(ip("192.168.1.1"), ip("192.168.0.255"));
  EXPECT_LT(ip("fe80::9"), ip("fe80::10"));
  EXPECT_LT(ip("fe80::ffff"), ip("fe80::1:0"));
  EXPECT_LT(ip("255.255.255.255"), ip("::"));  // families never tie
  EXPECT_NE(ip("0.0.0.0"), ip("::"));
}

// RFC 1071 section 3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
TEST(Checksum, Rfc1071Example) {
  const Bytes b = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(internet_checksum(b), static_cast<uint16_t>(~0xddf2));
}

// RFC 1071: an odd trailing byte is summed as if followed by a zero byte.
TEST(Checksum, OddLengthPadsWithZero) {
  EXPECT_EQ(internet_checksum(Bytes{0x01, 0x02, 0x03}), 0xfbfd);  // ~(0x0102 + 0x0300)
  EXPECT_EQ(internet_checksum(Bytes{0x01, 0x02, 0x03}),
            internet_checksum(Bytes{0x01, 0x02, 0x03, 0}));
  EXPECT_EQ(internet_checksum(Bytes{0xff}), 0x00ff);
  EXPECT_EQ(internet_checksum(Bytes{}), 0xffff);
  // Carries fold back in: 0xffff + 0x0001 = 0x10000 -> 0x0001.
  EXPECT_EQ(internet_checksum(Bytes{0xff, 0xff, 0x00, 0x01}), 0xfffe);
}

TEST(Checksum, ABufferWithItsChecksumSumsToZero) {
  EXPECT_EQ(internet_checksum(kV2Packet), 0);
}

TEST(Encode, V2MatchesHandBuiltBytes) {
  EXPECT_EQ(encode(v2Advert(), kV4Src, kV4Group), kV2Packet);
  // v2 has no pseudo-header: the IP addresses do not change the bytes.
  EXPECT_EQ(encode(v2Advert(), ip("10.9.9.9"), ip("10.8.8.8")), kV2Packet);
}

TEST(Encode, V3Ipv4MatchesHandBuiltBytes) {
  EXPECT_EQ(encode(v3V4Advert(), kV4Src, kV4Group), kV3V4Packet);
}

TEST(Encode, V3Ipv6MatchesHandBuiltBytes) {
  EXPECT_EQ(encode(v3V6Advert(), kV6Src, kV6Group), kV3V6Packet);
}

// RFC 5798 5.2.8: the pseudo-header takes part, so the same advert to another destination
// (unicast peer) has another checksum.
TEST(Encode, V3ChecksumCoversThePseudoHeader) {
  const Bytes unicast = encode(v3V4Advert(), kV4Src, ip("10.0.0.2"));
  ASSERT_EQ(unicast.size(), kV3V4Packet.size());
  EXPECT_NE(unicast, kV3V4Packet);
  EXPECT_TRUE(std::equal(unicast.begin(), unicast.begin() + 6, kV3V4Packet.begin()));
}

// RFC 3768 5.3.10 (RFC 2338 5.3.6.1): with Auth Type 1 the password goes in Authentication
// Data, zero padded to 8 bytes.
TEST(Encode, V2SimplePassword) {
  Advert a = v2Advert();
  a.vrid = 7;
  a.priority = 150;
  a.auth_type = 1;
  a.advert_int_s = 2;
  a.auth_data = make_password("secret");
  a.addresses = {ip("10.0.0.1"), ip("10.0.0.2")};
  const Bytes want = {0x21, 7, 150, 2, 1,   2,   0xf7, 0xa4, 10,  0,   0, 1,
                      10,   0, 0,   2, 's', 'e', 'c',  'r',  'e', 't', 0, 0};
  EXPECT_EQ(encode(a, kV4Src, kV4Group), want);
}

// RFC 3768 5.3.10: with Auth Type 0 Authentication Data "MUST be set to zero on transmission".
TEST(Encode, V2NoAuthZeroesAuthData) {
  Advert a = v2Advert();
  a.auth_data = make_password("leak");
  EXPECT_EQ(encode(a, kV4Src, kV4Group), kV2Packet);
}

TEST(Encode, RefusesWhatTheWireCannotCarry) {
  Advert v2_over_v6 = v2Advert();
  v2_over_v6.addresses = {ip("2001:db8::1")};
  EXPECT_TRUE(encode(v2_over_v6, kV6Src, kV6Group).empty());
  EXPECT_TRUE(encode(v2Advert(), kV6Src, kV6Group).empty());

  Advert mixed = v3V4Advert();
  mixed.addresses.push_back(ip("2001:db8::1"));
  EXPECT_TRUE(encode(mixed, kV4Src, kV4Group).empty());
  EXPECT_TRUE(encode(v3V4Advert(), kV4Src, kV6Group).empty());

  Advert too_many = v3V4Advert();
  too_many.addresses.assign(256, ip("10.0.0.1"));
  EXPECT_TRUE(encode(too_many, kV4Src, kV4Group).empty());
  too_many.addresses.resize(255);
  EXPECT_EQ(encode(too_many, kV4Src, kV4Group).size(), 8u + 255 * 4);

  Advert slow = v3V4Advert();
  slow.max_advert_int_cs = 4096;  // 12-bit field
  EXPECT_TRUE(encode(slow, kV4Src, kV4Group).empty());
  slow.max_advert_int_cs = 4095;
  EXPECT_FALSE(encode(slow, kV4Src, kV4Group).empty());

  Advert bad_version = v3V4Advert();
  bad_version.version = static_cast<Version>(4);
  EXPECT_TRUE(encode(bad_version, kV4Src, kV4Group).empty());
}

TEST(Decode, V2HandBuiltPacket) {
  DecodeResult r = decode(kV2Packet, meta(kV4Src, kV4Group), v2Expect());
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r.advert(), v2Advert());
  EXPECT_EQ(r.advert().interval(), std::chrono::seconds(1));
}

TEST(Decode, V3Ipv4HandBuiltPacket) {
  DecodeResult r = decode(kV3V4Packet, meta(kV4Src, kV4Group), v3Expect(Family::v4, 1));
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r.advert(), v3V4Advert());
  EXPECT_EQ(r.advert().interval(), std::chrono::seconds(1));
}

TEST(Decode, V3Ipv6HandBuiltPacket) {
  DecodeResult r = decode(kV3V6Packet, meta(kV6Src, kV6Group), v3Expect(Family::v6, 2));
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r.advert(), v3V6Advert());
}

struct RoundTripCase {
  const char* name;
  Advert advert;
  IpAddress src;
  IpAddress dst;
};

TEST(RoundTrip, DecodeOfEncodeIsIdentity) {
  Advert many = v3V6Advert();
  for (int i = 0; i < 20; ++i) {
    many.addresses.push_back(*IpAddress::parse("2001:db8::" + std::to_string(100 + i)));
  }
  Advert none = v3V4Advert();
  none.addresses.clear();
  Advert fast = v3V4Advert();
  fast.max_advert_int_cs = 1;
  Advert slow = v3V4Advert();
  slow.max_advert_int_cs = 4095;
  slow.priority = 255;
  Advert leaving = v3V4Advert();
  leaving.priority = 0;
  Advert pw = v2Advert();
  pw.auth_type = 1;
  pw.auth_data = make_password("12345678");
  pw.advert_int_s = 255;
  pw.vrid = 255;
  Advert v2none = v2Advert();
  v2none.addresses.clear();

  const RoundTripCase cases[] = {
      {"v2", v2Advert(), kV4Src, kV4Group},
      {"v2 password", pw, kV4Src, kV4Group},
      {"v2 no addresses", v2none, kV4Src, kV4Group},
      {"v3 v4", v3V4Advert(), kV4Src, kV4Group},
      {"v3 v4 unicast", v3V4Advert(), kV4Src, ip("10.0.0.3")},
      {"v3 v6", v3V6Advert(), kV6Src, kV6Group},
      {"v3 v6 many", many, kV6Src, kV6Group},
      {"v3 no addresses", none, kV4Src, kV4Group},
      {"v3 1 cs", fast, kV4Src, kV4Group},
      {"v3 4095 cs owner", slow, kV4Src, kV4Group},
      {"v3 priority 0", leaving, kV4Src, kV4Group},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes wire = encode(c.advert, c.src, c.dst);
    ASSERT_FALSE(wire.empty());
    ExpectedParams e;
    e.version = c.advert.version;
    e.family = c.src.family();
    e.vrid = c.advert.vrid;
    e.auth_type = c.advert.auth_type;
    e.auth_password = c.advert.auth_data;
    e.advert_int_s = c.advert.advert_int_s;
    DecodeResult r = decode(wire, meta(c.src, c.dst), e);
    ASSERT_TRUE(r.ok()) << r.reason();
    EXPECT_EQ(r.advert(), c.advert);
  }
}

struct DropCase {
  const char* rfc;  // the sentence being checked
  Bytes packet;
  RxMeta meta;
  ExpectedParams expect;
  DropReason want;
};

Bytes edited(Bytes p, size_t at, uint8_t value) {
  p[at] = value;
  return p;
}

TEST(Decode, EachDropReason) {
  const RxMeta v4 = meta(kV4Src, kV4Group);
  const RxMeta v6 = meta(kV6Src, kV6Group);
  const ExpectedParams v3v4 = v3Expect(Family::v4, 1);
  const ExpectedParams v3v6 = v3Expect(Family::v6, 2);

  Advert pw = v2Advert();
  pw.auth_type = 1;
  pw.auth_data = make_password("secret");
  const Bytes pw_packet = encode(pw, kV4Src, kV4Group);
  ExpectedParams pw_expect = v2Expect();
  pw_expect.auth_type = 1;
  pw_expect.auth_password = make_password("secret");
  ExpectedParams wrong_pw = pw_expect;
  wrong_pw.auth_password = make_password("secreT");
  ExpectedParams interval2 = v2Expect();
  interval2.advert_int_s = 2;
  ExpectedParams v2_on_v6 = v2Expect();
  v2_on_v6.family = Family::v6;

  Advert zero_interval = v3V4Advert();
  zero_interval.max_advert_int_cs = 0;

  Bytes bad_sum = kV3V4Packet;
  bad_sum[9] ^= 0x01;
  Bytes extra = kV3V4Packet;
  extra.push_back(0);
  Bytes more_addrs_than_bytes = kV3V4Packet;
  more_addrs_than_bytes[3] = 2;
  fixChecksum(more_addrs_than_bytes, Version::v3, kV4Src, kV4Group);
  Bytes v2_without_auth(kV2Packet.begin(), kV2Packet.end() - 8);

  const DropCase cases[] = {
      {"7.1: MUST verify that the IP TTL is 255", kV2Packet, meta(kV4Src, kV4Group, 254),
       v2Expect(), DropReason::ttl},
      {"7.1: verify the IPv6 Hop Limit is 255", kV3V6Packet, meta(kV6Src, kV6Group, 1), v3v6,
       DropReason::ttl},
      {"VRIDs of IPv4 and IPv6 are separate", kV3V4Packet, v4, v3v6, DropReason::address_family},
      {"src and dst of one family", kV3V4Packet, meta(kV4Src, kV6Group), v3v4,
       DropReason::address_family},
      {"VRRPv2 is IPv4 only", kV2Packet, v6, v2_on_v6, DropReason::address_family},
      {"7.1: MUST verify the VRRP version is 2", kV3V4Packet, v4, v2Expect(), DropReason::version},
      {"7.1: MUST verify the VRRP version is 3", kV2Packet, v4, v3v4, DropReason::version},
      {"version 1", edited(kV2Packet, 0, 0x11), v4, v2Expect(), DropReason::version},
      {"5.2.2: type 1 is the only type", edited(kV3V4Packet, 0, 0x32), v4, v3v4, DropReason::type},
      {"type 0", edited(kV2Packet, 0, 0x20), v4, v2Expect(), DropReason::type},
      {"7.1: contains the complete VRRP packet", Bytes(kV3V4Packet.begin(), kV3V4Packet.end() - 1),
       v4, v3v4, DropReason::length},
      {"trailing garbage", extra, v4, v3v4, DropReason::length},
      {"Count IPvX Addrs says 2, one present", more_addrs_than_bytes, v4, v3v4, DropReason::length},
      {"v2 must carry Authentication Data", v2_without_auth, v4, v2Expect(), DropReason::length},
      {"IPv4-sized addresses in an IPv6 packet", kV3V4Packet, v6, v3v6, DropReason::length},
      {"7.1: MUST verify the VRRP checksum", bad_sum, v4, v3v4, DropReason::checksum},
      {"v2 checksum", edited(kV2Packet, 2, 101), v4, v2Expect(), DropReason::checksum},
      {"v3 pseudo-header: other destination", kV3V4Packet, meta(kV4Src, ip("224.0.0.19")), v3v4,
       DropReason::checksum},
      {"v3 pseudo-header: other source", kV3V6Packet, meta(ip("fe80::2"), kV6Group), v3v6,
       DropReason::checksum},
      {"7.1: VRID is configured on the receiving interface", kV3V4Packet, v4,
       v3Expect(Family::v4, 2), DropReason::vrid},
      {"7.1: Auth Type matches the locally configured method", kV2Packet, v4, pw_expect,
       DropReason::auth_type},
      {"auth type 1 received, none configured", pw_packet, v4, v2Expect(), DropReason::auth_type},
      {"RFC 2338 5.3.6.1: password must match", pw_packet, v4, wrong_pw, DropReason::auth_password},
      {"7.1: Adver Interval same as locally configured", kV2Packet, v4, interval2,
       DropReason::advert_interval},
      {"v3 Max Adver Int of 0 is refused", encode(zero_interval, kV4Src, kV4Group), v4, v3v4,
       DropReason::advert_interval},
  };
  std::set<DropReason> seen;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rfc);
    DecodeResult r = decode(c.packet, c.meta, c.expect);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.reason(), c.want);
    seen.insert(c.want);
  }
  EXPECT_EQ(seen.size(), kDropReasonCount) << "every DropReason has a case";
  // And the password-protected packet is fine with the right password.
  EXPECT_TRUE(decode(pw_packet, v4, pw_expect).ok());
}

// "Never reads out of bounds": every prefix of a valid packet is refused as too short (the
// version/type byte survives in all but the empty one). Runs under ASan in the sanitizer build.
TEST(Decode, EveryTruncationIsALengthDrop) {
  struct Case {
    Bytes packet;
    RxMeta meta;
    ExpectedParams expect;
  };
  Advert big = v3V6Advert();
  big.addresses.push_back(ip("2001:db8::2"));
  Advert big2 = v2Advert();
  big2.auth_type = 1;
  big2.addresses.push_back(ip("192.168.0.2"));
  ExpectedParams big2_expect = v2Expect();
  big2_expect.auth_type = 1;
  const Case cases[] = {
      {kV2Packet, meta(kV4Src, kV4Group), v2Expect()},
      {kV3V4Packet, meta(kV4Src, kV4Group), v3Expect(Family::v4, 1)},
      {kV3V6Packet, meta(kV6Src, kV6Group), v3Expect(Family::v6, 2)},
      {encode(big, kV6Src, kV6Group), meta(kV6Src, kV6Group), v3Expect(Family::v6, 2)},
      {encode(big2, kV4Src, kV4Group), meta(kV4Src, kV4Group), big2_expect},
  };
  for (const auto& c : cases) {
    ASSERT_TRUE(decode(c.packet, c.meta, c.expect).ok());
    for (size_t n = 0; n < c.packet.size(); ++n) {
      // A heap copy of exactly n bytes, so ASan sees any read past the end.
      const Bytes prefix(c.packet.begin(), c.packet.begin() + static_cast<std::ptrdiff_t>(n));
      DecodeResult r = decode(prefix, c.meta, c.expect);
      ASSERT_FALSE(r.ok()) << n;
      EXPECT_EQ(r.reason(), DropReason::length) << "prefix of " << n << " bytes";
    }
  }
}

// RFC 5798 5.2.6: the 4 reserved bits "MUST be set to zero on transmission and ignored on
// reception".
TEST(Decode, V3ReservedBitsAreIgnored) {
  Bytes p = kV3V4Packet;
  p[4] |= 0xf0;
  fixChecksum(p, Version::v3, kV4Src, kV4Group);
  DecodeResult r = decode(p, meta(kV4Src, kV4Group), v3Expect(Family::v4, 1));
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r.advert().max_advert_int_cs, 100);
}

// RFC 3768 5.3.10: with Auth Type 0 Authentication Data is "ignored on reception".
TEST(Decode, V2AuthDataIgnoredWithoutAuth) {
  Bytes p = kV2Packet;
  p[15] = 'x';
  fixChecksum(p, Version::v2, kV4Src, kV4Group);
  ExpectedParams e = v2Expect();
  e.auth_password = make_password("other");
  DecodeResult r = decode(p, meta(kV4Src, kV4Group), e);
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r.advert().auth_data, (std::array<char, 8>{}));  // not carried into the Advert
}

// The TTL is the first check (RFC order): a packet with several faults reports the TTL.
TEST(Decode, ChecksInRfcOrder) {
  Bytes p = edited(kV2Packet, 0, 0x31);
  EXPECT_EQ(decode(p, meta(kV4Src, kV4Group, 64), v2Expect()).reason(), DropReason::ttl);
  EXPECT_EQ(decode(p, meta(kV4Src, kV4Group), v2Expect()).reason(), DropReason::version);
  // A wrong VRID with a bad checksum counts as a checksum error.
  Bytes q = edited(kV3V4Packet, 1, 9);
  EXPECT_EQ(decode(q, meta(kV4Src, kV4Group), v3Expect(Family::v4, 1)).reason(),
            DropReason::checksum);
}

TEST(Decode, AddressesFromAnOwnerWithManyVips) {
  Advert a = v3V4Advert();
  a.priority = 255;
  for (int i = 1; i <= 255; ++i)
    a.addresses.push_back(IpAddress::of(10, 1, 0, static_cast<uint8_t>(i)));
  a.addresses.resize(255);
  const Bytes wire = encode(a, kV4Src, kV4Group);
  DecodeResult r = decode(wire, meta(kV4Src, kV4Group), v3Expect(Family::v4, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.advert().addresses.size(), 255u);
  EXPECT_EQ(r.advert().addresses.back(), IpAddress::of(10, 1, 0, 254));
}

TEST(DropCounters, CountsByReasonAndTotal) {
  DropCounters c;
  c.add(DropReason::ttl);
  c.add(DropReason::ttl);
  c.add(DropReason::checksum);
  EXPECT_EQ(c[DropReason::ttl], 2u);
  EXPECT_EQ(c[DropReason::checksum], 1u);
  EXPECT_EQ(c[DropReason::vrid], 0u);
  EXPECT_EQ(c.total, 3u);
}

TEST(DropReason, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const auto name = to_string(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(to_string(DropReason::auth_password), "auth_password");
}

// #13 defect 6: vrrp/rules.h's limit (what the loader enforces) is what encode() produces: the
// largest advert of each kind fits kAdvertMtu with its IP header, one address more does not
// (or exceeds the 8-bit count, where encode() refuses).
TEST(AdvertLimits, TheRuleMatchesTheEncoder) {
  struct Case {
    Version v;
    IpAddress src, dst;
    size_t most;
  };
  for (const Case& c : {Case{Version::v3, kV6Src, kV6Group, 90}, Case{Version::v3, kV4Src, kV4Group, 255},
                        Case{Version::v2, kV4Src, kV4Group, 255}}) {
    const Family f = c.src.family();
    SCOPED_TRACE(testing::Message() << "v" << int(c.v) << (f == Family::v4 ? " IPv4" : " IPv6"));
    const size_t ip_header = f == Family::v4 ? 20 : 40;
    ASSERT_EQ(max_advertised_addresses(c.v, f), c.most);
    for (size_t n : {c.most, c.most + 1}) {
      Advert a;
      a.version = c.v;
      for (size_t i = 0; i < n; ++i) {
        std::array<uint8_t, 16> b{};
        std::copy(c.src.bytes().begin(), c.src.bytes().end(), b.begin());
        b[address_size(f) - 2] = static_cast<uint8_t>((i + 2) >> 8);
        b[address_size(f) - 1] = static_cast<uint8_t>(i + 2);
        a.addresses.push_back(*IpAddress::from_bytes(f, std::span(b.data(), address_size(f))));
      }
      auto bytes = encode(a, c.src, c.dst);
      if (n > kMaxAdvertisedAddresses) {
        EXPECT_TRUE(bytes.empty());
        continue;
      }
      ASSERT_FALSE(bytes.empty());
      EXPECT_EQ(ip_header + bytes.size(), advert_wire_size(c.v, f, n));
      EXPECT_EQ(ip_header + bytes.size() <= kAdvertMtu, n == c.most) << n;
    }
  }
}

TEST(PeekVrid, ReadsByteOneOnly) {
  EXPECT_EQ(peek_vrid(kV3V6Packet), 2);
  EXPECT_EQ(peek_vrid(Bytes{0x31}), std::nullopt);
  EXPECT_EQ(peek_vrid(Bytes{}), std::nullopt);
  EXPECT_EQ(peek_vrid(Bytes{0xff, 42}), 42);
}

// RFC 3768 / 5798 7.1: "MAY verify that 'Count IPvX Addrs' and the list of IPvX Address(es)
// matches the IPvX Address(es) configured for the VRID" - a log-worthy mismatch, not a drop.
TEST(AddressesMatch, IgnoresOrderButNotContent) {
  Advert a = v3V4Advert();
  a.addresses = {ip("10.0.0.2"), ip("10.0.0.1")};
  const IpAddress same[] = {ip("10.0.0.1"), ip("10.0.0.2")};
  const IpAddress fewer[] = {ip("10.0.0.1")};
  const IpAddress other[] = {ip("10.0.0.1"), ip("10.0.0.3")};
  EXPECT_TRUE(addresses_match(a, same));
  EXPECT_FALSE(addresses_match(a, fewer));
  EXPECT_FALSE(addresses_match(a, other));
  a.addresses.clear();
  EXPECT_TRUE(addresses_match(a, {}));
}

TEST(MakePassword, TruncatesAndPads) {
  EXPECT_EQ(make_password("ab"), (std::array<char, 8>{'a', 'b', 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(make_password("123456789"),
            (std::array<char, 8>{'1', '2', '3', '4', '5', '6', '7', '8'}));
  EXPECT_EQ(make_password(""), (std::array<char, 8>{}));
}

// The fuzzer's seed corpus is encoder output; this keeps it so. A seed is one selector byte
// (see vrrp_packet_fuzz.cpp: bit 0 = v3, bit 1 = IPv6, bit 3 = own VRID, bit 4 = password) then the
// VRRP message. HD_WRITE_CORPUS=1 rewrites the files (tests/unit/seed_corpus.h).
TEST(FuzzCorpus, SeedsAreEncoderOutput) {
  Advert pw = v2Advert();
  pw.auth_type = 1;
  pw.auth_data = make_password("secret");
  Advert two = v3V4Advert();
  two.addresses.push_back(ip("10.0.0.101"));
  struct Seed {
    const char* name;
    uint8_t selector;
    Bytes message;
  };
  const Seed seeds[] = {
      {"v2_ipv4", 0, kV2Packet},
      {"v2_ipv4_password", 16, encode(pw, kV4Src, kV4Group)},  // bit 4: password "secret"
      {"v3_ipv4", 1, kV3V4Packet},
      {"v3_ipv4_two_vips", 1, encode(two, kV4Src, kV4Group)},
      {"v3_ipv6", 3 | 8, kV3V6Packet},  // bit 3: expect the message's own VRID (2)
  };
  for (const auto& [name, selector, message] : seeds) {
    SCOPED_TRACE(name);
    Bytes seed{selector};
    seed.insert(seed.end(), message.begin(), message.end());
    hd::corpus::expect_seed(HD_VRRP_CORPUS_DIR, name, seed);
  }
}

}  // namespace
}  // namespace hd::vrrp
