// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/text.h"

namespace hd {
namespace {

constexpr uint32_t kMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
    IN_ONLYDIR;
// An ancestor of a lost directory: a directory made (or moved) in it. Added to whatever the
// inode is watched for already (IN_MASK_ADD: one descriptor per inode and instance).
constexpr uint32_t kAncestorMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD;

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
    lost_.clear();
    ancestors_.clear();
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
  lost_.clear();
  ancestors_.clear();
  io_ = std::make_unique<IoWatcher>(loop_, fd_, EV_READ, [this](int) { on_readable(); });
  io_->start();
  return "";
}

void FileWatch::on_readable() {
  alignas(inotify_event) char buf[16384];
  std::set<std::string> changed;
  bool look = false;  // a directory went away, or one was made where one is awaited
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {  // events were lost: read every file again
        changed.insert(paths_.begin(), paths_.end());
        look = true;
        continue;
      }
      // In an ancestor: a directory made or moved there, or the ancestor itself gone.
      if (ancestors_.count(ev->wd) &&
          (((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR)) ||
           (ev->mask & IN_IGNORED)))
        look = true;
      auto d = dirs_.find(ev->wd);
      if (d == dirs_.end()) continue;
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        // The directory itself went away: every file in it reads as missing now, and its
        // ancestors are watched for its return.
        for (auto& dir : d->second) {
          HD_LOG(warning, "file_watch") << dir << " was removed or moved: the files watched "
                                        << "in it read as missing until it is back";
          for (auto& p : paths_)
            if (directory_of(p) == dir) changed.insert(p);
          lost_.insert(dir);
        }
        if (ev->mask & IN_MOVE_SELF) ::inotify_rm_watch(fd_, ev->wd);  // it watches elsewhere now
        dirs_.erase(d);
        look = true;
        continue;
      }
      if (ev->len == 0) continue;
      for (auto& dir : d->second) {
        std::string path = dir == "/" ? "/" + std::string(ev->name) : dir + "/" + std::string(ev->name);
        if (paths_.count(path)) changed.insert(path);
      }
    }
  }
  if (look) find_lost(changed);
  // Callbacks last: one may call watch(), which replaces this watcher.
  for (auto& p : changed) cb_(p);
}

void FileWatch::find_lost(std::set<std::string>& changed) {
  // Until nothing more comes back: a directory made between the look and the ancestor's
  // watch would otherwise be missed.
  for (int round = 0; round < 8 && !lost_.empty(); ++round) {
    std::set<std::string> awaiting;
    for (auto it = lost_.begin(); it != lost_.end();) {
      int wd = ::inotify_add_watch(fd_, it->c_str(), kMask | IN_MASK_ADD);
      if (wd >= 0) {
        HD_LOG(info, "file_watch") << *it << " is back: its files are watched again";
        dirs_[wd].insert(*it);
        for (auto& p : paths_)
          if (directory_of(p) == *it) changed.insert(p);
        it = lost_.erase(it);
        continue;
      }
      std::string a = directory_of(*it);
      while (a != "/" && ::access(a.c_str(), F_OK) != 0) a = directory_of(a);
      awaiting.insert(a);
      ++it;
    }
    std::map<int, std::string> next;
    for (auto& a : awaiting) {
      int wd = ::inotify_add_watch(fd_, a.c_str(), kAncestorMask);
      if (wd >= 0) next[wd] = a;
    }
    for (auto& [wd, a] : ancestors_)
      if (!next.count(wd) && !dirs_.count(wd)) ::inotify_rm_watch(fd_, wd);
    ancestors_ = std::move(next);
    // A directory made after its ancestor was chosen and before that was watched sent no
    // event to us: another round re-watches it.
    if (std::none_of(lost_.begin(), lost_.end(),
                     [](const std::string& l) { return ::access(l.c_str(), F_OK) == 0; }))
      break;
  }
}

}  // namespace hd
