// SPDX-License-Identifier: GPL-2.0-or-later
// printf into a std::string, the format checked by the compiler: the drill's one way to
// word its findings and its report.
#pragma once
#include <cstdarg>
#include <cstdio>
#include <string>

namespace hd::drill {

__attribute__((format(printf, 1, 2))) inline std::string strf(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

}  // namespace hd::drill
