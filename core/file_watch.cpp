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
constexpr uint32_t kAncestorMask =
    IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD;
// What a watched directory's events say about its files (an IN_CREATE there, from an
// ancestor's mask added to the same inode, would read a file before it is written).
constexpr uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;

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

std::string FileWatch::watch(const std::vector<std::string>& paths,
                             const std::set<std::string>& awaited) {
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
  std::set<std::string> still_lost;
  for (auto& d : dirs) {
    int wd = ::inotify_add_watch(fd, d.c_str(), kMask);
    if (wd < 0) {
      int e = errno;
      // A directory that went away while watched stays awaited (a reload for some other
      // reason must not fail on it); one never seen is an error.
      if (e == ENOENT && (lost_.count(d) || awaited.count(d))) {
        still_lost.insert(d);
        continue;
      }
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
  lost_ = std::move(still_lost);
  ancestors_.clear();
  io_ = std::make_unique<IoWatcher>(loop_, fd_, EV_READ, [this](int) { on_readable(); });
  io_->start();
  if (!lost_.empty()) {
    std::set<std::string> changed;  // read already by the caller's (re)configure
    find_lost(changed);
  }
  return "";
}

void FileWatch::on_readable() {
  alignas(inotify_event) char buf[16384];
  std::set<std::string> changed;
  bool look = false;  // a directory went away, or one was made where one is awaited
  bool overflow = false;
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {  // events were lost: read every file again
        changed.insert(paths_.begin(), paths_.end());
        overflow = look = true;
        continue;
      }
      // In an ancestor: a directory made or moved there, or the ancestor itself gone.
      if (ancestors_.count(ev->wd) &&
          (((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR)) ||
           (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))))
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
      if (ev->len == 0 || !(ev->mask & kFileEvents)) continue;
      for (auto& dir : d->second) {
        std::string path = dir == "/" ? "/" + std::string(ev->name) : dir + "/" + std::string(ev->name);
        if (paths_.count(path)) changed.insert(path);
      }
    }
  }
  if (overflow) {
    // A lost event may have been a directory's removal: whichever is gone is lost now.
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      bool gone = false;
      for (auto& dir : it->second)
        if (::access(dir.c_str(), F_OK) != 0) gone = true;
      if (!gone) {
        ++it;
        continue;
      }
      ::inotify_rm_watch(fd_, it->first);
      lost_.insert(it->second.begin(), it->second.end());
      it = dirs_.erase(it);
    }
  }
  if (look) find_lost(changed);
  // Callbacks last: one may call watch(), which replaces this watcher.
  for (auto& p : changed) cb_(p);
}

namespace {

// The nearest existing ancestor of a directory ("/" at worst).
std::string existing_ancestor(const std::string& dir) {
  std::string a = FileWatch::directory_of(dir);
  while (a != "/" && ::access(a.c_str(), F_OK) != 0) a = FileWatch::directory_of(a);
  return a;
}

}  // namespace

void FileWatch::find_lost(std::set<std::string>& changed) {
  // Rounds until what is awaited is watched and no awaited directory's nearest ancestor
  // moved meanwhile (made between the look and the ancestor's watch: no event for that).
  for (int round = 0; !lost_.empty(); ++round) {
    if (round == 8) {
      HD_LOG(warning, "file_watch") << "directories keep changing while awaited: looking "
                                    << "again at the next event in them";
      break;
    }
    std::map<std::string, std::string> awaited;  // lost directory -> ancestor watched
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
      if (errno != ENOENT)
        HD_LOG(warning, "file_watch") << *it << ": cannot watch the directory: "
                                      << std::strerror(errno) << " (its files read as missing)";
      awaited[*it] = existing_ancestor(*it);
      ++it;
    }
    std::map<int, std::string> next;
    for (auto& [dir, a] : awaited) {
      int wd = ::inotify_add_watch(fd_, a.c_str(), kAncestorMask);
      if (wd >= 0)
        next[wd] = a;
      else
        HD_LOG(warning, "file_watch") << a << ": cannot watch it for " << dir << " to come back: "
                                      << std::strerror(errno);
    }
    for (auto& [wd, a] : ancestors_)
      if (!next.count(wd) && !dirs_.count(wd)) ::inotify_rm_watch(fd_, wd);
    ancestors_ = std::move(next);
    if (std::all_of(awaited.begin(), awaited.end(),
                    [](auto& da) { return existing_ancestor(da.first) == da.second &&
                                          ::access(da.first.c_str(), F_OK) != 0; }))
      break;
  }
}

}  // namespace hd
