// SPDX-License-Identifier: GPL-2.0-or-later
// Time is injected: logic takes a Clock (or a TimePoint argument) and never
// reads the system clock itself, so tests can advance time by hand.
#pragma once
#include <chrono>

namespace hd {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = std::chrono::nanoseconds;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
};

// A clock that only moves when told to (tests, simulations).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

// Wall-clock seconds since the epoch, for status output only.
double wall_seconds();

}  // namespace hd
