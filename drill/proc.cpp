// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace hd::drill {
namespace {
std::vector<char*> cargs(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  return a;
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv) {
  auto a = cargs(argv);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execvp(a[0], a.data());
  std::fprintf(stderr, "exec %s: %s\n", a[0], std::strerror(errno));
  _exit(127);
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

RunResult run(const std::vector<std::string>& argv) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    exec_child(argv);
  }
  close(p[1]);
  RunResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) r.out.append(buf, n);
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = decode(st);
  return r;
}

std::string must(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.status != 0) {
    std::string cmd;
    for (auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error(cmd + ": " + r.out);
  }
  return r.out;
}

std::vector<std::string> in_ns(const std::string& ns, std::vector<std::string> argv) {
  std::vector<std::string> out = {"ip", "netns", "exec", ns};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Child spawn_logged(const std::vector<std::string>& argv, const std::string& log_path) {
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    exec_child(argv);
  }
  return c;
}

Child spawn_piped(const std::vector<std::string>& argv, bool discard_stderr) {
  int p[2];
  Child c;
  if (pipe2(p, O_CLOEXEC) < 0) return c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(p[1], 1);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    if (discard_stderr) dup2(devnull, 2);
    exec_child(argv);
  }
  close(p[1]);
  c.out_fd = p[0];
  return c;
}

int stop(pid_t pid, int sig, int timeout_ms) {
  if (pid <= 0) return -1;
  kill(pid, sig);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int st = 0;
  while (std::chrono::steady_clock::now() < end) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return decode(st);
    if (r < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return decode(st);
}

std::pair<long, long> footprint(pid_t pid) {
  long rss = -1, fds = 0;
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(st, line);)
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  return {rss, ec ? -1 : fds};
}

bool still_running(pid_t& pid) {
  if (pid <= 0) return false;
  int st = 0;
  if (waitpid(pid, &st, WNOHANG) == 0) return true;
  pid = -1;
  return false;
}

bool exists(const std::string& p) {
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0;
}

std::string dir_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? "." : p.substr(0, s);
}

bool host_has_ipvs() {
  if (exists("/proc/net/ip_vs")) return true;
  run({"modprobe", "-q", "ip_vs"});
  return exists("/proc/net/ip_vs");
}

}  // namespace hd::drill
