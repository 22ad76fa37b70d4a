// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for vrrp::decode, and for the Fsm fed with whatever decodes.
// Input: one selector byte, then the VRRP message.
//   bit 0: version 3 (else 2)      bit 1: IPv6 (else IPv4)
//   bit 2: fix the checksum first, so mutations get past the checksum check
//   bit 3: expect the message's own VRID (else VRID 1)
//   bit 4: v2 expects auth type 1 with password "secret" (else no auth)
// Seeds in corpus/ are encoder output (see tests/unit/vrrp/packet_test.cpp).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/checksum.h"
#include "vrrp/fsm.h"
#include "vrrp/packet.h"

namespace {

using namespace hd::vrrp;

void check(bool ok) {
  if (!ok) std::abort();
}

void fixChecksum(std::vector<uint8_t>& p, Version v, const IpAddress& src, const IpAddress& dst) {
  if (p.size() < kHeaderSize) return;
  p[6] = p[7] = 0;
  const uint16_t c = payload_checksum(v, p, src, dst);
  p[6] = static_cast<uint8_t>(c >> 8);
  p[7] = static_cast<uint8_t>(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  std::vector<uint8_t> payload(data + 1, data + size);  // exact-size heap copy for ASan

  const bool v6 = sel & 2;
  const IpAddress src = v6 ? *IpAddress::parse("fe80::1") : IpAddress::of(10, 0, 0, 1);
  const IpAddress dst = v6 ? *IpAddress::parse("ff02::12") : IpAddress::of(224, 0, 0, 18);
  ExpectedParams expect;
  expect.version = (sel & 1) ? Version::v3 : Version::v2;
  expect.family = v6 ? Family::v6 : Family::v4;
  expect.vrid = (sel & 8) ? peek_vrid(payload).value_or(1) : 1;
  if (sel & 16) {
    expect.auth_type = 1;
    expect.auth_password = make_password("secret");
  }
  if (sel & 4) fixChecksum(payload, expect.version, src, dst);

  const RxMeta meta{src, dst, kRequiredTtl};
  DecodeResult r = decode(payload, meta, expect);
  if (!r.ok()) {
    check(static_cast<size_t>(r.reason()) < kDropReasonCount);
    check(!to_string(r.reason()).empty());
    return 0;
  }

  // What decodes re-encodes to something that decodes to the same advert.
  const Advert& advert = r.advert();
  const std::vector<uint8_t> again = encode(advert, src, dst);
  check(again.size() == payload.size());
  DecodeResult r2 = decode(again, meta, expect);
  check(r2.ok() && r2.advert() == advert);

  // And the state machine takes it in every state without misbehaving.
  Params p;
  p.version = expect.version;
  p.vrid = advert.vrid == 0 ? 1 : advert.vrid;
  p.priority = 100;
  p.primary_ip = v6 ? *IpAddress::parse("fe80::2") : IpAddress::of(10, 0, 0, 2);
  Fsm fsm(p);
  const hd::TimePoint t{};
  const AdvertReceived ev{advert, src};
  fsm.handle(ev, t);
  fsm.handle(Startup{}, t);
  fsm.handle(ev, t);
  fsm.handle(MasterDownTimerFired{}, t);
  fsm.handle(ev, t);
  check(fsm.state() == State::master || fsm.state() == State::backup);
  check(fsm.master_down_interval() > hd::Duration::zero());
  return 0;
}
