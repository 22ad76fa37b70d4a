// SPDX-License-Identifier: GPL-2.0-or-later
// Thin RAII adapters over libev. Each subsystem that must never be starved
// (VRRP) gets its own Loop on its own thread; the rest share the main Loop.
#pragma once
#include <ev.h>

#include <deque>
#include <functional>
#include <mutex>
#include <utility>

#include "core/clock.h"
#include "core/pi_mutex.h"

namespace hd {

class Loop {
 public:
  // The process's default loop (the only one that can watch signals).
  static Loop& main();
  // A fresh loop, e.g. for a dedicated thread.
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  struct ev_loop* raw() const { return loop_; }
  void run() { ev_run(loop_, 0); }
  void run_once() { ev_run(loop_, EVRUN_ONCE); }
  void run_nowait() { ev_run(loop_, EVRUN_NOWAIT); }
  void stop() { ev_break(loop_, EVBREAK_ALL); }
  // Lets timers that come due within `window` of each other fire in one loop
  // turn (libev's timeout collect interval): one wake-up for many health-check
  // timers instead of one each. I/O still wakes the loop at once. Never on a
  // loop with deadlines tighter than `window` (the VRRP loop has none set).
  void set_timer_batching(Duration window) {
    ev_set_timeout_collect_interval(loop_, std::chrono::duration<double>(window).count());
  }

 private:
  struct DefaultTag {};
  explicit Loop(DefaultTag);
  struct ev_loop* loop_;
  bool owned_;
};

class Timer {
 public:
  Timer(Loop& loop, std::function<void()> cb);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void start(Duration after, Duration repeat = Duration::zero());
  void stop();
  bool active() const { return ev_is_active(&w_); }

 private:
  static void trampoline(struct ev_loop*, ev_timer* w, int);
  Loop& loop_;
  ev_timer w_;
  std::function<void()> cb_;
};

class IoWatcher {
 public:
  // events: EV_READ and/or EV_WRITE
  IoWatcher(Loop& loop, int fd, int events, std::function<void(int revents)> cb);
  ~IoWatcher();
  IoWatcher(const IoWatcher&) = delete;
  IoWatcher& operator=(const IoWatcher&) = delete;
  void start();
  void stop();
  void set(int fd, int events);
  bool active() const { return ev_is_active(&w_); }
  int fd() const { return w_.fd; }
  // Before start(): within one loop turn, watchers of higher priority run first. libev runs
  // the pending watchers of equal priority newest first, so an expired timer (queued after
  // the fds) runs before a socket read of the same turn unless the socket ranks higher.
  void set_priority(int priority) { ev_set_priority(&w_, priority); }
  static constexpr int kMaxPriority = EV_MAXPRI;

 private:
  static void trampoline(struct ev_loop*, ev_io* w, int revents);
  Loop& loop_;
  ev_io w_;
  std::function<void(int)> cb_;
};

class SignalWatcher {
 public:
  SignalWatcher(Loop& loop, int signum, std::function<void()> cb);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  static void trampoline(struct ev_loop*, ev_signal* w, int);
  Loop& loop_;
  ev_signal w_;
  std::function<void()> cb_;
};

class ChildWatcher {
 public:
  // Only on Loop::main(). cb receives the wait status.
  ChildWatcher(Loop& loop, pid_t pid, std::function<void(int status)> cb);
  ~ChildWatcher();
  ChildWatcher(const ChildWatcher&) = delete;
  ChildWatcher& operator=(const ChildWatcher&) = delete;

 private:
  static void trampoline(struct ev_loop*, ev_child* w, int);
  Loop& loop_;
  ev_child w_;
  std::function<void(int)> cb_;
};

// Runs its callback once per loop turn, just before the loop blocks for new
// events, while started (libev's ev_prepare): for work collected during a
// turn and done once at its end (one sendmmsg for many probes, say).
class Prepare {
 public:
  Prepare(Loop& loop, std::function<void()> cb);
  ~Prepare();
  Prepare(const Prepare&) = delete;
  Prepare& operator=(const Prepare&) = delete;
  void start() { ev_prepare_start(loop_.raw(), &w_); }
  void stop() { ev_prepare_stop(loop_.raw(), &w_); }

 private:
  static void trampoline(struct ev_loop*, ev_prepare* w, int);
  Loop& loop_;
  ev_prepare w_;
  std::function<void()> cb_;
};

// Wakes a loop from another thread.
class AsyncWake {
 public:
  AsyncWake(Loop& loop, std::function<void()> cb);
  ~AsyncWake();
  AsyncWake(const AsyncWake&) = delete;
  AsyncWake& operator=(const AsyncWake&) = delete;
  void send() { ev_async_send(loop_.raw(), &w_); }

 private:
  static void trampoline(struct ev_loop*, ev_async* w, int);
  Loop& loop_;
  ev_async w_;
  std::function<void()> cb_;
};

// Typed messages between loops on different threads: post() from any
// thread, the handler runs on the receiving loop. The queue's lock inherits priority
// (PiMutex): the real-time VRRP thread posts to and drains from the main thread.
template <typename T>
class Mailbox {
 public:
  Mailbox(Loop& receiver, std::function<void(T&&)> handler)
      : handler_(std::move(handler)), wake_(receiver, [this] { drain(); }) {}
  void post(T msg) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(msg));
    }
    wake_.send();
  }

  // Handles every queued message now (on the receiving loop's thread).
  void drain() {
    std::deque<T> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(queue_);
    }
    for (auto& m : batch) handler_(std::move(m));
  }

 private:
  std::function<void(T&&)> handler_;
  PiMutex mu_;
  std::deque<T> queue_;
  AsyncWake wake_;
};

}  // namespace hd
