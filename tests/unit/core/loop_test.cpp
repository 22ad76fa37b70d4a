// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/loop.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hd {
TEST(Loop, TimerFiresAndMailboxCrossesThreads) {
  Loop loop;
  int fired = 0;
  std::vector<int> got;
  auto done = [&] {
    if (got.size() == 3 && fired == 1) loop.stop();
  };
  Mailbox<int> box(loop, [&](int&& v) {
    got.push_back(v);
    done();
  });
  Timer t(loop, [&] {
    ++fired;
    done();
  });
  t.start(Millis(1));
  std::thread producer([&] {
    for (int i = 1; i <= 3; ++i) box.post(i);
  });
  Timer guard(loop, [&] { loop.stop(); });
  guard.start(std::chrono::seconds(5));
  loop.run();
  producer.join();
  EXPECT_EQ(fired, 1);  // a one-shot timer: fired once, not again
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}

TEST(Loop, PrepareRunsAtTheEndOfTheTurnThatStartedIt) {
  Loop loop;
  std::vector<std::string> order;
  Prepare flush(loop, [&] {
    order.push_back("flush");
    flush.stop();
  });
  // Two timers due together start the prepare watcher twice in one turn: it
  // runs once, after both, before the loop sleeps again.
  Timer a(loop, [&] {
    order.push_back("a");
    flush.start();
  });
  Timer b(loop, [&] {
    order.push_back("b");
    flush.start();
  });
  a.start(Millis(2));
  b.start(Millis(2));
  Timer later(loop, [&] {
    order.push_back("later");
    loop.stop();
  });
  later.start(Millis(30));
  loop.run();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[2], "flush");
  EXPECT_EQ(order[3], "later");
}

TEST(Loop, TimerBatchingFiresNearbyTimersTogether) {
  Loop loop;
  loop.set_timer_batching(Millis(20));
  int turns = 0;
  Prepare count(loop, [&] { ++turns; });
  count.start();
  int fired = 0;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 5; ++i) {
    timers.push_back(std::make_unique<Timer>(loop, [&] {
      if (++fired == 5) loop.stop();
    }));
    timers.back()->start(Millis(1 + 2 * i));  // 1, 3, 5, 7, 9 ms
  }
  loop.run();
  EXPECT_EQ(fired, 5);
  EXPECT_LE(turns, 2);  // without batching: one turn per timer
}
}  // namespace hd
