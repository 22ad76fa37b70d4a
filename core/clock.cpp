// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/clock.h"

namespace hd {
double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}
}  // namespace hd
