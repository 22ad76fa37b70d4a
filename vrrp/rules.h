// SPDX-License-Identifier: GPL-2.0-or-later
// The protocol's rules on configured values, in one place: the FSM's validate() and the
// config loader both ask here (each words its own message).
#pragma once
#include <chrono>

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

}  // namespace hd::vrrp
