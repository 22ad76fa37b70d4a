// SPDX-License-Identifier: GPL-2.0-or-later
// Every shipped example in etc/ must load without errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/config/loader.h"

namespace hd::config {
TEST(Examples, AllShippedExamplesAreValid) {
  int n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(HD_SOURCE_DIR "/etc")) {
    if (e.path().extension() != ".toml") continue;
    ++n;
    auto r = load_file(e.path());
    std::string all;
    for (auto& err : r.errors) all += err.str() + "\n";
    for (auto& w : r.warnings) all += w.str() + "\n";
    EXPECT_TRUE(r.ok()) << all;
    EXPECT_TRUE(r.warnings.empty()) << all;  // an example shows what to write
  }
  EXPECT_GE(n, 3);
}
}  // namespace hd::config
