// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/checksum.h"

namespace hd {
namespace {

// The one's complement sum of `d` as 16-bit big-endian words, not yet folded.
uint64_t sum_words(std::span<const uint8_t> d, uint64_t sum) {
  size_t i = 0;
  for (; i + 1 < d.size(); i += 2) sum += uint32_t(d[i] << 8 | d[i + 1]);
  if (i < d.size()) sum += uint32_t(d[i] << 8);  // odd byte, zero padded
  return sum;
}

uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

}  // namespace

uint16_t internet_checksum(std::span<const uint8_t> data) { return fold(sum_words(data, 0)); }

uint16_t pseudo_header_checksum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                                std::span<const uint8_t> message) {
  uint64_t sum = sum_words(src.bytes(), 0);
  sum = sum_words(dst.bytes(), sum);
  sum += protocol;
  sum += message.size() & 0xffff;
  sum += message.size() >> 16;
  return fold(sum_words(message, sum));
}

}  // namespace hd
