// SPDX-License-Identifier: GPL-2.0-or-later
// Priority inversion, staged for real on one CPU: a normal-priority thread holds the lock and
// needs 30 ms of CPU to finish, a SCHED_FIFO 30 thread waits for the lock, and a SCHED_FIFO 20
// thread spins for 300 ms. With priority inheritance the holder runs at 30 while it is waited
// for, so the waiter has the lock in about 30 ms; with a plain mutex the spinner starves the
// holder and the waiter waits the whole 300 ms. The plain-mutex case is run too: it is the
// proof that this stage can show an inversion at all. Needs CAP_SYS_NICE (CI runs as root).
#include "core/pi_mutex.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace hd {
namespace {

using namespace std::chrono;

bool pin_and_schedule(int policy, int priority) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) return false;
  sched_param sp{};
  sp.sched_priority = priority;
  return pthread_setschedparam(pthread_self(), policy, &sp) == 0;
}

double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool can_use_fifo() {
  sched_param sp{};
  sp.sched_priority = 1;
  bool ok = false;
  std::thread t([&] { ok = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0; });
  t.join();
  return ok;
}

// How long the high-priority thread waited for the lock, in ms.
template <typename Mutex>
double stage_inversion() {
  Mutex mu;
  std::atomic<int> step{0};
  std::atomic<bool> setup_failed{false};
  double waited_ms = -1;
  std::thread low([&] {
    if (!pin_and_schedule(SCHED_OTHER, 0)) setup_failed = true;
    std::lock_guard lock(mu);
    step = 1;
    const double start = thread_cpu_ms();
    while (thread_cpu_ms() - start < 30) {
    }
  });
  while (step < 1) std::this_thread::sleep_for(milliseconds(1));
  std::thread high([&] {
    if (!pin_and_schedule(SCHED_FIFO, 30)) setup_failed = true;
    auto t0 = steady_clock::now();
    step = 2;
    std::lock_guard lock(mu);
    waited_ms = duration<double, std::milli>(steady_clock::now() - t0).count();
  });
  while (step < 2) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(milliseconds(2));  // high is blocked on the lock by now
  std::thread medium([&] {
    if (!pin_and_schedule(SCHED_FIFO, 20)) setup_failed = true;
    auto end = steady_clock::now() + milliseconds(300);
    while (steady_clock::now() < end) {
    }
  });
  medium.join();
  high.join();
  low.join();
  EXPECT_FALSE(setup_failed) << "could not pin the threads to CPU 0 or make them SCHED_FIFO";
  return waited_ms;
}

TEST(PiMutex, IsALockForLockGuard) {
  PiMutex mu;
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(mu.try_lock());
  }
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(PiMutex, HolderInheritsTheWaitersPriority) {
  ASSERT_TRUE(can_use_fifo()) << "needs CAP_SYS_NICE (run as root)";
  const double waited = stage_inversion<PiMutex>();
  EXPECT_GE(waited, 0);
  EXPECT_LT(waited, 150) << "the SCHED_FIFO 30 waiter waited " << waited << " ms";
}

TEST(PiMutex, APlainMutexShowsTheInversionThisStageDetects) {
  ASSERT_TRUE(can_use_fifo()) << "needs CAP_SYS_NICE (run as root)";
  const double waited = stage_inversion<std::mutex>();
  EXPECT_GT(waited, 200) << "the stage did not produce an inversion: it proves nothing";
}

}  // namespace
}  // namespace hd
