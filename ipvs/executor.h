// SPDX-License-Identifier: GPL-2.0-or-later
// Where a Backend's calls run. The kernel does a generic netlink request's work inside the
// sender's sendmsg() (tens to hundreds of microseconds an operation, seconds for a big
// table, as long as another process holds IPVS's mutex), so LvsSubsystem gives the IPVS
// backend a thread of its own (ThreadExecutor) and keeps the main loop for checks: it posts
// a read or a batch of operations and goes on; the result comes back to the loop as a
// callback. Backends that do not wait on the kernel (the fake one in tests, nftables, which
// lists its table in its own thread already) run inline: post() does the work and calls
// back before it returns, so they behave exactly as a synchronous call.
//
// One writer: while an executor exists, only it calls its backend.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/loop.h"
#include "ipvs/backend.h"

namespace hd::ipvs {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `work(backend)` after everything posted before it, then `done` on the owner's loop
  // (inline: at once, before post() returns). `done` is dropped if the executor goes first.
  virtual void post(std::function<void(Backend&)> work, std::function<void()> done) = 0;
  // Runs `work(backend)` after everything posted before it and returns once it has run
  // (the owner waits: for start and stop, not for the hot path).
  virtual void call(const std::function<void(Backend&)>& work) = 0;

  // The typed form: `work` returns a value that `done` receives.
  template <typename T>
  void post(std::function<T(Backend&)> work, std::function<void(T)> done) {
    auto slot = std::make_shared<std::optional<T>>();
    post([slot, work = std::move(work)](Backend& b) { slot->emplace(work(b)); },
         [slot, done = std::move(done)] { done(std::move(**slot)); });
  }
};

class InlineExecutor final : public Executor {
 public:
  explicit InlineExecutor(Backend& backend) : backend_(backend) {}
  using Executor::post;
  void post(std::function<void(Backend&)> work, std::function<void()> done) override {
    work(backend_);
    done();
  }
  void call(const std::function<void(Backend&)>& work) override { work(backend_); }

 private:
  Backend& backend_;
};

// A worker thread that runs the posted work in order; completions go back through a
// Mailbox to `loop`. The destructor runs what is still queued (a stopping daemon's last
// operations), drops its completions, and joins.
class ThreadExecutor final : public Executor {
 public:
  ThreadExecutor(Loop& loop, Backend& backend);
  ~ThreadExecutor() override;
  using Executor::post;
  void post(std::function<void(Backend&)> work, std::function<void()> done) override;
  void call(const std::function<void(Backend&)>& work) override;

 private:
  struct Task {
    std::function<void(Backend&)> work;
    std::function<void()> done;
  };
  void worker();

  Backend& backend_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  // Completions, to the loop. Destroyed with the executor: what is still in it never runs.
  Mailbox<std::function<void()>> completions_;
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace hd::ipvs
