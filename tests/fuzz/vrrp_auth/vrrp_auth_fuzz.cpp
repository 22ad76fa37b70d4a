// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for authenticated adverts: decode() with a trailer allowed, the trailer
// parser and the Authenticator's verdict. Input: one selector byte, then the IP payload.
//   bit 0: version 3 (else 2)      bit 1: IPv6 (else IPv4)
//   bit 2: fix the checksum first, so mutations get past the checksum check
//   bit 3: permissive (else enforce)   bit 4: anti_replay monotonic (else time)
// Invariants: a verdict is one of the known ones; an advert that verifies is refused as
// replayed when it comes again; whatever decodes, signed with our key, verifies, and does
// not once any one byte of it is changed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "vrrp/auth.h"
#include "vrrp/packet.h"

namespace {

using namespace hd::vrrp;

void check(bool ok) {
  if (!ok) std::abort();
}

AuthKey key(uint8_t id, uint8_t fill) {
  std::vector<uint8_t> b(32, fill);
  return AuthKey{id, hd::Secret(b)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  std::vector<uint8_t> payload(data + 1, data + size);

  const bool v6 = sel & 2;
  const IpAddress src = v6 ? *IpAddress::parse("fe80::1") : IpAddress::of(10, 0, 0, 1);
  const IpAddress dst = v6 ? *IpAddress::parse("ff02::12") : IpAddress::of(224, 0, 0, 18);
  ExpectedParams expect;
  expect.version = (sel & 1) ? Version::v3 : Version::v2;
  expect.family = v6 ? Family::v6 : Family::v4;
  expect.vrid = peek_vrid(payload).value_or(1);
  expect.trailer_size = kAuthTrailerSize;
  if (payload.size() >= 2) expect.advert_int_s = payload.size() > 5 ? payload[5] : 1;
  if (sel & 4 && payload.size() >= kHeaderSize) {
    payload[6] = payload[7] = 0;
    const uint16_t c = payload_checksum(expect.version, payload, src, dst);
    payload[6] = static_cast<uint8_t>(c >> 8);
    payload[7] = static_cast<uint8_t>(c);
  }
  // The parser alone, on the tail of any input.
  if (payload.size() >= kAuthTrailerSize) {
    auto t = parse_trailer(std::span<const uint8_t>(payload).last(kAuthTrailerSize));
    if (t) check(payload[payload.size() - kAuthTrailerSize] == kAuthTypeHmacSha256);
  }

  const RxMeta meta{src, dst, kRequiredTtl};
  DecodeResult r = decode(payload, meta, expect);
  if (!r.ok()) return 0;

  AuthConfig cfg;
  cfg.keys.push_back(key(1, 0x11));
  cfg.keys.push_back(key(2, 0x22));
  cfg.active_key = 2;
  cfg.mode = (sel & 8) ? AuthMode::permissive : AuthMode::enforce;
  cfg.anti_replay = (sel & 16) ? AntiReplay::monotonic : AntiReplay::time;
  const uint64_t now = 1'800'000'000'000'000;  // 2027, in microseconds
  const size_t msg = message_size(payload, expect.version, expect.family);
  check(msg == payload.size() || msg + kAuthTrailerSize == payload.size());

  Authenticator a(cfg);
  AuthVerdict v = a.check(payload, msg, meta, now);
  check(static_cast<size_t>(v) < kAuthVerdictCount);
  check(!to_string(v).empty());
  if (v == AuthVerdict::verified) check(a.check(payload, msg, meta, now) == AuthVerdict::replayed);

  // The message alone, signed: verifies with a fresh receiver, and no longer once changed.
  std::vector<uint8_t> message(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(msg));
  Authenticator sender(cfg), receiver(cfg);
  std::vector<uint8_t> signed_advert = sender.outgoing(message, expect.version, src, dst, now);
  check(signed_advert.size() == msg + kAuthTrailerSize);
  check(decode(signed_advert, meta, expect).ok());
  check(receiver.check(signed_advert, msg, meta, now) == AuthVerdict::verified);
  const size_t at = size % signed_advert.size();
  if (at != 6 && at != 7) {  // the checksum is not in the MAC (it covers the MAC)
    std::vector<uint8_t> changed = signed_advert;
    changed[at] ^= 0x01;
    Authenticator fresh(cfg);
    AuthVerdict cv = fresh.check(changed, message_size(changed, expect.version, expect.family),
                                 meta, now);
    check(cv != AuthVerdict::verified);
  }
  return 0;
}
