// SPDX-License-Identifier: GPL-2.0-or-later
// Logging to stderr: one line per event, with level and subsystem.
//   HD_LOG(info, "vrrp") << "VI_1: BACKUP -> MASTER (master down timer expired)";
#pragma once
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace hd::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

std::optional<Level> parse_level(std::string_view s);
std::string_view level_name(Level l);
void set_level(Level l);
Level level();
bool enabled(Level l);
void write(Level l, std::string_view subsystem, std::string_view message);
// Writes one already formatted line ("...\n") to standard error, whole.
void write_line(std::string_view line);
// A thread whose lines must never wait on standard error (the VRRP thread: a full pipe to
// the journal must not delay an advert) hands each formatted line to `sink` instead, which
// must not block and returns false when it had to drop the line (counted in
// deferred_dropped()). An empty sink makes the thread write directly again.
void defer_this_thread(std::function<bool(std::string&&)> sink);
uint64_t deferred_dropped();

class Line {
 public:
  Line(Level l, std::string_view subsystem) : level_(l), subsystem_(subsystem) {}
  ~Line() { write(level_, subsystem_, os_.str()); }
  template <typename T>
  Line& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  Level level_;
  std::string_view subsystem_;
  std::ostringstream os_;
};

}  // namespace hd::log

// A for-statement rather than if/else, so it nests under an unbraced if.
#define HD_LOG(lvl, subsystem)                                                     \
  for (bool hd_log_once_ = ::hd::log::enabled(::hd::log::Level::lvl); hd_log_once_; \
       hd_log_once_ = false)                                                       \
  ::hd::log::Line(::hd::log::Level::lvl, subsystem)
