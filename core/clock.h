// SPDX-License-Identifier: GPL-2.0-or-later
// Time is injected: logic takes a Clock (or a TimePoint argument) and never
// reads the system clock itself, so tests can advance time by hand.
#pragma once
#include <chrono>
#include <optional>
#include <string_view>

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

// "100ms", "1.5s", "2m", "1h" (or a bare number of seconds as text), to the microsecond.
// Negative or malformed values give nullopt. The config's durations and ctl's --timeout.
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace hd
