// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hd {
namespace {

class PosixFileOps final : public FileOps {
 public:
  int open(const std::string& path, int flags, mode_t mode) override {
    return ::open(path.c_str(), flags, mode);
  }
  ssize_t write(int fd, const void* buf, size_t n) override { return ::write(fd, buf, n); }
  int fsync(int fd) override { return ::fsync(fd); }
  int close(int fd) override { return ::close(fd); }
  int rename(const std::string& from, const std::string& to) override {
    return ::rename(from.c_str(), to.c_str());
  }
  int unlink(const std::string& path) override { return ::unlink(path.c_str()); }
};

}  // namespace

FileOps& posix_file_ops() {
  static PosixFileOps ops;
  return ops;
}

std::string write_file_durably(FileOps& files, const std::string& path,
                               const std::string& contents) {
  std::string tmp = path + ".tmp";
  auto error = [](const std::string& call, const std::string& p) {
    return call + " " + p + ": " + std::strerror(errno);
  };
  int fd = files.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return error("open", tmp);
  auto discard = [&](std::string err) {
    files.close(fd);
    files.unlink(tmp);
    return err;
  };
  for (size_t done = 0; done < contents.size();) {
    ssize_t n = files.write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return discard(error("write", tmp));
    if (n == 0) {
      errno = EIO;
      return discard(error("write", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (files.fsync(fd) < 0) return discard(error("fsync", tmp));
  // Never retried, even on EINTR: the descriptor is gone either way.
  if (files.close(fd) < 0) {
    auto err = error("close", tmp);
    files.unlink(tmp);
    return err;
  }
  if (files.rename(tmp, path) < 0) {
    auto err = error("rename", tmp);
    files.unlink(tmp);
    return err;
  }
  // The rename is durable only once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = files.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd < 0) return error("open", dir);
  if (files.fsync(dfd) < 0) {
    auto err = error("fsync", dir);
    files.close(dfd);
    return err;
  }
  files.close(dfd);
  return "";
}

bool read_file(const std::string& path, std::string& contents, std::string& error) {
  error.clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) error = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    error = "read " + path + ": " + std::strerror(errno);
    return false;
  }
  contents = s.str();
  return true;
}

}  // namespace hd
