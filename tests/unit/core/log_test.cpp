// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/log.h"

#include <gtest/gtest.h>

#include <ctime>
#include <regex>
#include <string>

namespace hd::log {
namespace {

// The timestamp is computed by calendar arithmetic (no gmtime_r and its lock): it must read
// what gmtime_r would say, to the second, in the same format as always.
TEST(Log, LineHasAnIso8601UtcTimestampThatGmtimeAgreesWith) {
  std::string got;
  defer_this_thread([&](std::string&& line) {
    got = std::move(line);
    return true;
  });
  // clock_gettime, not time(): time() reads the coarse clock, which can still say the last
  // second for a few milliseconds after the precise one the log reads has moved on.
  auto now = [] {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
  };
  std::time_t before = now();
  write(Level::warning, "test", "hello");
  std::time_t after = now();
  defer_this_thread(nullptr);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(got, m, std::regex(R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z warning test: hello\n)")))
      << got;
  auto fmt = [](std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(b);
  };
  EXPECT_TRUE(m[1] == fmt(before) || m[1] == fmt(after)) << m[1] << " vs " << fmt(before);
}

}  // namespace
}  // namespace hd::log
