// SPDX-License-Identifier: GPL-2.0-or-later
// The Prometheus text exposition format (version 0.0.4), written: families with their HELP
// and TYPE lines, samples with escaped label values, histograms as _bucket/_sum/_count. Pure:
// the subsystems write what they know into one, the metrics endpoint serves the text.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hd::metrics {

// Observations counted into fixed upper bounds (ascending; +Inf is implicit): a Prometheus
// histogram's state, cheap to update on a hot path (a short scan, no allocation).
class Histogram {
 public:
  Histogram() = default;  // no bounds: only the sum and count
  explicit Histogram(std::span<const double> bounds)
      : bounds_(bounds.begin(), bounds.end()), counts_(bounds.size(), 0) {}
  void observe(double v);
  std::span<const double> bounds() const { return bounds_; }
  std::span<const uint64_t> counts() const { return counts_; }  // per bucket, not cumulative
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Seconds, for durations from a millisecond to ten seconds (checks, reconciles).
inline constexpr double kDurationBounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,   0.25,   0.5,   1,    2.5,   5, 10};

struct Label {
  std::string_view name;
  std::string_view value;
};

class Writer {
 public:
  Writer() = default;
  // `expected`: the size the text will likely reach (the previous scrape's), reserved at once.
  explicit Writer(size_t expected) { out_.reserve(expected); }
  // Starts a family. Counters' names end in _total (the convention promtool checks).
  void gauge(std::string_view name, std::string_view help);
  void counter(std::string_view name, std::string_view help);
  void histogram(std::string_view name, std::string_view help);
  // One sample of the current gauge or counter family.
  void sample(std::initializer_list<Label> labels, double value);
  void sample(double value) { sample({}, value); }
  // One histogram of the current histogram family: cumulative _bucket lines (+Inf added),
  // _sum and _count.
  void observe(std::initializer_list<Label> labels, const Histogram& h);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void start(std::string_view name, std::string_view type, std::string_view help);
  void line(std::string_view suffix, std::initializer_list<Label> labels, const Label* extra,
            double value);
  std::string out_;
  std::string family_;
};

// A value as Prometheus reads it: integers without a fraction, NaN, +Inf, -Inf.
std::string format_value(double v);

}  // namespace hd::metrics
