// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/executor.h"

#include <pthread.h>

#include <future>

namespace hd::ipvs {

ThreadExecutor::ThreadExecutor(Loop& loop, Backend& backend)
    : backend_(backend),
      completions_(loop, [](std::function<void()>&& f) { f(); }),
      thread_([this] { worker(); }) {}

ThreadExecutor::~ThreadExecutor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ThreadExecutor::post(std::function<void(Backend&)> work, std::function<void()> done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Task{std::move(work), std::move(done)});
  }
  wake_.notify_one();
}

void ThreadExecutor::call(const std::function<void(Backend&)>& work) {
  std::promise<void> ran;
  auto finished = ran.get_future();
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Task{[&](Backend& b) {
                            work(b);
                            ran.set_value();
                          },
                          nullptr});
  }
  wake_.notify_one();
  finished.wait();
}

void ThreadExecutor::worker() {
  pthread_setname_np(pthread_self(), "hd-ipvs");
  for (;;) {
    Task t;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    t.work(backend_);
    if (t.done)
      completions_.post(std::move(t.done));
  }
}

}  // namespace hd::ipvs
