// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for vrrp::parse_received, the receive side of vrrp::Socket::receive: the
// IPv4 header of a raw socket's datagram, or the IPv6 source and control messages (hop limit,
// packet info); what it accepts then goes through decode() as the engine does.
// Input: one selector byte, then
//   bit 0 clear (IPv4): the datagram, IPv4 header first.
//   bit 0 set (IPv6): one byte L, L bytes of msg_control (cmsghdrs), 16 bytes of source
//   address (sin6_addr), then the datagram (the VRRP message).
// Seeds in corpus/ are datagrams as the kernel delivers them (see tests/unit/vrrp/rx_test.cpp).
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vrrp/socket.h"

namespace {

using namespace hd::vrrp;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool v6 = data[0] & 1;
  const uint8_t* p = data + 1;
  size_t left = size - 1;

  sockaddr_storage from{};
  // Exact-size heap copies, so ASan sees any read past them; malloc aligns for cmsghdr.
  std::vector<uint8_t> control;
  if (v6) {
    if (left < 1) return 0;
    const size_t clen = std::min<size_t>(p[0], left - 1);
    control.assign(p + 1, p + 1 + clen);
    p += 1 + clen;
    left -= 1 + clen;
    auto& s6 = reinterpret_cast<sockaddr_in6&>(from);
    s6.sin6_family = AF_INET6;
    const size_t alen = std::min<size_t>(16, left);
    std::memcpy(&s6.sin6_addr, p, alen);
    p += alen;
    left -= alen;
  }
  const std::vector<uint8_t> datagram(p, p + left);

  const Family family = v6 ? Family::v6 : Family::v4;
  auto r = parse_received(family, 3, datagram, from, control);
  if (!r) {
    check(!v6);  // IPv6 has no header to refuse
    return 0;
  }
  check(r->ifindex == 3);
  check(r->meta.source.family() == family);
  check(r->payload.size() <= datagram.size());
  if (v6) {
    check(r->payload == datagram);
  } else {
    const size_t ihl = (datagram[0] & 0x0f) * 4u;
    check(datagram.size() >= 20 && ihl >= 20 && r->payload.size() <= datagram.size() - ihl);
    check(std::equal(r->payload.begin(), r->payload.end(), datagram.begin() + ihl));
    check(r->meta.ttl == datagram[8]);
    check(r->meta.destination.family() == Family::v4);
  }

  // As the engine goes on: the VRID picks the instance, decode() checks the rest.
  ExpectedParams expect;
  expect.family = family;
  expect.vrid = peek_vrid(r->payload).value_or(1);
  for (Version v : {Version::v2, Version::v3}) {
    expect.version = v;
    DecodeResult d = decode(r->payload, r->meta, expect);
    if (!d.ok()) check(static_cast<size_t>(d.reason()) < kDropReasonCount);
  }
  return 0;
}
