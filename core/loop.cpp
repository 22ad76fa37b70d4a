// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/loop.h"

#include <stdexcept>

namespace hd {
namespace {
double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Loop& Loop::main() {
  static Loop loop{DefaultTag{}};
  return loop;
}

Loop::Loop() : loop_(ev_loop_new(EVFLAG_AUTO)), owned_(true) {
  if (!loop_) throw std::runtime_error("ev_loop_new failed");
}

Loop::Loop(DefaultTag) : loop_(ev_default_loop(EVFLAG_AUTO)), owned_(false) {
  if (!loop_) throw std::runtime_error("ev_default_loop failed");
}

Loop::~Loop() {
  if (owned_) ev_loop_destroy(loop_);
}

Timer::Timer(Loop& loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {
  ev_init(&w_, &Timer::trampoline);
  w_.data = this;
}
Timer::~Timer() { stop(); }
void Timer::start(Duration after, Duration repeat) {
  ev_timer_stop(loop_.raw(), &w_);
  ev_now_update(loop_.raw());
  ev_timer_set(&w_, seconds(after), seconds(repeat));
  ev_timer_start(loop_.raw(), &w_);
}
void Timer::stop() { ev_timer_stop(loop_.raw(), &w_); }
void Timer::trampoline(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<Timer*>(w->data);
  self->cb_();
}

Prepare::Prepare(Loop& loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {
  ev_prepare_init(&w_, &Prepare::trampoline);
  w_.data = this;
}
Prepare::~Prepare() { stop(); }
void Prepare::trampoline(struct ev_loop*, ev_prepare* w, int) {
  auto* self = static_cast<Prepare*>(w->data);
  self->cb_();
}

IoWatcher::IoWatcher(Loop& loop, int fd, int events, std::function<void(int)> cb)
    : loop_(loop), cb_(std::move(cb)) {
  ev_io_init(&w_, &IoWatcher::trampoline, fd, events);
  w_.data = this;
}
IoWatcher::~IoWatcher() { stop(); }
void IoWatcher::start() { ev_io_start(loop_.raw(), &w_); }
void IoWatcher::stop() { ev_io_stop(loop_.raw(), &w_); }
void IoWatcher::set(int fd, int events) {
  bool was = active();
  stop();
  ev_io_set(&w_, fd, events);
  if (was) start();
}
void IoWatcher::trampoline(struct ev_loop*, ev_io* w, int revents) {
  static_cast<IoWatcher*>(w->data)->cb_(revents);
}

SignalWatcher::SignalWatcher(Loop& loop, int signum, std::function<void()> cb)
    : loop_(loop), cb_(std::move(cb)) {
  ev_signal_init(&w_, &SignalWatcher::trampoline, signum);
  w_.data = this;
  ev_signal_start(loop_.raw(), &w_);
}
SignalWatcher::~SignalWatcher() { ev_signal_stop(loop_.raw(), &w_); }
void SignalWatcher::trampoline(struct ev_loop*, ev_signal* w, int) {
  static_cast<SignalWatcher*>(w->data)->cb_();
}

ChildWatcher::ChildWatcher(Loop& loop, pid_t pid, std::function<void(int)> cb)
    : loop_(loop), cb_(std::move(cb)) {
  ev_child_init(&w_, &ChildWatcher::trampoline, pid, 0);
  w_.data = this;
  ev_child_start(loop_.raw(), &w_);
}
ChildWatcher::~ChildWatcher() { ev_child_stop(loop_.raw(), &w_); }
void ChildWatcher::trampoline(struct ev_loop* l, ev_child* w, int) {
  ev_child_stop(l, w);
  static_cast<ChildWatcher*>(w->data)->cb_(w->rstatus);
}

AsyncWake::AsyncWake(Loop& loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {
  ev_async_init(&w_, &AsyncWake::trampoline);
  w_.data = this;
  ev_async_start(loop_.raw(), &w_);
}
AsyncWake::~AsyncWake() { ev_async_stop(loop_.raw(), &w_); }
void AsyncWake::trampoline(struct ev_loop*, ev_async* w, int) {
  static_cast<AsyncWake*>(w->data)->cb_();
}

}  // namespace hd
