// SPDX-License-Identifier: GPL-2.0-or-later
// The fuzzers' seed corpora (tests/fuzz/*/corpus) are written by the unit tests that know
// what a seed is (encoder output, kernel-style replies), so they cannot drift from the code:
// each test builds its seeds and calls expect_seed(); run with HD_WRITE_CORPUS=1 to rewrite
// the files.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace hd::corpus {

// `bytes` is what dir/name holds (written first with HD_WRITE_CORPUS=1).
inline void expect_seed(const std::filesystem::path& dir, const std::string& name,
                        std::string_view bytes) {
  const char* write = std::getenv("HD_WRITE_CORPUS");
  if (write != nullptr && std::string_view(write) == "1") {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::ifstream in(dir / name, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << (dir / name) << " missing: run with HD_WRITE_CORPUS=1";
    return;
  }
  const std::string on_disk{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(on_disk, bytes) << (dir / name) << " is stale: run with HD_WRITE_CORPUS=1";
}

template <typename Bytes>
void expect_seed(const std::filesystem::path& dir, const std::string& name, const Bytes& bytes) {
  expect_seed(dir, name,
              std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace hd::corpus
