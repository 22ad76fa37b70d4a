// SPDX-License-Identifier: GPL-2.0-or-later
// A log-linear histogram of durations (HdrHistogram's idea, much smaller):
// exact below 16 us, then 8 buckets per power of two, so any percentile is
// within 12.5% of the truth. Fixed memory, O(1) record. Pure.
#pragma once
#include <array>
#include <cstdint>

#include "core/clock.h"

namespace hd::checkers {

class LatencyHistogram {
 public:
  void record(Duration d);
  uint64_t count() const { return count_; }
  Duration max() const { return max_; }
  Duration mean() const;
  // p in [0, 100]: the upper bound of the bucket holding that percentile
  // (capped at max()); zero when empty.
  Duration percentile(double p) const;
  void reset() { *this = LatencyHistogram{}; }

 private:
  static constexpr int kSub = 8;       // buckets per power of two
  static constexpr int kLinear = 16;   // exact microseconds below this
  static constexpr int kOctaves = 40;  // up to 2^44 us (~200 days)
  static constexpr int kBuckets = kLinear + kOctaves * kSub;
  static int bucket(uint64_t us);
  static uint64_t upper_us(int bucket);
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  Duration max_{};
  Duration sum_{};
};

}  // namespace hd::checkers
