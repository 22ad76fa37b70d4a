// SPDX-License-Identifier: GPL-2.0-or-later
// Files that must survive a crash whole: the real-server role's state file and the runtime
// overrides (daemon/overrides.h). Written to a temporary file, synced, renamed over the old one.
#pragma once
#include <sys/types.h>

#include <string>

namespace hd {

// The file-system calls a state file is written with, as the POSIX calls they stand for
// (-1 and errno on failure). Production uses posix_file_ops(); tests substitute one that
// fails a chosen call (ENOSPC on close, EIO on fsync) and records the calls made.
class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual int open(const std::string& path, int flags, mode_t mode) = 0;
  virtual ssize_t write(int fd, const void* buf, size_t n) = 0;
  virtual int fsync(int fd) = 0;
  virtual int close(int fd) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int unlink(const std::string& path) = 0;
};
FileOps& posix_file_ops();

// Replaces `path` with `contents` so that a crash or power loss leaves either the old file
// or the new one, complete: writes `path`.tmp in full, fsyncs and closes it (each checked:
// ENOSPC may surface only at fsync or close), renames it over `path`, fsyncs the directory.
// Returns "" or "<call> <path>: <strerror>"; on failure the temp file is removed.
std::string write_file_durably(FileOps& files, const std::string& path,
                               const std::string& contents);

// Reads the whole file at `path` into `contents`. False when it cannot: `error` is then ""
// when the file does not exist, else why not.
bool read_file(const std::string& path, std::string& contents, std::string& error);

}  // namespace hd
