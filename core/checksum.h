// SPDX-License-Identifier: GPL-2.0-or-later
// The Internet checksum (RFC 1071), alone and over an IP pseudo-header: the
// one implementation behind VRRP adverts, half-open TCP probes and tests.
#pragma once
#include <cstdint>
#include <span>

#include "core/address.h"

namespace hd {

// One's complement of the one's complement sum of 16-bit big-endian words; an
// odd trailing byte is padded with zero. A buffer holding a correct checksum
// sums to 0.
uint16_t internet_checksum(std::span<const uint8_t> data);

// The checksum of an upper-layer message (a TCP segment, a VRRPv3 advert) over
// the pseudo-header src -> dst: RFC 768's layout for IPv4 (zero, protocol,
// 16-bit length), RFC 8200 8.1's for IPv6 (32-bit length, zeros, next header).
// Both sum to the same words, so one function serves both families.
uint16_t pseudo_header_checksum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                                std::span<const uint8_t> message);

}  // namespace hd
