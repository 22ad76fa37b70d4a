// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace hd::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;
std::atomic<uint64_t> g_deferred_dropped{0};
thread_local std::function<bool(std::string&&)> t_sink;
}  // namespace

std::optional<Level> parse_level(std::string_view s) {
  if (s == "debug") return Level::debug;
  if (s == "info") return Level::info;
  if (s == "warning" || s == "warn") return Level::warning;
  if (s == "error") return Level::error;
  return std::nullopt;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

void set_level(Level l) { g_level.store(static_cast<int>(l)); }
Level level() { return static_cast<Level>(g_level.load()); }
bool enabled(Level l) { return static_cast<int>(l) >= g_level.load(); }

void write(Level l, std::string_view subsystem, std::string_view message) {
  using namespace std::chrono;
  // The date by arithmetic (C++20 calendar), not gmtime_r: glibc's takes the time-zone lock,
  // which the real-time VRRP thread would then share with every other thread that logs.
  auto now = system_clock::now();
  auto day = floor<days>(now);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<milliseconds>(now - day)};
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  std::string line;
  line.reserve(message.size() + 64);
  line.append(ts).append(" ").append(level_name(l)).append(" ");
  line.append(subsystem).append(": ").append(message).append("\n");
  if (t_sink) {
    if (!t_sink(std::move(line))) ++g_deferred_dropped;
    return;
  }
  write_line(line);
}

void defer_this_thread(std::function<bool(std::string&&)> sink) { t_sink = std::move(sink); }
uint64_t deferred_dropped() { return g_deferred_dropped.load(); }

void write_line(std::string_view line) {
  std::lock_guard lock(g_mutex);
  // One write(2) per line so lines from several threads never interleave.
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(line.size())) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += n;
  }
}

}  // namespace hd::log
