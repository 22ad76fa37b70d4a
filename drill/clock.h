// SPDX-License-Identifier: GPL-2.0-or-later
// The drill's one clock: seconds of CLOCK_MONOTONIC as a double. The client's
// event lines, the VRRP state samples, the scenarios' fault and heal times and
// every deadline use it, so they compare directly (the client is the same
// binary, run in a lab namespace on the same kernel).
#pragma once
#include <chrono>
#include <thread>

namespace hd::drill {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

}  // namespace hd::drill
