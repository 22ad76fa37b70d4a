// SPDX-License-Identifier: GPL-2.0-or-later
// One-shot timers behind an interface, so that logic which schedules by time (the health
// checker) runs on a real libev Loop in production and on simulated time in tests:
// LoopTimers arms libev timers and reads the steady clock; SimTimers keeps its own
// ManualClock and fires what is due only when told to advance, in deadline order, so a
// test states exact times ("the third run starts at 200 ms, 70 ms late") instead of
// sleeping and allowing for the machine's load.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "core/clock.h"
#include "core/loop.h"

namespace hd {

class TimerSource {
 public:
  // One timer: start() (re)arms it to fire once, `after` from now; stop() disarms it.
  // Its callback runs from the source (the loop, or SimTimers::advance), never from start().
  class Handle {
   public:
    virtual ~Handle() = default;
    virtual void start(Duration after) = 0;
    virtual void stop() = 0;
    virtual bool active() const = 0;
  };
  virtual ~TimerSource() = default;
  virtual std::unique_ptr<Handle> make(std::function<void()> cb) = 0;
  // The time the timers count in.
  virtual const Clock& clock() const = 0;
};

// Production: libev timers on `loop`, steady time.
class LoopTimers final : public TimerSource {
 public:
  explicit LoopTimers(Loop& loop) : loop_(loop) {}
  std::unique_ptr<Handle> make(std::function<void()> cb) override;
  const Clock& clock() const override { return clock_; }

 private:
  Loop& loop_;
  RealClock clock_;
};

// Simulated time. Nothing fires until advance(): it moves the clock to each deadline due
// within the step in turn (ties in the order they were armed) and runs its callback, so a
// callback that arms a timer due within the step sees it fire in the same call. Handles
// that outlive the source stay inert.
class SimTimers final : public TimerSource {
 public:
  explicit SimTimers(TimePoint start = TimePoint{} + std::chrono::hours(1)) : clock_(start) {}
  ~SimTimers() override;
  std::unique_ptr<Handle> make(std::function<void()> cb) override;
  const Clock& clock() const override { return clock_; }
  TimePoint now() const { return clock_.now(); }

  // Runs every timer due up to now + d, then leaves the clock at now + d.
  void advance(Duration d);
  // Runs timers due now or earlier (a zero-delay timer armed by a callback included).
  void settle() { advance(Duration::zero()); }
  // A stalled loop: the clock jumps by d and nothing fires; the next advance() or settle()
  // runs what came due meanwhile, late.
  void stall(Duration d) { clock_.advance(d); }
  // Armed timers.
  size_t armed() const { return queue_.size(); }
  // The next deadline, or nullopt when nothing is armed.
  std::optional<TimePoint> next_deadline() const;

 private:
  class SimHandle;
  using Key = std::pair<TimePoint, uint64_t>;  // deadline, arming order
  ManualClock clock_;
  std::map<Key, SimHandle*> queue_;
  std::set<SimHandle*> handles_;  // every live handle: made inert when the source goes
  uint64_t armed_total_ = 0;
};

}  // namespace hd
