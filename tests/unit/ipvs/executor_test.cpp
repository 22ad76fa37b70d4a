// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/loop.h"
#include "ipvs/fake_backend.h"

namespace hd::ipvs {
namespace {

using namespace std::chrono_literals;

bool run_until(Loop& loop, const std::function<bool()>& done, Duration limit = 3s) {
  Timer tick(loop, [] {});
  tick.start(Millis(1), Millis(1));
  auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    loop.run_once();
  }
  return true;
}

TEST(ThreadExecutor, RunsWorkInOrderOffTheLoopAndCallsBackOnTheLoop) {
  Loop loop;
  FakeBackend fake;
  ThreadExecutor exec(loop, fake);
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> worked;  // written on the worker only, read after the callbacks
  std::vector<int> called;
  bool off_loop = true, on_loop = true;
  for (int i = 0; i < 3; ++i)
    exec.post<int>(
        [&, i](Backend&) {
          off_loop = off_loop && std::this_thread::get_id() != loop_thread;
          worked.push_back(i);
          return i * 10;
        },
        [&](int v) {
          on_loop = on_loop && std::this_thread::get_id() == loop_thread;
          called.push_back(v);
        });
  EXPECT_TRUE(called.empty());  // never from within post()
  ASSERT_TRUE(run_until(loop, [&] { return called.size() == 3; }));
  EXPECT_EQ(called, (std::vector<int>{0, 10, 20}));
  EXPECT_EQ(worked, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(off_loop);
  EXPECT_TRUE(on_loop);
}

TEST(ThreadExecutor, CallRunsAfterWhatWasPostedBeforeAndWaitsForIt) {
  Loop loop;
  FakeBackend fake;
  ThreadExecutor exec(loop, fake);
  std::atomic<int> step{0};
  exec.post(
      [&](Backend&) {
        std::this_thread::sleep_for(50ms);
        step = 1;
      },
      [] {});
  int seen = -1;
  exec.call([&](Backend&) { seen = step.load(); });
  EXPECT_EQ(seen, 1);
}

TEST(ThreadExecutor, GoingAwayRunsWhatIsQueuedButNotItsCallbacks) {
  Loop loop;
  FakeBackend fake;
  std::atomic<int> worked{0};
  int called = 0;
  {
    ThreadExecutor exec(loop, fake);
    for (int i = 0; i < 3; ++i)
      exec.post(
          [&](Backend&) {
            std::this_thread::sleep_for(5ms);
            ++worked;
          },
          [&] { ++called; });
  }
  EXPECT_EQ(worked, 3);
  for (int i = 0; i < 5; ++i) loop.run_once();  // nothing left to deliver them
  EXPECT_EQ(called, 0);
}

TEST(InlineExecutor, RunsWorkAndItsCallbackBeforePostReturns) {
  FakeBackend fake;
  InlineExecutor exec(fake);
  int v = 0;
  exec.post<int>([](Backend& b) { return b.dump() ? 1 : 2; }, [&](int r) { v = r; });
  EXPECT_EQ(v, 1);
  EXPECT_EQ(fake.dumps(), 1u);
}

}  // namespace
}  // namespace hd::ipvs
