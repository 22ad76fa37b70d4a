// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/text.h"

namespace hd {
namespace {

constexpr uint32_t kMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
    IN_ONLYDIR;

}  // namespace

std::string FileWatch::directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

FileWatch::FileWatch(Loop& loop, Callback cb) : loop_(loop), cb_(std::move(cb)) {}

FileWatch::~FileWatch() {
  io_.reset();
  if (fd_ >= 0) ::close(fd_);
}

std::string FileWatch::watch(const std::vector<std::string>& paths) {
  std::set<std::string> wanted(paths.begin(), paths.end());
  std::set<std::string> dirs;
  for (auto& p : wanted) {
    if (!is_absolute_file_path(p))
      return p + ": not an absolute path to a file";
    dirs.insert(directory_of(p));
  }
  if (wanted.empty()) {
    io_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    dirs_.clear();
    paths_.clear();
    return "";
  }
  // A fresh inotify instance for the new set: the old one keeps working until this one
  // is complete, so a failure leaves everything as it was.
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return std::string("inotify: ") + std::strerror(errno);
  std::map<int, std::set<std::string>> wds;
  for (auto& d : dirs) {
    int wd = ::inotify_add_watch(fd, d.c_str(), kMask);
    if (wd < 0) {
      int e = errno;
      ::close(fd);
      return d + ": cannot watch the directory: " + std::strerror(e);
    }
    wds[wd].insert(d);
  }
  io_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  dirs_ = std::move(wds);
  paths_ = std::move(wanted);
  io_ = std::make_unique<IoWatcher>(loop_, fd_, EV_READ, [this](int) { on_readable(); });
  io_->start();
  return "";
}

void FileWatch::on_readable() {
  alignas(inotify_event) char buf[16384];
  std::set<std::string> changed;
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {  // events were lost: read every file again
        changed.insert(paths_.begin(), paths_.end());
        continue;
      }
      auto d = dirs_.find(ev->wd);
      if (d == dirs_.end()) continue;
      for (auto& dir : d->second) {
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
          // The directory itself went away: every file in it reads as missing now, and is
          // watched again only by the next watch() (a reload or restart).
          HD_LOG(warning, "file_watch") << dir << " was removed or moved: the files "
                                        << "watched in it read as missing until a reload";
          for (auto& p : paths_)
            if (directory_of(p) == dir) changed.insert(p);
          continue;
        }
        if (ev->len == 0) continue;
        std::string path = dir == "/" ? "/" + std::string(ev->name) : dir + "/" + std::string(ev->name);
        if (paths_.count(path)) changed.insert(path);
      }
    }
  }
  // Callbacks last: one may call watch(), which replaces this watcher.
  for (auto& p : changed) cb_(p);
}

}  // namespace hd
