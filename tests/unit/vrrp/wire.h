// SPDX-License-Identifier: GPL-2.0-or-later
// What the VRRP wire tests (packet_test, rx_test) share: a literal address, the sources they
// send from and the groups adverts go to (RFC 5798 5.1.1.2, 5.1.2.2), raw bytes.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/address.h"

namespace hd::vrrp::wire {

using Bytes = std::vector<uint8_t>;

inline IpAddress ip(std::string_view s) { return *IpAddress::parse(s); }

inline const IpAddress kV4Src = ip("10.0.0.1");
inline const IpAddress kV4Group = ip("224.0.0.18");
inline const IpAddress kV6Src = ip("fe80::1");
inline const IpAddress kV6Group = ip("ff02::12");

}  // namespace hd::vrrp::wire
