// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for what a syn probe reads off the network: IPv4 packets
// and TCP headers from the raw socket, quoted headers from ICMP errors.
// Checks: no parser crashes or reads out of bounds on any input; what
// parse_ipv4_tcp accepts is an IPv4 TCP packet whose header parse_tcp accepts
// on its own; a SYN built from parsed fields parses back to the same fields
// and carries a checksum that verifies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "checkers/tcp_segment.h"
#include "core/checksum.h"

using namespace hd;
using namespace hd::checkers;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (auto p = parse_ipv4_tcp(in)) {
    check(size >= 40 && (data[0] >> 4) == 4 && data[9] == 6);
    size_t ihl = size_t(data[0] & 15) * 4;
    auto again = parse_tcp(in.subspan(ihl));
    check(again && again->sport == p->tcp.sport && again->dport == p->tcp.dport &&
          again->seq == p->tcp.seq && again->ack == p->tcp.ack);
    check(p->source.is_v4());
  }
  auto seg = parse_tcp(in);
  if (seg) {
    check(size >= 20);
    check(!(seg->is_rst() && seg->is_syn_ack()));
    // Round trip through a SYN with the parsed ports and sequence number.
    auto dst = IpAddress::of(192, 0, 2, 1);
    auto src = IpAddress::of(10, 0, 0, 1);
    uint8_t out[kSynSize];
    build_syn(std::span<uint8_t, kSynSize>(out), seg->sport, seg->dport, seg->seq, dst, src);
    auto back = parse_tcp(out);
    check(back && back->sport == seg->sport && back->dport == seg->dport && back->seq == seg->seq &&
          back->flags == tcp_flags::syn);
    check(pseudo_header_checksum(src, dst, IPPROTO_TCP, out) == 0);
  }
  if (auto q = parse_quoted_tcp(in)) check(size >= 8);
  return 0;
}
