// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/timers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hd {
namespace {

using std::chrono::milliseconds;

TEST(SimTimers, FireInDeadlineOrderAtTheirDeadlines) {
  SimTimers sim;
  TimePoint t0 = sim.now();
  std::vector<std::pair<std::string, Duration>> fired;
  auto a = sim.make([&] { fired.emplace_back("a", sim.now() - t0); });
  auto b = sim.make([&] { fired.emplace_back("b", sim.now() - t0); });
  auto c = sim.make([&] { fired.emplace_back("c", sim.now() - t0); });
  a->start(milliseconds(30));
  b->start(milliseconds(10));
  c->start(milliseconds(30));  // ties fire in the order armed
  EXPECT_TRUE(a->active());
  EXPECT_EQ(sim.armed(), 3u);
  EXPECT_EQ(sim.next_deadline(), t0 + milliseconds(10));
  sim.advance(milliseconds(29));
  ASSERT_EQ(fired.size(), 1u);
  sim.advance(milliseconds(1));
  std::vector<std::pair<std::string, Duration>> want = {
      {"b", milliseconds(10)}, {"a", milliseconds(30)}, {"c", milliseconds(30)}};
  EXPECT_EQ(fired, want);
  EXPECT_FALSE(a->active());
  EXPECT_EQ(sim.armed(), 0u);
  EXPECT_EQ(sim.now() - t0, milliseconds(30));
}

TEST(SimTimers, ACallbackMayReArmWithinTheSameAdvance) {
  SimTimers sim;
  TimePoint t0 = sim.now();
  std::vector<Duration> at;
  std::unique_ptr<TimerSource::Handle> t;
  t = sim.make([&] {
    at.push_back(sim.now() - t0);
    t->start(milliseconds(25));
  });
  t->start(milliseconds(25));
  sim.advance(milliseconds(110));
  EXPECT_EQ(at, (std::vector<Duration>{milliseconds(25), milliseconds(50), milliseconds(75),
                                       milliseconds(100)}));
  EXPECT_EQ(sim.now() - t0, milliseconds(110));
  EXPECT_EQ(sim.next_deadline(), t0 + milliseconds(125));
}

TEST(SimTimers, StopRestartAndDestroyDisarm) {
  SimTimers sim;
  int fired = 0;
  auto a = sim.make([&] { ++fired; });
  a->start(milliseconds(10));
  a->stop();
  sim.advance(milliseconds(20));
  EXPECT_EQ(fired, 0);
  a->start(milliseconds(10));
  a->start(milliseconds(30));  // re-arming replaces the deadline
  sim.advance(milliseconds(29));
  EXPECT_EQ(fired, 0);
  sim.advance(milliseconds(1));
  EXPECT_EQ(fired, 1);
  a->start(milliseconds(5));
  a.reset();
  EXPECT_EQ(sim.armed(), 0u);
  sim.advance(milliseconds(10));
  EXPECT_EQ(fired, 1);
}

// A stall moves the clock and fires nothing; what came due then fires late, at the time
// the loop gets to it, not back in time.
TEST(SimTimers, AStallFiresLateNotBackInTime) {
  SimTimers sim;
  TimePoint t0 = sim.now();
  std::vector<Duration> at;
  auto a = sim.make([&] { at.push_back(sim.now() - t0); });
  auto z = sim.make([&] { at.push_back(sim.now() - t0); });
  a->start(milliseconds(10));
  sim.stall(milliseconds(50));
  EXPECT_TRUE(at.empty());
  z->start(Duration::zero());
  sim.settle();
  EXPECT_EQ(at, (std::vector<Duration>{milliseconds(50), milliseconds(50)}));
}

TEST(SimTimers, HandlesOutlivingTheSourceAreInert) {
  std::unique_ptr<TimerSource::Handle> armed, fired, idle;
  {
    SimTimers sim;
    armed = sim.make([] {});
    fired = sim.make([] {});
    idle = sim.make([] {});
    armed->start(milliseconds(5));
    fired->start(milliseconds(1));
    sim.advance(milliseconds(2));
  }
  for (auto* h : {armed.get(), fired.get(), idle.get()}) {
    EXPECT_FALSE(h->active());
    h->start(milliseconds(1));  // nothing to arm on: stays inert (ASan: no use after free)
    EXPECT_FALSE(h->active());
    h->stop();
  }
}

TEST(LoopTimers, FireOnTheLoop) {
  Loop loop;
  LoopTimers timers(loop);
  TimePoint start = timers.clock().now();
  TimePoint fired{};
  auto t = timers.make([&] {
    fired = timers.clock().now();
    loop.stop();
  });
  t->start(milliseconds(5));
  EXPECT_TRUE(t->active());
  loop.run();
  EXPECT_GE(fired - start, milliseconds(5));
  EXPECT_FALSE(t->active());
}

}  // namespace
}  // namespace hd
