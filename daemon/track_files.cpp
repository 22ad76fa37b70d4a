// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/track_files.h"

#include <sys/stat.h>

#include <algorithm>

#include "checkers/file_check.h"
#include "core/durable_file.h"
#include "core/log.h"

namespace hd {

TrackFiles::TrackFiles(Loop& loop, std::function<void()> on_change)
    : loop_(loop), on_change_(std::move(on_change)) {}

std::string TrackFiles::configure(const std::vector<config::TrackFile>& files,
                                  const std::vector<std::string>& known_paths) {
  auto watched = [&](const std::string& path) -> const State* {
    for (auto& [name, s] : states_)
      if (s.path == path) return &s;
    return nullptr;
  };
  std::vector<std::string> paths;
  for (auto& f : files) paths.push_back(f.path);
  auto watch = std::make_unique<FileWatch>(loop_, [this](const std::string& p) { on_file(p); });
  if (auto err = watch->watch(paths, watch_ ? watch_->lost() : std::set<std::string>{});
      !err.empty()) {
    for (auto& f : files)
      if (err.rfind(FileWatch::directory_of(f.path) + ":", 0) == 0)
        return "track_file '" + f.name + "': " + err;
    return "track_file: " + err;
  }
  // init: keepalived's init_file, for files new to this daemon.
  for (auto& f : files) {
    if (!f.init || watched(f.path) ||
        std::find(known_paths.begin(), known_paths.end(), f.path) != known_paths.end())
      continue;
    struct stat st{};
    bool exists = ::stat(f.path.c_str(), &st) == 0;
    if (exists && !f.init_overwrite) continue;
    if (auto err = write_file_durably(posix_file_ops(), f.path, std::to_string(*f.init) + "\n"); !err.empty())
      return "track_file '" + f.name + "': cannot write its init value to " + f.path + ": " + err;
  }
  std::map<std::string, State> states;
  for (auto& f : files) {
    State s;
    if (auto* before = watched(f.path)) s = *before;
    s.path = f.path;
    read(s);
    states[f.name] = std::move(s);
  }
  watch_ = std::move(watch);
  states_ = std::move(states);
  return "";
}

bool TrackFiles::read(State& s) {
  ++s.reads;
  auto t = checkers::read_number_file(s.path);
  const std::string& error = t.error;
  long long value = t.value;
  if (!error.empty()) {
    ++s.errors;
    if (error != s.error)
      HD_LOG(warning, "track_file") << s.path << ": " << error << "; keeping the value " << s.value;
    s.error = error;
    return false;
  }
  s.error.clear();
  bool changed = value != s.value || t.missing != s.missing;
  s.value = value;
  s.missing = t.missing;
  return changed;
}

void TrackFiles::on_file(const std::string& path) {
  for (auto& [name, s] : states_) {
    if (s.path != path) continue;
    long long before = s.value;
    if (read(s)) {
      HD_LOG(info, "track_file") << name << " (" << path << ") reads " << s.value
                                 << (s.missing ? " (missing)" : "") << ", was " << before;
      if (on_change_) on_change_();
    }
  }
}

std::map<std::string, long long> TrackFiles::values() const {
  std::map<std::string, long long> out;
  for (auto& [name, s] : states_) out[name] = s.value;
  return out;
}

void TrackFiles::status(JsonWriter& w) const {
  w.begin_array();
  for (auto& [name, s] : states_) {
    w.begin_object();
    w.field("name", name).field("path", s.path).field("value", static_cast<int64_t>(s.value));
    w.field("missing", s.missing);
    w.key("error");
    if (s.error.empty()) w.null(); else w.value(s.error);
    w.field("reads", s.reads).field("errors", s.errors);
    w.end_object();
  }
  w.end_array();
}

}  // namespace hd
