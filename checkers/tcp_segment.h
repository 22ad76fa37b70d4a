// SPDX-License-Identifier: GPL-2.0-or-later
// The few TCP segments a half-open ("syn") probe needs, as pure functions:
// build a SYN, read back a SYN-ACK or RST, and read the quoted header of an
// ICMP error. No sockets here; syn_prober.cpp does the I/O.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/address.h"

namespace hd::checkers {

namespace tcp_flags {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t ack = 0x10;
}  // namespace tcp_flags

// A SYN is a 20-byte header plus one MSS option.
inline constexpr size_t kSynSize = 24;

// Writes a SYN from sport to dport with sequence number isn. With
// `checksum_source` set the TCP checksum is filled in over the pseudo-header of
// checksum_source -> dst (IPv4 raw sockets need this); without it the checksum
// field is left 0 for the kernel (IPv6 raw sockets with IPV6_CHECKSUM).
void build_syn(std::span<uint8_t, kSynSize> out, uint16_t sport, uint16_t dport, uint32_t isn,
               const IpAddress& dst, const std::optional<IpAddress>& checksum_source);

struct Segment {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  bool is_syn_ack() const {
    return (flags & (tcp_flags::syn | tcp_flags::ack | tcp_flags::rst)) ==
           (tcp_flags::syn | tcp_flags::ack);
  }
  bool is_rst() const { return (flags & tcp_flags::rst) != 0; }
};

// A TCP header (IPv6 raw sockets deliver from the TCP header on).
std::optional<Segment> parse_tcp(std::span<const uint8_t> data);

// An IPv4 packet carrying TCP (IPv4 raw sockets deliver from the IP header on):
// the header, with the packet's source address. Fragments other than the first
// and non-TCP packets are refused.
struct Ipv4Segment {
  IpAddress source;
  Segment tcp;
};
std::optional<Ipv4Segment> parse_ipv4_tcp(std::span<const uint8_t> packet);

// The start of a TCP header quoted in an ICMP error (RFC 792 promises only
// 8 bytes: the ports and the sequence number).
struct Quoted {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
};
std::optional<Quoted> parse_quoted_tcp(std::span<const uint8_t> data);

}  // namespace hd::checkers
