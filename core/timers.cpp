// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/timers.h"

namespace hd {
namespace {

class LoopHandle final : public TimerSource::Handle {
 public:
  LoopHandle(Loop& loop, std::function<void()> cb) : timer_(loop, std::move(cb)) {}
  void start(Duration after) override { timer_.start(after); }
  void stop() override { timer_.stop(); }
  bool active() const override { return timer_.active(); }

 private:
  Timer timer_;
};

}  // namespace

std::unique_ptr<TimerSource::Handle> LoopTimers::make(std::function<void()> cb) {
  return std::make_unique<LoopHandle>(loop_, std::move(cb));
}

class SimTimers::SimHandle final : public TimerSource::Handle {
 public:
  SimHandle(SimTimers* owner, std::function<void()> cb) : owner_(owner), cb_(std::move(cb)) {
    owner_->handles_.insert(this);
  }
  ~SimHandle() override {
    stop();
    if (owner_) owner_->handles_.erase(this);
  }
  void start(Duration after) override {
    stop();
    if (!owner_) return;  // the source is gone: nothing will ever fire
    if (after < Duration::zero()) after = Duration::zero();
    key_ = {owner_->clock_.now() + after, owner_->armed_total_++};
    owner_->queue_.emplace(key_, this);
    armed_ = true;
  }
  void stop() override {
    if (!armed_) return;
    armed_ = false;
    if (owner_) owner_->queue_.erase(key_);
  }
  bool active() const override { return armed_; }

 private:
  friend class SimTimers;
  SimTimers* owner_;
  std::function<void()> cb_;
  Key key_{};
  bool armed_ = false;
};

SimTimers::~SimTimers() {
  // Handles that outlive the source stay inert, armed or not.
  for (SimHandle* h : handles_) {
    h->armed_ = false;
    h->owner_ = nullptr;
  }
}

std::unique_ptr<TimerSource::Handle> SimTimers::make(std::function<void()> cb) {
  return std::make_unique<SimHandle>(this, std::move(cb));
}

std::optional<TimePoint> SimTimers::next_deadline() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

void SimTimers::advance(Duration d) {
  TimePoint end = clock_.now() + d;
  while (!queue_.empty() && queue_.begin()->first.first <= end) {
    auto it = queue_.begin();
    SimHandle* h = it->second;
    // A timer armed late (stall) fires now, not back in time.
    if (it->first.first > clock_.now()) clock_.set(it->first.first);
    queue_.erase(it);
    h->armed_ = false;
    h->cb_();  // may re-arm h or arm others (not destroy h: its function is running)
  }
  if (end > clock_.now()) clock_.set(end);
}

}  // namespace hd
