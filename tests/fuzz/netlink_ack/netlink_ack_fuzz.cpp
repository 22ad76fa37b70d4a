// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for ipvs::parse_ack, the IPVS backend's reading of the kernel's NLMSG_ERROR
// replies (acks, errors, extended acks with NLMSGERR_ATTR_MSG, capped or with the request
// echoed): an arbitrary datagram is split into messages, each read as an ack.
// Seeds: corpus/, kernel-style acks written by tests/unit/ipvs/ack_test.cpp.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ipvs/parse.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A received datagram is 4-byte aligned; copy so the fuzzer's buffer need not be.
  std::vector<uint32_t> buf((size + 3) / 4);
  if (size) __builtin_memcpy(buf.data(), data, size);
  for (const nlmsghdr* h : hd::ipvs::split_datagram(buf.data(), size)) {
    auto ack = hd::ipvs::parse_ack(h);
    const bool is_ack =
        h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr));
    check(ack.has_value() == is_ack);
    if (!ack) continue;
    // 0 or an errno: what the kernel sent, negated, or EPROTO for what is no errno.
    const int error = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
    check(error <= 0 && error >= -4095 ? ack->err == -error : ack->err == EPROTO);
    // The message comes from inside this message's attributes, and only with a failure.
    check(ack->err != 0 || ack->detail.empty());
    check(ack->detail.size() < h->nlmsg_len);
    check(ack->detail.find('\0') == std::string::npos);
  }
  return 0;
}
