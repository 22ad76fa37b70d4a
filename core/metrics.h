// SPDX-License-Identifier: GPL-2.0-or-later
// The Prometheus text exposition format (version 0.0.4), written: families with their HELP
// and TYPE lines, samples with escaped label values, histograms as _bucket/_sum/_count. Pure:
// the subsystems write what they know into one, the metrics endpoint serves the text.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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

// The text is written in chunks of about kChunk bytes (each line whole in one): a response of
// megabytes never moves as it grows (a doubling string copied 4 MB in one slice of a scrape),
// and it can be sent as it is, chunk after chunk.
class Writer {
 public:
  static constexpr size_t kChunk = 256 * 1024;
  Writer() = default;
  // Writes into `spare` chunks first (a previous response's: their memory is mapped already).
  explicit Writer(std::vector<std::string> spare) : spare_(std::move(spare)) { next_chunk(); }
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

  size_t size() const { return full_size_ + out_.size(); }
  std::string text() const;  // the chunks joined (a copy)
  std::string take();        // the same, taken
  std::vector<std::string> take_chunks();  // in order; none empty

 private:
  void start(std::string_view name, std::string_view type, std::string_view help);
  void line(std::string_view suffix, std::initializer_list<Label> labels, const Label* extra,
            double value);
  void roll() {  // before a line: a full chunk is set aside
    if (out_.size() >= kChunk) {
      full_size_ += out_.size();
      full_.push_back(std::move(out_));
      next_chunk();
    }
  }
  void next_chunk();
  std::string out_;                // the chunk being written
  std::vector<std::string> full_;  // the ones before it
  size_t full_size_ = 0;
  std::vector<std::string> spare_;
  std::string family_;
};

// A value as Prometheus reads it: integers without a fraction, NaN, +Inf, -Inf.
std::string format_value(double v);

// A response built in slices, a few milliseconds of the main loop at a time, so that a scrape
// of 100,000 series never holds up what else is due (checks). A step writes a bounded part of
// the text: a small family whole, or the next slice of a big one (its samples stay together:
// the steps of one family run one after the other). It answers:
//   done:  its part is written;
//   more:  call it again (the next slice);
//   stale: what it reads changed since the scrape began (a reload): start over.
enum class StepResult : uint8_t { done, more, stale };
using Step = std::function<StepResult(Writer&)>;
using Steps = std::vector<Step>;

// Runs steps to the end at once (tests, and the fallback after repeated restarts). False when
// one answered stale.
bool run_all(const Steps& steps, Writer& w);

// One family over a std::map in slices of `per_step` entries, resuming by key: entries added
// or removed between slices are simply met or not (no iterator is kept across turns).
// `valid` says whether the scrape may go on (false: stale).
template <class Map, class Header, class Body>
Step map_family(const Map& map, size_t per_step, std::function<bool()> valid, Header header,
                Body body) {
  // Where the next step resumes, as a copy: a map keyed by views (the Checker's) may have
  // freed that key by then.
  using Key = std::conditional_t<std::is_convertible_v<typename Map::key_type, std::string_view>,
                                 std::string, typename Map::key_type>;
  auto next = std::make_shared<std::optional<Key>>();
  return [&map, per_step, valid = std::move(valid), header, body, next](Writer& w) {
    if (valid && !valid()) return StepResult::stale;
    auto it = map.begin();
    if (*next)
      it = map.lower_bound(**next);
    else
      header(w);
    for (size_t n = 0; it != map.end() && n < per_step; ++it, ++n) body(w, *it);
    if (it == map.end()) return StepResult::done;
    *next = Key(it->first);
    return StepResult::more;
  };
}

// One family over `count()` indexed rows in slices of `per_step` rows. `valid` must turn false
// when the rows are replaced (the indices would mean other rows).
template <class Header, class Body>
Step indexed_family(std::function<size_t()> count, size_t per_step, std::function<bool()> valid,
                    Header header, Body body) {
  auto next = std::make_shared<size_t>(0);
  auto started = std::make_shared<bool>(false);
  return [count = std::move(count), per_step, valid = std::move(valid), header, body, next,
          started](Writer& w) {
    if (valid && !valid()) return StepResult::stale;
    if (!*started) {
      *started = true;
      header(w);
    }
    const size_t n = count();
    const size_t end = std::min(n, *next + per_step);
    for (size_t i = *next; i < end; ++i) body(w, i);
    *next = end;
    return end >= n ? StepResult::done : StepResult::more;
  };
}

// One family over rows that hold items (a virtual server's real servers), in slices of
// `per_step` items, resuming at (row, item), so one big row is sliced too. `row(w, i)`
// returns what the items of row i share (looked up again when a slice resumes inside it);
// `item(w, i, j, shared)` writes item j of row i.
template <class Header, class Row, class Item>
Step nested_family(std::function<size_t()> rows, std::function<size_t(size_t)> items,
                   size_t per_step, std::function<bool()> valid, Header header, Row row,
                   Item item) {
  struct Cursor {
    bool started = false;
    size_t i = 0, j = 0;
  };
  auto at = std::make_shared<Cursor>();
  return [rows = std::move(rows), items = std::move(items), per_step, valid = std::move(valid),
          header, row, item, at](Writer& w) {
    if (valid && !valid()) return StepResult::stale;
    if (!at->started) {
      at->started = true;
      header(w);
    }
    const size_t n = rows();
    size_t budget = per_step;
    while (at->i < n && budget > 0) {
      const size_t m = items(at->i);
      if (at->j < m) {
        auto shared = row(at->i);
        for (; at->j < m && budget > 0; ++at->j, --budget) item(w, at->i, at->j, shared);
      }
      if (at->j >= m) {
        ++at->i;
        at->j = 0;
        if (budget > 0) --budget;  // an empty row still costs a little
      }
    }
    return at->i >= n ? StepResult::done : StepResult::more;
  };
}

}  // namespace hd::metrics
