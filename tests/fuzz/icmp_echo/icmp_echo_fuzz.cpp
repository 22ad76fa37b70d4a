// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the ping check's packet parser (icmp_echo.h): whatever arrives on
// its socket, from anyone. Input: one byte of flags (bit 0: IPv6, bit 1: an IPv4 header
// first, bit 2: compare the id), then the packet. Checked (abort() on a breach):
//   - parse() reads only the packet (ASan) and never loops;
//   - a "reply" is an echo reply of the family with our sequence number (and id);
//   - the echo request we build parses as neither a reply nor an error to itself.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkers/icmp_echo.h"

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "icmp_echo_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hd::checkers::icmp;
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const hd::Family family = (flags & 1) ? hd::Family::v6 : hd::Family::v4;
  const bool with_ip = (flags & 2) && family == hd::Family::v4;
  const bool check_id = flags & 4;
  std::string packet(reinterpret_cast<const char*>(data + 1), size - 1);
  const uint16_t id = 0x1234, seq = 0x0102;
  Parsed p = parse(family, packet, with_ip, id, seq, check_id);
  if (p.answer == Answer::reply) {
    if (p.type != (family == hd::Family::v4 ? 0 : 129)) fail("a reply of another type");
    std::string_view icmp = packet;
    if (with_ip) icmp.remove_prefix(static_cast<size_t>(static_cast<uint8_t>(packet[0]) & 0x0f) * 4);
    if (static_cast<uint8_t>(icmp[6]) != 0x01 || static_cast<uint8_t>(icmp[7]) != 0x02)
      fail("a reply with another sequence number");
  }
  std::string own = echo_request(family, id, seq, packet.substr(0, 64));
  if (parse(family, own, false, id, seq, true).answer != Answer::other)
    fail("our own request read as an answer");
  return 0;
}
