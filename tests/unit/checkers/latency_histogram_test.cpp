// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/latency_histogram.h"

#include <gtest/gtest.h>

namespace hd::checkers {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(LatencyHistogram, PercentilesWithinOneBucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(50), Duration::zero());
  for (int i = 1; i <= 1000; ++i) h.record(microseconds(i * 100));  // 0.1 ms .. 100 ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), milliseconds(100));
  auto near = [](Duration got, Duration want) {
    double g = std::chrono::duration<double>(got).count();
    double w = std::chrono::duration<double>(want).count();
    return g >= w && g <= w * 1.13;
  };
  EXPECT_TRUE(near(h.percentile(50), milliseconds(50)));
  EXPECT_TRUE(near(h.percentile(99), milliseconds(99)));
  EXPECT_EQ(h.percentile(100), milliseconds(100));
  double mean_ms = std::chrono::duration<double, std::milli>(h.mean()).count();
  EXPECT_NEAR(mean_ms, 50.05, 0.01);
}

TEST(LatencyHistogram, SmallNegativeAndHuge) {
  LatencyHistogram h;
  h.record(microseconds(-5));  // clock noise: counted as zero
  h.record(microseconds(3));
  h.record(std::chrono::hours(24 * 365));
  EXPECT_EQ(h.percentile(10), Duration::zero());
  EXPECT_EQ(h.percentile(50), microseconds(3));
  EXPECT_EQ(h.percentile(100), std::chrono::hours(24 * 365));
}

}  // namespace
}  // namespace hd::checkers
