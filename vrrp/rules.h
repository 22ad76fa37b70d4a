// SPDX-License-Identifier: GPL-2.0-or-later
// The protocol's rules on configured values, in one place: the FSM's validate() and the
// config loader both ask here (each words its own message).
#pragma once
#include <chrono>
#include <cstddef>

#include "core/clock.h"
#include "vrrp/packet.h"

namespace hd::vrrp {

// Advertisement interval: version 2 sends whole seconds, 1..255 (RFC 3768 5.3.7); version 3
// centiseconds, 10 ms..40.95 s (RFC 5798 5.2.7, a 12-bit field).
inline bool valid_advert_interval(Version v, Duration d) {
  using std::chrono::seconds;
  constexpr Duration kCentisecond = std::chrono::milliseconds(10);
  if (v == Version::v2)
    return d % seconds(1) == Duration::zero() && d >= seconds(1) && d <= seconds(255);
  return d % kCentisecond == Duration::zero() && d >= kCentisecond &&
         d <= kCentisecond * kV3MaxAdvertIntCs;
}

// Advertised addresses (RFC 3768 5.3.5 / RFC 5798 5.2.5 Count IPvX Addr is 8 bits), and what
// one advert may take on the wire. The loader cannot know the interface's MTU, so the rule
// is judged against kAdvertMtu: an advert never relies on fragmentation (a receiver sizes its
// buffer from its own MTU and drops a longer datagram).
inline constexpr size_t kMaxAdvertisedAddresses = 255;
inline constexpr size_t kAdvertMtu = 1500;

// Bytes of an advert on the wire: IP header (IPv4 20, no options; IPv6 40) + VRRP header +
// addresses + v2 authentication data + an authentication trailer (vrrp/auth.h) if any.
constexpr size_t advert_wire_size(Version v, Family f, size_t addresses, size_t trailer = 0) {
  return (f == Family::v4 ? 20 : 40) + kHeaderSize + addresses * address_size(f) +
         (v == Version::v2 ? kV2AuthDataSize : 0) + trailer;
}

// The most addresses one advert can carry within `mtu` and the 8-bit count: IPv6 90, IPv4 255
// (IPv6 88 with an authentication trailer).
constexpr size_t max_advertised_addresses(Version v, Family f, size_t mtu = kAdvertMtu,
                                          size_t trailer = 0) {
  const size_t fixed = advert_wire_size(v, f, 0, trailer);
  const size_t fit = mtu > fixed ? (mtu - fixed) / address_size(f) : 0;
  return fit < kMaxAdvertisedAddresses ? fit : kMaxAdvertisedAddresses;
}

}  // namespace hd::vrrp
