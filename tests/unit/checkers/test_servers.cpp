// SPDX-License-Identifier: GPL-2.0-or-later
#include "test_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace hd::checkers::testing {
namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// Reads until the HTTP head ends ("\r\n\r\n"), EOF or 2 s of silence.
std::string read_head(int fd) {
  std::string got;
  char buf[2048];
  while (got.find("\r\n\r\n") == std::string::npos && got.size() < 65536) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string http_response(int status, const std::string& body, bool head) {
  std::ostringstream os;
  os << "HTTP/1.0 " << status << " X\r\nContent-Type: text/plain\r\nContent-Length: " << body.size()
     << "\r\nConnection: close\r\n\r\n";
  if (!head) os << body;
  return os.str();
}

}  // namespace

TestServer::TestServer(Handler handler, bool v6) : handler_(std::move(handler)) {
  listen_fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(listen_fd_ >= 0, "socket");
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  check(bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0, "bind");
  check(listen(listen_fd_, 64) == 0, "listen");
  len = sizeof ss;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  check(stop_fd_ >= 0, "eventfd");
  thread_ = std::thread([this] { run(); });
}

TestServer::~TestServer() {
  uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  for (int fd : held_) ::close(fd);
  ::close(listen_fd_);
  ::close(stop_fd_);
}

std::string TestServer::last_peer() const {
  std::lock_guard lock(mu_);
  return last_peer_;
}

void TestServer::run() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      char buf[INET6_ADDRSTRLEN] = {};
      if (peer.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, buf, sizeof buf);
      else
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, buf, sizeof buf);
      std::lock_guard lock(mu_);
      last_peer_ = buf;
    }
    ++accepted_;
    switch (handler_(fd)) {
      case After::close:
        ::close(fd);
        break;
      case After::reset: {
        linger l{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd);
        break;
      }
      case After::hold:
        held_.push_back(fd);
        break;
    }
  }
}

TestServer::Handler TestServer::accept_and_close() {
  return [](int) { return After::close; };
}

TestServer::Handler TestServer::hold() {
  return [](int) { return After::hold; };
}

TestServer::Handler TestServer::reset_after_read() {
  return [](int fd) {
    pollfd p{fd, POLLIN, 0};
    char buf[1024];
    if (poll(&p, 1, 1000) > 0) (void)!::recv(fd, buf, sizeof buf, 0);
    return After::reset;
  };
}

TestServer::Handler TestServer::reply(std::string bytes, After after) {
  return [bytes, after](int fd) {
    pollfd p{fd, POLLIN, 0};
    char buf[1024];
    if (poll(&p, 1, 1000) > 0) (void)!::recv(fd, buf, sizeof buf, 0);
    send_all(fd, bytes);
    return after;
  };
}

TestServer::Handler TestServer::http(int status, std::string body, std::chrono::milliseconds delay,
                                     std::string* last_request, std::mutex* mu) {
  return [=](int fd) {
    std::string head = read_head(fd);
    if (last_request) {
      std::lock_guard lock(*mu);
      *last_request = head;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    send_all(fd, http_response(status, body, head.rfind("HEAD ", 0) == 0));
    return After::close;
  };
}

TestServer::Handler TestServer::http_sequence(std::vector<int> statuses) {
  auto next = std::make_shared<size_t>(0);
  return [statuses, next](int fd) {
    std::string head = read_head(fd);
    int status = statuses[std::min(*next, statuses.size() - 1)];
    ++*next;
    send_all(fd, http_response(status, "seq", false));
    return After::close;
  };
}

FdExhaustion::FdExhaustion() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  saved_soft_ = rl.rlim_cur;
  int highest = 2;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::atoi(e.path().filename().c_str()));
  rl.rlim_cur = static_cast<rlim_t>(highest) + 8;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  for (;;) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      exhausted_ = errno == EMFILE;
      break;
    }
    taken_.push_back(fd);
  }
}

FdExhaustion::~FdExhaustion() {
  for (int fd : taken_) ::close(fd);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = static_cast<rlim_t>(saved_soft_);
  setrlimit(RLIMIT_NOFILE, &rl);
}

uint16_t refused_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

FullBacklog::FullBacklog() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "bind");
  check(listen(listen_fd_, 0) == 0, "listen");
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  // Backlog 0 queues one connection; with it queued, further SYNs are dropped.
  filler_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(connect(filler_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect filler");
}

FullBacklog::~FullBacklog() {
  ::close(filler_fd_);
  ::close(listen_fd_);
}

Spec tcp_spec(uint16_t port, const char* address) {
  Spec s;
  s.type = CheckType::tcp;
  s.address = *IpAddress::parse(address);
  s.port = port;
  s.timeout = std::chrono::milliseconds(500);
  return s;
}

Spec syn_spec(uint16_t port, const char* address) {
  Spec s = tcp_spec(port, address);
  s.half_open = true;
  return s;
}

Result run_probe(Loop& loop, Probe& probe, std::chrono::milliseconds guard) {
  std::optional<Result> got;
  Timer g(loop, [&] { loop.stop(); });
  g.start(guard);
  probe.start([&](Result r) {
    got = std::move(r);
    loop.stop();
  });
  loop.run();
  if (!got) {
    probe.cancel();
    return Result::failure(Reason::other, 0, "test guard expired");
  }
  return *got;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/hd-checkers-test.XXXXXX";
  check(mkdtemp(tmpl) != nullptr, "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
// posix_spawn with stdout+stderr to `out` (a file), or /dev/null.
pid_t run_with_output(const std::vector<std::string>& argv, const std::string& out) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.empty() ? "/dev/null" : out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}
}  // namespace

TlsServer::TlsServer() {
  const std::string openssl = "/usr/bin/openssl";
  if (access(openssl.c_str(), X_OK) != 0) return;
  // Two self-signed certificates: checker.test, served to clients that ask for it by SNI,
  // and default.test for the others (so a test can tell whether the name went on the wire).
  auto make_cert = [&](const std::string& name, const std::string& key, const std::string& cert) {
    pid_t gen = run_with_output(
        {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name, "-days", "2",
         "-keyout", key, "-out", cert},
        dir_.file("req.log"));
    int st = 0;
    return gen >= 0 && waitpid(gen, &st, 0) == gen && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  };
  if (!make_cert("checker.test", dir_.file("key.pem"), cert_file()) ||
      !make_cert("default.test", dir_.file("default-key.pem"), default_cert_file()))
    return;
  std::string log = dir_.file("server.log");
  pid_ = run_with_output({openssl, "s_server", "-accept", "127.0.0.1:0", "-cert",
                          default_cert_file(), "-key", dir_.file("default-key.pem"), "-servername",
                          "checker.test", "-cert2", cert_file(), "-key2", dir_.file("key.pem"),
                          "-www"},
                         log);
  if (pid_ < 0) return;
  for (int i = 0; i < 500 && port_ == 0; ++i) {
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("ACCEPT ", 0) == 0) {
        port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
        break;
      }
    }
    if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TlsServer::~TlsServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool process_gone(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: look, do not reap (reaping here would hide a leaked zombie).
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == pid)
    return false;  // our own unreaped zombie
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return true;
  auto paren = content.rfind(')');
  return paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] == 'Z';
}

}  // namespace hd::checkers::testing
