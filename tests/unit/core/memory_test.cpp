// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

namespace hd {
namespace {

size_t resident_pages(void* p, size_t n) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((n + page - 1) / page);
  if (mincore(p, n, in.data()) != 0) return 0;
  size_t count = 0;
  for (unsigned char c : in) count += c & 1;
  return count;
}

TEST(Memory, PrefaultMakesTheWholePagesOfARangeResident) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t n = 64 * page;
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(resident_pages(p, n), 0u);  // never touched
  // An unaligned range: its first and last partial pages are left alone.
  prefault(static_cast<char*>(p) + 100, n - 200);
  EXPECT_EQ(resident_pages(p, n), 62u);
  prefault(p, n);
  EXPECT_EQ(resident_pages(p, n), 64u);
  static_cast<char*>(p)[n - 1] = 1;  // writable
  munmap(p, n);
}

TEST(Memory, PrefaultOfLessThanAPageDoesNothing) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  prefault(static_cast<char*>(p) + page / 2, page);  // straddles two pages, covers neither
  EXPECT_EQ(resident_pages(p, 2 * page), 0u);
  munmap(p, 2 * page);
}

}  // namespace
}  // namespace hd
