// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <ctime>

namespace hd::systemd {
void ready() { sd_notify(0, "READY=1"); }
void reloading() {
  // systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); older ignore it.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long usec = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  sd_notify(0, msg.c_str());
}
void stopping() { sd_notify(0, "STOPPING=1"); }
void status(const std::string& text) {
  std::string msg = "STATUS=" + text;
  sd_notify(0, msg.c_str());
}
}  // namespace hd::systemd
