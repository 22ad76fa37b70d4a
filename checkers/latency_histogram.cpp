// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace hd::checkers {

int LatencyHistogram::bucket(uint64_t us) {
  if (us < kLinear) return static_cast<int>(us);
  int e = std::bit_width(us) - 1;  // us in [2^e, 2^(e+1)), e >= 4
  int sub = static_cast<int>((us >> (e - 3)) & (kSub - 1));
  int b = kLinear + (e - 4) * kSub + sub;
  return std::min(b, kBuckets - 1);
}

uint64_t LatencyHistogram::upper_us(int b) {
  if (b < kLinear) return static_cast<uint64_t>(b);
  int e = (b - kLinear) / kSub + 4;
  int sub = (b - kLinear) % kSub;
  // Bucket covers [2^e + sub*2^(e-3), 2^e + (sub+1)*2^(e-3)).
  return (uint64_t{1} << e) + (static_cast<uint64_t>(sub) + 1) * (uint64_t{1} << (e - 3)) - 1;
}

void LatencyHistogram::record(Duration d) {
  if (d < Duration::zero()) d = Duration::zero();
  auto us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  ++counts_[static_cast<size_t>(bucket(us))];
  ++count_;
  sum_ += d;
  max_ = std::max(max_, d);
}

Duration LatencyHistogram::mean() const {
  return count_ ? sum_ / static_cast<int64_t>(count_) : Duration::zero();
}

Duration LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return Duration::zero();
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen >= rank) {
      if (b == kBuckets - 1) return max_;  // the overflow bucket has no upper bound
      Duration up = std::chrono::microseconds(upper_us(b));
      return std::min(up, max_);
    }
  }
  return max_;
}

}  // namespace hd::checkers
