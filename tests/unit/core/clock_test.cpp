// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/clock.h"

#include <gtest/gtest.h>

namespace hd {
TEST(ManualClock, OnlyMovesWhenAdvanced) {
  ManualClock c;
  auto t0 = c.now();
  EXPECT_EQ(c.now(), t0);
  c.advance(Millis(250));
  EXPECT_EQ(c.now() - t0, Millis(250));
}
}  // namespace hd
