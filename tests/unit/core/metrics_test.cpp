// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hd::metrics {
namespace {

TEST(MetricsWriter, FamiliesHaveHelpTypeAndSamples) {
  Writer w;
  w.gauge("hd_up", "Is it up.");
  w.sample(1);
  w.counter("hd_things_total", "Things.\nWith a backslash \\ in help.");
  w.sample({{"kind", "a"}}, 3);
  w.sample({{"kind", "b"}, {"where", "x"}}, 0.25);
  EXPECT_EQ(w.text(),
            "# HELP hd_up Is it up.\n# TYPE hd_up gauge\nhd_up 1\n"
            "# HELP hd_things_total Things.\\nWith a backslash \\\\ in help.\n"
            "# TYPE hd_things_total counter\n"
            "hd_things_total{kind=\"a\"} 3\nhd_things_total{kind=\"b\",where=\"x\"} 0.25\n");
}

TEST(MetricsWriter, LabelValuesAreEscaped) {
  Writer w;
  w.gauge("hd_x", "X.");
  w.sample({{"check", "tcp 10.0.0.1:80 -> \"x\"\\\n"}}, 1);
  EXPECT_EQ(w.text(), "# HELP hd_x X.\n# TYPE hd_x gauge\n"
                      "hd_x{check=\"tcp 10.0.0.1:80 -> \\\"x\\\"\\\\\\n\"} 1\n");
}

TEST(MetricsWriter, ValuesAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(0.001), "0.001");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(format_value(18446744073709551615.0), "18446744073709551616");  // 2^64, exact
  // Integers below 2^53 (counts, 0/1 gauges) by their digits; fractions as shortest doubles.
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(-0.25), "-0.25");
}

TEST(MetricsWriter, ABigTextIsWrittenInWholeLineChunks) {
  Writer w;
  w.gauge("hd_x", "X.");
  for (int i = 0; i < 30000; ++i) w.sample({{"row", std::to_string(i)}}, i);
  const std::string all = w.text();
  EXPECT_EQ(all.size(), w.size());
  auto chunks = w.take_chunks();
  ASSERT_GT(chunks.size(), 1u);
  std::string joined;
  for (auto& c : chunks) {
    EXPECT_EQ(c.back(), '\n') << "lines are not split";
    EXPECT_LE(c.size(), Writer::kChunk + 200);
    joined += c;
  }
  EXPECT_EQ(joined, all);
  EXPECT_EQ(w.size(), 0u);
  // Spare chunks are written into again, the same text.
  Writer again(std::move(chunks));
  again.gauge("hd_x", "X.");
  for (int i = 0; i < 30000; ++i) again.sample({{"row", std::to_string(i)}}, i);
  EXPECT_EQ(again.take(), all);
}

TEST(MetricsHistogram, BucketsAreCumulativeWithInfSumAndCount) {
  const double bounds[] = {0.01, 0.1, 1};
  Histogram h(bounds);
  // Binary fractions, so the sum prints exactly.
  for (double v : {0.0078125, 0.0078125, 0.0625, 0.5, 7.0}) h.observe(v);
  EXPECT_THAT(h.counts(), ::testing::ElementsAre(2u, 1u, 1u));
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.sum(), 7.578125);
  Writer w;
  w.histogram("hd_took_seconds", "Took.");
  w.observe({{"type", "tcp"}}, h);
  EXPECT_EQ(w.text(),
            "# HELP hd_took_seconds Took.\n# TYPE hd_took_seconds histogram\n"
            "hd_took_seconds_bucket{type=\"tcp\",le=\"0.01\"} 2\n"
            "hd_took_seconds_bucket{type=\"tcp\",le=\"0.1\"} 3\n"
            "hd_took_seconds_bucket{type=\"tcp\",le=\"1\"} 4\n"
            "hd_took_seconds_bucket{type=\"tcp\",le=\"+Inf\"} 5\n"
            "hd_took_seconds_sum{type=\"tcp\"} 7.578125\n"
            "hd_took_seconds_count{type=\"tcp\"} 5\n");
}

}  // namespace
}  // namespace hd::metrics
