// SPDX-License-Identifier: GPL-2.0-or-later
// The rise/fall state of one health check: a pure function of the results
// fed to it and the time passed in (no clock, no I/O).
//
// A check that is down goes up after `rise` consecutive successes; one that
// is up goes down after `fall` consecutive failures (keepalived's
// rise/fall, HAProxy's rise/fall). While up, a success that carries another
// weight (script exit_weights) is a transition too, so the new weight
// reaches IPVS without waiting for a state change. An inconclusive result (the
// probe could not run here: Result::inconclusive) is counted and remembered as
// the last result, but neither breaks nor extends a streak: running out of
// descriptors on the director must not take every real server out of rotation.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <optional>

#include "checkers/result.h"
#include "core/clock.h"

namespace hd::checkers {

struct Hysteresis {
  int rise = 1;  // >= 1
  int fall = 1;  // >= 1
  bool initial_up = false;
};

struct Transition {
  bool was_up = false;
  bool up = false;
  std::optional<int> weight;  // the weight now in force (up only; none: the configured one)
  Result result;              // the result that caused it
  TimePoint at;
  bool weight_only() const { return was_up == up; }
};

// A Result as a check keeps it (its last one, and the one that caused its state): 24 bytes
// where an std::optional<Result> is 56, its detail on the heap only when it has one (most
// results have none). 100,000 checks keep two each.
class StoredResult {
 public:
  StoredResult() = default;
  StoredResult(const StoredResult& o) { *this = o; }
  StoredResult& operator=(const StoredResult& o);
  StoredResult& operator=(const Result& r);
  std::optional<Result> get() const;

 private:
  std::unique_ptr<const std::string> detail_;
  int32_t code_ = 0;
  int32_t weight_ = 0;
  uint8_t reason_ = 0;
  bool has_weight_ = false;
  bool set_ = false;
};

class CheckState {
 public:
  CheckState(Hysteresis h, TimePoint created);

  // Feeds one probe result; returns the transition it causes, if any.
  std::optional<Transition> on_result(const Result& r, TimePoint now);

  bool up() const { return up_; }
  std::optional<int> weight() const { return weight_; }
  // The last probe's result (none before the first probe).
  std::optional<Result> last_result() const { return last_.get(); }
  // When the state last changed (creation time until the first transition).
  TimePoint since() const { return since_; }
  // The result that made the last up/down change ("bad status 503" for a fall, "ok" for a
  // rise): kept while later results come and go. None while in the initial state.
  std::optional<Result> cause() const { return cause_.get(); }
  // The current streak: consecutive successes or consecutive failures (one of the two is 0;
  // inconclusive results neither end nor extend it).
  int consecutive() const { return std::max(successes_, failures_); }
  uint64_t checks() const { return checks_; }
  uint64_t failures() const { return failures_total_; }
  uint64_t transitions() const { return transitions_; }
  uint64_t inconclusive() const { return inconclusive_total_; }
  const Hysteresis& hysteresis() const { return h_; }

 private:
  Hysteresis h_;
  bool up_;
  std::optional<int> weight_;
  StoredResult last_;
  StoredResult cause_;
  TimePoint since_;
  int successes_ = 0;
  int failures_ = 0;
  uint64_t checks_ = 0;
  uint64_t failures_total_ = 0;
  uint64_t transitions_ = 0;
  uint64_t inconclusive_total_ = 0;
};

}  // namespace hd::checkers
