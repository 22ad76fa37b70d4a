// SPDX-License-Identifier: GPL-2.0-or-later
// keepalived's track_file, on the main loop: each [[track_file]] holds a number that an
// operator or a tool writes (`echo 1 > /run/hadirector/maint`), read again each time the
// file is written (core/file_watch.h: when the writer closes it, or a file is renamed onto
// it) or removed. What the number does is the tracker's business (VrrpSubsystem::tracking).
//
// Reading is checkers::read_number_file's (a missing or empty file reads 0, else one
// decimal integer). Anything else is an error: the value read last stays, and the error is
// logged, counted and shown in status until a good read.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file_watch.h"
#include "core/json.h"
#include "daemon/config/model.h"

namespace hd {

class TrackFiles {
 public:
  struct State {
    std::string path;
    long long value = 0;
    bool missing = true;
    std::string error;   // of the last read; "" when it was good
    uint64_t reads = 0;  // reads that changed nothing included
    uint64_t errors = 0;
  };
  // `on_change`: called on the loop after a read changed a value.
  TrackFiles(Loop& loop, std::function<void()> on_change);
  // Watches `files` (replacing what was watched) and reads each. A file whose path was
  // watched already (by this object, or in `known_paths`) keeps its state (a bad read keeps
  // the value read last; counters go on) and its init is not written again: init is for a
  // path new to the daemon, as keepalived writes it at start only. On an error (a directory
  // that cannot be watched, an init that cannot be written) the watching and the state stay
  // as they were and the error names the track_file; init values written before the error
  // stay written (only missing files, unless init_overwrite).
  std::string configure(const std::vector<config::TrackFile>& files,
                        const std::vector<std::string>& known_paths = {});
  const std::map<std::string, State>& states() const { return states_; }
  std::map<std::string, long long> values() const;
  void status(JsonWriter& w) const;

 private:
  void on_file(const std::string& path);
  bool read(State& s);  // true when value or missing changed
  Loop& loop_;
  std::function<void()> on_change_;
  std::unique_ptr<FileWatch> watch_;
  std::map<std::string, State> states_;  // by track_file name
};

}  // namespace hd
