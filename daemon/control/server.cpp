// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/control/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace hd::control {
namespace {
bool fill_addr(const std::string& path, sockaddr_un& sa) {
  std::memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return true;
}
}  // namespace

Framed frame_request(std::string_view in, bool eof) {
  if (in.size() > kMaxRequest) return {Framed::too_long, {}};
  auto nl = in.find('\n');
  if (nl == std::string_view::npos && !eof) return {Framed::incomplete, {}};
  return {Framed::request, std::string(in.substr(0, nl))};
}

Request parse_request(std::string_view line) {
  if (line == "status") return Request::status;
  if (line == "status --json" || line == "status-json") return Request::status_json;
  if (line == "reload") return Request::reload;
  return Request::unknown;
}

struct Server::Conn {
  int fd = -1;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool replied = false;
  std::unique_ptr<IoWatcher> watcher;
  std::unique_ptr<Timer> idle;
};

Server::Server(Loop& loop, Handler handler, Limits limits)
    : loop_(loop),
      handler_(std::move(handler)),
      limits_(limits),
      reaper_(loop, [this] { graveyard_.clear(); }),
      accept_retry_(loop, [this] {
        if (accept_watcher_) accept_watcher_->start();
        on_accept();
      }) {}
Server::~Server() { close(); }

std::string Server::listen(const std::string& path) {
  sockaddr_un sa;
  if (!fill_addr(path, sa)) return "control socket path too long: " + path;
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir.string() + ": " + ec.message();

  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return path + " exists and is not a socket";
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    if (probe >= 0) ::close(probe);
    if (live) return "another daemon is already answering on " + path;
    ::unlink(path.c_str());
  }
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return std::string("socket: ") + std::strerror(errno);
  mode_t old = umask(0177);
  int rc = bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  umask(old);
  if (rc < 0 || chmod(path.c_str(), 0600) < 0 || ::listen(fd_, 16) < 0) {
    std::string err = "cannot listen on " + path + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return err;
  }
  path_ = path;
  accept_watcher_ = std::make_unique<IoWatcher>(loop_, fd_, EV_READ, [this](int) { on_accept(); });
  accept_watcher_->start();
  return "";
}

void Server::close() {
  for (auto& c : conns_) {
    c->watcher.reset();
    if (c->fd >= 0) ::close(c->fd);
  }
  conns_.clear();
  graveyard_.clear();
  accept_retry_.stop();
  accept_delay_ = Duration::zero();
  accept_watcher_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
  }
}

void Server::on_accept() {
  if (fd_ < 0) return;
  for (;;) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0 && errno == EINTR) continue;
    if (c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (c < 0) {
      ++stats_.accept_errors;
      // These concern that one connection: go on with the next.
      if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM) {
        HD_LOG(warning, "control") << "accept: " << std::strerror(errno);
        continue;
      }
      // Out of descriptors (EMFILE, ENFILE) or memory, or anything lasting: try again later.
      return pause_accepting();
    }
    ++stats_.accepted;
    if (conns_.size() >= limits_.max_connections) {
      ++stats_.refused;
      ::close(c);
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = c;
    Conn* raw = conn.get();
    conn->watcher = std::make_unique<IoWatcher>(loop_, c, EV_READ,
                                                [this, raw](int ev) { on_conn(raw, ev); });
    conn->watcher->start();
    conn->idle = std::make_unique<Timer>(loop_, [this, raw] { on_idle(raw); });
    conn->idle->start(limits_.idle_timeout);
    conns_.push_back(std::move(conn));
  }
  if (accept_delay_ != Duration::zero()) {
    HD_LOG(info, "control") << "accepting control connections again";
    accept_delay_ = Duration::zero();
  }
}

// The pending connection stays queued and the listener readable: watching it now would
// wake the loop at once, every turn. Stop watching, retry on a timer, log once.
void Server::pause_accepting() {
  int err = errno;
  if (accept_delay_ == Duration::zero()) {
    ++stats_.accept_backoffs;
    accept_delay_ = limits_.accept_retry_min;
    HD_LOG(warning, "control") << "accept: " << std::strerror(err)
                               << ": not accepting control connections for a while";
  } else {
    accept_delay_ = std::min(accept_delay_ * 2, limits_.accept_retry_max);
  }
  accept_watcher_->stop();
  accept_retry_.start(accept_delay_);
}

void Server::on_idle(Conn* c) {
  ++stats_.timed_out;
  drop(c);
}

void Server::on_conn(Conn* c, int revents) {
  if ((revents & EV_READ) && !c->replied) {
    char buf[1024];
    bool eof = false;
    for (;;) {
      ssize_t n = ::read(c->fd, buf, sizeof buf);
      if (n > 0) {
        c->in.append(buf, n);
        if (c->in.size() > kMaxRequest) return drop(c);
        continue;
      }
      if (n == 0) {
        eof = true;  // peer closed its side: treat what we have as the request
        break;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return drop(c);
    }
    Framed f = frame_request(c->in, eof);
    if (f.kind == Framed::incomplete) return;
    if (f.kind == Framed::too_long) return drop(c);
    c->out = handler_(f.line);
    c->replied = true;
    c->watcher->set(c->fd, EV_WRITE);
    c->idle->start(limits_.idle_timeout);  // now for the reply to move
  }
  if (c->replied) {
    while (c->sent < c->out.size()) {
      ssize_t n = ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
      if (n > 0) {
        c->sent += n;
        c->idle->start(limits_.idle_timeout);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return drop(c);
    }
    drop(c);
  }
}

void Server::drop(Conn* c) {
  c->watcher->stop();
  c->idle->stop();
  ::close(c->fd);
  c->fd = -1;
  for (auto it = conns_.begin(); it != conns_.end(); ++it) {
    if (it->get() == c) {
      graveyard_.splice(graveyard_.end(), conns_, it);
      break;
    }
  }
  if (!reaper_.active()) reaper_.start(Duration::zero());
}

bool request(const std::string& path, const std::string& line, std::string& reply,
             std::string& error, std::chrono::milliseconds timeout) {
  sockaddr_un sa;
  if (!fill_addr(path, sa)) {
    error = "socket path too long: " + path;
    return false;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    error = "cannot connect to " + path + ": " + std::strerror(errno) +
            " (is hadirector running? use --socket or -c to name its control socket)";
    if (fd >= 0) ::close(fd);
    return false;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req = line + "\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    error = std::string("send: ") + std::strerror(errno);
    ::close(fd);
    return false;
  }
  shutdown(fd, SHUT_WR);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      reply.append(buf, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      error = "no answer from " + path + " within " + std::to_string(timeout.count()) +
              " ms (is the daemon stopped or stuck?)";
      ::close(fd);
      return false;
    }
    break;
  }
  ::close(fd);
  return true;
}

}  // namespace hd::control
