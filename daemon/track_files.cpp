// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/track_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

#include "core/durable_file.h"
#include "core/log.h"

namespace hd {
namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// What a file holds: its text, missing (""), or an error.
struct FileText {
  std::string text;
  bool missing = false;
  std::string error;
};

FileText slurp(const std::string& path) {
  FileText out;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) out.missing = true;
    else out.error = std::string("cannot open: ") + std::strerror(errno);
    return out;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.error = "not a regular file";
    return out;
  }
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::string("cannot read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    out.text.append(buf, static_cast<size_t>(n));
    if (out.text.size() > 4096) {
      out.error = "longer than 4096 bytes: not a number";
      break;
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

TrackFileParse parse_track_file(std::string_view text) {
  TrackFileParse out;
  size_t b = 0, e = text.size();
  while (b < e && space(text[b])) ++b;
  while (e > b && space(text[e - 1])) --e;
  if (b == e) return out;  // empty: 0
  std::string_view num = text.substr(b, e - b);
  std::string_view digits = num;
  if (digits.front() == '+') digits.remove_prefix(1);  // from_chars takes '-' only
  long long v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc{} && p == digits.data() + digits.size() &&
                                                (v < INT32_MIN || v > INT32_MAX))) {
    out.error = "'" + std::string(num.substr(0, 40)) + "' is out of range (a 32-bit integer)";
    return out;
  }
  if (ec != std::errc{} || p != digits.data() + digits.size() || digits.empty() ||
      (num.front() == '+' && digits.front() == '-')) {
    std::string shown;
    for (char c : num.substr(0, 40))
      shown += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
    out.error = "'" + shown + "' is not an integer";
    return out;
  }
  out.value = v;
  return out;
}

TrackFiles::TrackFiles(Loop& loop, std::function<void()> on_change)
    : loop_(loop), on_change_(std::move(on_change)) {}

std::string TrackFiles::configure(const std::vector<config::TrackFile>& files,
                                  const std::vector<std::string>& known) {
  std::vector<std::string> paths;
  for (auto& f : files) paths.push_back(f.path);
  auto watch = std::make_unique<FileWatch>(loop_, [this](const std::string& p) { on_file(p); });
  if (auto err = watch->watch(paths); !err.empty()) {
    for (auto& f : files) {
      std::string dir = f.path.rfind('/') == 0 ? "/" : f.path.substr(0, f.path.rfind('/'));
      if (err.rfind(dir + ":", 0) == 0 || err.rfind(f.path + ":", 0) == 0)
        return "track_file '" + f.name + "': " + err;
    }
    return "track_file: " + err;
  }
  // init: keepalived's init_file, for files new to this daemon.
  for (auto& f : files) {
    if (!f.init || std::find(known.begin(), known.end(), f.name) != known.end()) continue;
    struct stat st{};
    bool exists = ::stat(f.path.c_str(), &st) == 0;
    if (exists && !f.init_overwrite) continue;
    if (auto err = write_file_durably(posix_file_ops(), f.path, std::to_string(*f.init) + "\n"); !err.empty())
      return "track_file '" + f.name + "': cannot write its init value to " + f.path + ": " + err;
  }
  std::map<std::string, State> states;
  for (auto& f : files) {
    State s;
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
  auto t = slurp(s.path);
  std::string error = t.error;
  long long value = s.value;
  if (error.empty()) {
    auto p = parse_track_file(t.missing ? std::string_view{} : std::string_view(t.text));
    if (p.error.empty()) value = p.value;
    else error = p.error;
  }
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
