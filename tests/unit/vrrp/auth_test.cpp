// SPDX-License-Identifier: GPL-2.0-or-later
// Authenticated adverts (vrrp/auth.h): the trailer's bytes against a vector computed
// independently (Python's hmac module over the layout in docs/vrrp-auth.md), every verdict,
// replay, the freshness window's edges, key rotation, and decode() with a trailer.
#include "vrrp/auth.h"

#include "tests/unit/vrrp/wire.h"

#include <gtest/gtest.h>

namespace hd::vrrp {
namespace {

using namespace wire;
using namespace std::chrono_literals;

Bytes from_hex(std::string_view h) {
  Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

AuthKey key(uint8_t id, uint8_t fill) {
  return AuthKey{id, Secret(Bytes(32, fill))};
}

const IpAddress kSrc = ip("192.0.2.1");
const IpAddress kOther = ip("192.0.2.2");
const IpAddress kGroup = ip("224.0.0.18");
constexpr uint64_t kNow = 1'800'000'000'000'000;  // µs since the epoch (2027)

Advert advert(uint8_t priority = 100) {
  Advert a;
  a.version = Version::v3;
  a.vrid = 51;
  a.priority = priority;
  a.max_advert_int_cs = 100;
  a.addresses = {ip("192.0.2.100")};
  return a;
}

AuthConfig config(AuthMode mode = AuthMode::enforce, AntiReplay ar = AntiReplay::time) {
  AuthConfig c;
  c.keys = {key(1, 0x11), key(2, 0x22)};
  c.active_key = 1;
  c.mode = mode;
  c.anti_replay = ar;
  c.window = 5s;
  return c;
}

RxMeta from(const IpAddress& src) { return RxMeta{src, kGroup, kRequiredTtl}; }

// An advert from `src` as `sender` signs it at `now`.
Bytes signed_by(Authenticator& sender, uint64_t now, uint8_t priority = 100,
                const IpAddress& src = kSrc) {
  return sender.outgoing(encode(advert(priority), src, kGroup), Version::v3, src, kGroup, now);
}

constexpr size_t kMsg = kHeaderSize + 4;  // one IPv4 address

// The layout of docs/vrrp-auth.md, computed with Python's hmac and hashlib (not with this
// code): key 0x00..0x1f as id 7, sequence 0x0001020304050607, v3 VRID 51 priority 100, one
// address 192.0.2.100, from 192.0.2.1 to 224.0.0.18; checksum over message and trailer.
TEST(VrrpAuth, SignMatchesAVectorComputedIndependently) {
  Bytes k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<uint8_t>(i));
  AuthKey key7{7, Secret(k)};
  Bytes out = sign(encode(advert(), kSrc, kGroup), Version::v3, key7, 0x0001020304050607, kSrc,
                   kGroup);
  EXPECT_EQ(out, from_hex("313364010064552fc00002640107002c0001020304050607ff05c3a3b26052eec3cf79a4"
                          "c5e50f42161bbda6366aabf271670a5c6cf42968"));
  // And it verifies, as the receiver's decode() and Authenticator see it.
  ExpectedParams e;
  e.vrid = 51;
  e.trailer_size = kAuthTrailerSize;
  ASSERT_TRUE(decode(out, from(kSrc), e).ok());
  AuthConfig c;
  c.keys = {key7};
  c.active_key = 7;
  c.window = 1h;
  Authenticator receiver(c);
  EXPECT_EQ(receiver.check(out, kMsg, from(kSrc), 0x0001020304050607 + 1000),
            AuthVerdict::verified);
}

TEST(VrrpAuth, AVerifiedAdvertIsRefusedWhenReplayed) {
  Authenticator sender(config()), receiver(config());
  Bytes first = signed_by(sender, kNow);
  Bytes second = signed_by(sender, kNow + 1'000'000);
  EXPECT_EQ(receiver.check(first, kMsg, from(kSrc), kNow), AuthVerdict::verified);
  EXPECT_EQ(receiver.check(first, kMsg, from(kSrc), kNow + 10), AuthVerdict::replayed);
  EXPECT_EQ(receiver.check(second, kMsg, from(kSrc), kNow + 1'000'000), AuthVerdict::verified);
  // An older capture, still inside the window, is a replay too.
  EXPECT_EQ(receiver.check(first, kMsg, from(kSrc), kNow + 1'000'000), AuthVerdict::replayed);
  EXPECT_EQ(receiver.counters()[AuthVerdict::verified], 2u);
  EXPECT_EQ(receiver.counters()[AuthVerdict::replayed], 2u);
  EXPECT_EQ(receiver.counters().rejected(), 2u);
}

TEST(VrrpAuth, EveryRejectionHasItsReason) {
  Authenticator sender(config());
  const Bytes good = signed_by(sender, kNow);
  {  // No trailer: refused by enforce.
    Authenticator r(config());
    EXPECT_EQ(r.check(encode(advert(), kSrc, kGroup), kMsg, from(kSrc), kNow),
              AuthVerdict::unsigned_rejected);
  }
  {  // A trailer of another type, or a wrong length field.
    Authenticator r(config());
    Bytes bad_type = good;
    bad_type[kMsg] = 2;
    EXPECT_EQ(r.check(bad_type, kMsg, from(kSrc), kNow), AuthVerdict::malformed);
    Bytes bad_len = good;
    bad_len[kMsg + 3] = 40;
    EXPECT_EQ(r.check(bad_len, kMsg, from(kSrc), kNow), AuthVerdict::malformed);
    EXPECT_EQ(r.check(Bytes(good.begin(), good.end() - 1), kMsg, from(kSrc), kNow),
              AuthVerdict::malformed);
  }
  {  // A key id the receiver does not have.
    AuthConfig only2 = config();
    only2.keys = {key(2, 0x22)};
    only2.active_key = 2;
    Authenticator r(only2);
    EXPECT_EQ(r.check(good, kMsg, from(kSrc), kNow), AuthVerdict::unknown_key);
  }
  {  // The same id, another key (a forger who guessed the id).
    AuthConfig forged = config();
    forged.keys = {key(1, 0x99)};
    Authenticator attacker(forged), r(config());
    EXPECT_EQ(r.check(signed_by(attacker, kNow, 255), kMsg, from(kSrc), kNow),
              AuthVerdict::bad_mac);
  }
  {  // A captured advert with its priority raised to 255 and its checksum fixed.
    Authenticator r(config());
    Bytes raised = good;
    raised[2] = 255;
    raised[6] = raised[7] = 0;
    uint16_t c = payload_checksum(Version::v3, raised, kSrc, kGroup);
    raised[6] = static_cast<uint8_t>(c >> 8);
    raised[7] = static_cast<uint8_t>(c);
    EXPECT_EQ(r.check(raised, kMsg, from(kSrc), kNow), AuthVerdict::bad_mac);
  }
  {  // The MAC binds the source: the same bytes "from" another director do not verify.
    Authenticator r(config());
    EXPECT_EQ(r.check(good, kMsg, from(kOther), kNow), AuthVerdict::bad_mac);
  }
  {  // Outside the window on either side.
    Authenticator r(config());
    EXPECT_EQ(r.check(good, kMsg, from(kSrc), kNow + 6'000'000), AuthVerdict::stale);
    EXPECT_EQ(r.check(good, kMsg, from(kSrc), kNow - 6'000'000), AuthVerdict::stale);
  }
}

// Clock skew at the edge: a sequence exactly `window` away is fresh, one microsecond more
// is stale, ahead of or behind the receiver's clock.
TEST(VrrpAuth, TheWindowsEdgeIsInclusive) {
  for (int64_t sign : {+1, -1}) {
    Authenticator sender(config()), r(config());
    Bytes at_edge = signed_by(sender, kNow);
    Bytes past = signed_by(sender, kNow + 1);  // one µs later
    const uint64_t edge = static_cast<uint64_t>(static_cast<int64_t>(kNow) + sign * 5'000'000);
    if (sign > 0) {
      // Receiver 5 s ahead: the first is exactly 5 s old.
      EXPECT_EQ(r.check(at_edge, kMsg, from(kSrc), edge), AuthVerdict::verified);
      EXPECT_EQ(r.check(past, kMsg, from(kSrc), edge + 2), AuthVerdict::stale);
    } else {
      // Receiver 5 s behind: the second is 5 s + 1 µs ahead of it.
      EXPECT_EQ(r.check(past, kMsg, from(kSrc), edge), AuthVerdict::stale);
      EXPECT_EQ(r.check(at_edge, kMsg, from(kSrc), edge), AuthVerdict::verified);
    }
  }
}

TEST(VrrpAuth, MonotonicNeedsNoClockAgreementButStillRefusesReplays) {
  auto c = config(AuthMode::enforce, AntiReplay::monotonic);
  Authenticator sender(c), r(c);
  Bytes first = signed_by(sender, kNow);
  Bytes second = signed_by(sender, kNow);  // the clock did not move: one more
  const uint64_t far = kNow + 3600ull * 1'000'000;
  EXPECT_EQ(r.check(first, kMsg, from(kSrc), far), AuthVerdict::verified);
  EXPECT_EQ(r.check(second, kMsg, from(kSrc), far), AuthVerdict::verified);
  EXPECT_EQ(r.check(first, kMsg, from(kSrc), far), AuthVerdict::replayed);
  // Each sender has its own sequence.
  Authenticator other(c);
  EXPECT_EQ(r.check(signed_by(other, kNow - 1000, 90, kOther), kMsg, from(kOther), far),
            AuthVerdict::verified);
}

TEST(VrrpAuth, TheSequenceNeverRepeatsEvenWhenTheClockGoesBack) {
  Authenticator a(config());
  EXPECT_EQ(a.next_sequence(kNow), kNow);
  EXPECT_EQ(a.next_sequence(kNow), kNow + 1);
  EXPECT_EQ(a.next_sequence(kNow - 5'000'000), kNow + 2);
  EXPECT_EQ(a.next_sequence(kNow + 10), kNow + 10);
}

TEST(VrrpAuth, ModesDecideWhatIsSentAndWhatUnsignedAdvertsGet) {
  const Bytes plain = encode(advert(), kSrc, kGroup);
  for (auto [mode, sends, accepts] : {std::tuple{AuthMode::enforce, true, false},
                                      std::tuple{AuthMode::permissive, true, true},
                                      std::tuple{AuthMode::receive_only, false, true}}) {
    Authenticator a(config(mode));
    Bytes out = a.outgoing(plain, Version::v3, kSrc, kGroup, kNow);
    EXPECT_EQ(out.size(), sends ? plain.size() + kAuthTrailerSize : plain.size()) << to_string(mode);
    EXPECT_EQ(a.check(plain, kMsg, from(kOther), kNow),
              accepts ? AuthVerdict::unsigned_accepted : AuthVerdict::unsigned_rejected);
    // Signed adverts are verified in every mode: receive_only and permissive are no
    // weaker against a forger than enforce, only against a sender without a trailer.
    Authenticator forger([] {
      auto f = config();
      f.keys = {key(1, 0x77)};
      return f;
    }());
    EXPECT_EQ(a.check(signed_by(forger, kNow, 255, kOther), kMsg, from(kOther), kNow),
              AuthVerdict::bad_mac)
        << to_string(mode);
  }
}

// Rotation: both keys known to both; the sender moves to key 2; the receiver verifies either.
// A new config keeps what was seen, so a reload opens no replay window.
TEST(VrrpAuth, RotationWithTwoKeysAndAReloadKeepsTheSequencesSeen) {
  Authenticator sender(config()), r(config());
  Bytes with1 = signed_by(sender, kNow);
  EXPECT_EQ(with1[kMsg + 1], 1);
  EXPECT_EQ(r.check(with1, kMsg, from(kSrc), kNow), AuthVerdict::verified);
  auto c2 = config();
  c2.active_key = 2;
  sender.set_config(c2);
  Bytes with2 = signed_by(sender, kNow + 1000);
  EXPECT_EQ(with2[kMsg + 1], 2);
  EXPECT_EQ(r.check(with2, kMsg, from(kSrc), kNow + 1000), AuthVerdict::verified);
  // The receiver drops key 1 (rotation done): key-1 adverts are now unknown; and the
  // replay state survived the new config.
  auto only2 = c2;
  only2.keys = {key(2, 0x22)};
  r.set_config(only2);
  EXPECT_EQ(r.check(with1, kMsg, from(kSrc), kNow + 2000), AuthVerdict::unknown_key);
  EXPECT_EQ(r.check(with2, kMsg, from(kSrc), kNow + 2000), AuthVerdict::replayed);
}

TEST(VrrpAuth, DecodeTakesATrailerOnlyWhenToldAndItsChecksumCoversIt) {
  Authenticator sender(config());
  Bytes s = signed_by(sender, kNow);
  ExpectedParams e;
  e.vrid = 51;
  EXPECT_EQ(decode(s, from(kSrc), e).reason(), DropReason::length);
  e.trailer_size = kAuthTrailerSize;
  ASSERT_TRUE(decode(s, from(kSrc), e).ok());
  EXPECT_EQ(decode(s, from(kSrc), e).advert(), advert());
  EXPECT_TRUE(decode(encode(advert(), kSrc, kGroup), from(kSrc), e).ok()) << "unsigned still decodes";
  Bytes flipped = s;
  flipped.back() ^= 1;
  EXPECT_EQ(decode(flipped, from(kSrc), e).reason(), DropReason::checksum);
  EXPECT_EQ(message_size(s, Version::v3, Family::v4), kMsg);
}

TEST(VrrpAuth, ParseTrailer) {
  Authenticator sender(config());
  Bytes s = signed_by(sender, kNow);
  auto t = parse_trailer(std::span<const uint8_t>(s).subspan(kMsg));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->key_id, 1);
  EXPECT_EQ(t->sequence, kNow);
  EXPECT_FALSE(parse_trailer(std::span<const uint8_t>(s).subspan(kMsg + 1)));
  EXPECT_FALSE(parse_trailer({}));
}

TEST(VrrpAuth, SecretsCompareByContent) {
  Secret a(Bytes(32, 1)), b(Bytes(32, 1)), c(Bytes(32, 2)), d(Bytes(33, 1));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
  Secret moved(std::move(c));
  EXPECT_EQ(moved.size(), 32u);
  Secret copy = moved;
  EXPECT_EQ(copy, moved);
}

}  // namespace
}  // namespace hd::vrrp
