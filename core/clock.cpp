// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/clock.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace hd {
double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}
std::optional<Duration> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  auto num = text.substr(0, i);
  auto unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (num.empty() || num == "." || std::count(num.begin(), num.end(), '.') > 1) return std::nullopt;
  double v = std::strtod(std::string(num).c_str(), nullptr);
  double scale;
  if (unit.empty() || unit == "s") scale = 1.0;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "m") scale = 60.0;
  else if (unit == "h") scale = 3600.0;
  else return std::nullopt;
  double secs = v * scale;
  if (!std::isfinite(secs) || secs > 1e9) return std::nullopt;
  // Round to the nearest microsecond so "0.1s" is exactly 100ms.
  return std::chrono::duration_cast<Duration>(
      std::chrono::microseconds(static_cast<int64_t>(std::llround(secs * 1e6))));
}

}  // namespace hd
