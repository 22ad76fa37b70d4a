// SPDX-License-Identifier: GPL-2.0-or-later
// Hash combining for the project's own keys (boost's hash_combine step).
#pragma once
#include <cstddef>

#include "core/address.h"

namespace hd {

// `seed` with `v` mixed in.
inline size_t hash_mix(size_t seed, size_t v) {
  return seed ^ (v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

inline size_t hash_address(const IpAddress& a) {
  size_t h = static_cast<size_t>(a.family());
  for (size_t i = 0; i < a.size(); ++i) h = hash_mix(h, a.data()[i]);
  return h;
}

}  // namespace hd
