// SPDX-License-Identifier: GPL-2.0-or-later
// The IPVS dump parser on arbitrary datagrams: split into messages, each read
// as a service and as a destination reply. Must never crash or leak.
// Seeds: corpus/, kernel-style replies written by tests/unit/ipvs/parse_test.cpp.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ipvs/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A received datagram is 4-byte aligned; copy so the fuzzer's buffer need not be.
  std::vector<uint32_t> buf((size + 3) / 4);
  if (size) __builtin_memcpy(buf.data(), data, size);
  for (const nlmsghdr* h : hd::ipvs::split_datagram(buf.data(), size)) {
    (void)hd::ipvs::parse_service_reply(h);
    (void)hd::ipvs::parse_dest_reply(h, hd::Family::v4);
    (void)hd::ipvs::parse_dest_reply(h, hd::Family::v6);
  }
  return 0;
}
