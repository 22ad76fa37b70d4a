// SPDX-License-Identifier: GPL-2.0-or-later
// ICMP and ICMPv6 echo, as data (the ping check's wire format, pure and fuzzed): the
// request to send, and what a received packet says about it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/address.h"

namespace hd::checkers::icmp {

// An echo request: type 8 (IPv4) or 128 (IPv6), code 0, `id`, `seq`, `payload`. The IPv4
// checksum is filled in; ICMPv6's is the kernel's (it covers the IPv6 pseudo-header).
std::string echo_request(Family family, uint16_t id, uint16_t seq, std::string_view payload);

enum class Answer {
  other,        // not about our request (another echo, another type, too short)
  reply,        // the echo reply to our id and seq
  unreachable,  // a destination unreachable (or time exceeded) quoting our request
};

struct Parsed {
  Answer answer = Answer::other;
  int type = 0, code = 0;  // of the ICMP message
};

// One received packet. `with_ip_header`: a raw IPv4 socket's packets start with the IP
// header (its length read from it); ping sockets and IPv6 raw sockets give the ICMP
// message alone. `check_id`: a ping socket's kernel demultiplexes (and chooses the id),
// so only the sequence number is compared there.
Parsed parse(Family family, std::string_view packet, bool with_ip_header, uint16_t id,
             uint16_t seq, bool check_id);

}  // namespace hd::checkers::icmp
