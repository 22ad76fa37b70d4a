#include "core/loop.h"

#include <gtest/gtest.h>

#include <thread>

namespace hd {
TEST(Loop, TimerFiresAndMailboxCrossesThreads) {
  Loop loop;
  int fired = 0;
  std::vector<int> got;
  Mailbox<int> box(loop, [&](int&& v) {
    got.push_back(v);
    if (got.size() == 3) loop.stop();
  });
  Timer t(loop, [&] { ++fired; });
  t.start(Millis(1));
  std::thread producer([&] {
    for (int i = 1; i <= 3; ++i) box.post(i);
  });
  Timer guard(loop, [&] { loop.stop(); });
  guard.start(std::chrono::seconds(5));
  loop.run();
  producer.join();
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}
}  // namespace hd
