// SPDX-License-Identifier: GPL-2.0-or-later
// sd_notify(3) messages to the service manager (no-op without NOTIFY_SOCKET).
#pragma once
#include <string>

namespace hd::systemd {
void ready();
void reloading();
void stopping();
void status(const std::string& text);
}  // namespace hd::systemd
