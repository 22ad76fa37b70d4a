// SPDX-License-Identifier: GPL-2.0-or-later
// Watches files by path on a Loop, through inotify on their directories (so a file that
// does not exist yet, or is replaced by a rename, is still seen). A file is reported when a
// writer that had it open for writing closes it, when a file is renamed onto its name,
// and when it is removed or renamed away: never half-written (`echo 1 > FILE` truncates
// first; the truncation alone is not reported). A writer that keeps the file open and
// writes without closing it is not seen until it closes. A watched directory that is
// removed (or renamed away) makes its files read as missing; its nearest existing ancestor
// is watched instead, and once the directory is back (made again, by any number of mkdir
// steps) it is watched again and its files are reported once, to be read again. A rename
// of one of its ancestors is not seen (inotify says nothing of it to the directory's watch).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/loop.h"

namespace hd {

class FileWatch {
 public:
  // Called on the loop with the path as given to watch().
  using Callback = std::function<void(const std::string& path)>;
  FileWatch(Loop& loop, Callback cb);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;
  // Replaces the watched set (absolute paths). All or nothing: on an error (a directory
  // that does not exist or cannot be watched, a relative path, no inotify) the previous
  // set stays watched and the error names the path and why. A directory that went away
  // while watched is no error: it stays awaited (a reload for another reason goes on);
  // `awaited` names such directories of another FileWatch (lost()) this one replaces.
  std::string watch(const std::vector<std::string>& paths,
                    const std::set<std::string>& awaited = {});
  // The watched directories that went away and are awaited.
  const std::set<std::string>& lost() const { return lost_; }
  // The directory watched for `path` ("/run/hd" for "/run/hd/maint"): the one an error names.
  static std::string directory_of(const std::string& path);

 private:
  void on_readable();
  // Re-watches the lost directories that exist again (their files into `changed`) and
  // watches the nearest existing ancestor of each one that does not (ancestors_).
  void find_lost(std::set<std::string>& changed);
  Loop& loop_;
  Callback cb_;
  int fd_ = -1;
  std::unique_ptr<IoWatcher> io_;
  std::set<std::string> paths_;
  // watch descriptor -> the directories given for it (two spellings of one directory,
  // /run and /var/run, share one watch descriptor)
  std::map<int, std::set<std::string>> dirs_;
  std::set<std::string> lost_;            // watched directories that went away
  std::map<int, std::string> ancestors_;  // watch descriptor -> an ancestor awaiting them
};

}  // namespace hd
