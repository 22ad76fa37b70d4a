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
#include <vector>

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

SocketAccess socket_access(const AccessPolicy& policy) {
  std::optional<gid_t> a = policy.admin_gid, r = policy.read_gid;
  if (!a && !r) return {0600, std::nullopt};
  if (!a || !r || *a == *r) return {0660, a ? a : r};
  return {0666, std::nullopt};
}

namespace {
// The peer's credentials; a peer whose credentials cannot be read gets uid -1 (nobody's).
Peer peer_of(int fd) {
  Peer p;
  p.uid = static_cast<uid_t>(-1);
  p.gid = static_cast<gid_t>(-1);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    p.uid = cred.uid;
    p.gid = cred.gid;
    p.pid = cred.pid;
  }
  std::vector<gid_t> groups(64);
  for (int tries = 0; tries < 4; ++tries) {
    len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      p.groups = std::move(groups);
      break;
    }
    if (errno != ERANGE) break;
    groups.resize(len / sizeof(gid_t) + 1);
  }
  return p;
}
}  // namespace

struct Server::Conn {
  uint64_t id = 0;
  int fd = -1;
  Peer peer;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool replied = false;
  bool waiting = false;  // for a deferred reply
  bool streaming = false;  // a reply in parts has begun; replied: its last part is queued
  bool subscriber = false;
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

std::string Server::listen(const std::string& path, const SocketAccess& access) {
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
  if (rc < 0 || ::listen(fd_, 16) < 0) {
    std::string err = "cannot listen on " + path + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return err;
  }
  path_ = path;
  if (auto err = set_access(access); !err.empty()) {
    close();
    return err;
  }
  accept_watcher_ = std::make_unique<IoWatcher>(loop_, fd_, EV_READ, [this](int) { on_accept(); });
  accept_watcher_->start();
  return "";
}

std::string Server::set_access(const SocketAccess& access) {
  if (fd_ < 0) return "";
  // The group first: a wider mode must never apply to the old group.
  if (chown(path_.c_str(), static_cast<uid_t>(-1), access.group.value_or(getegid())) < 0 ||
      chmod(path_.c_str(), access.mode) < 0)
    return "cannot set the mode of " + path_ + ": " + std::strerror(errno);
  return "";
}

void Server::close() {
  for (auto& c : conns_) {
    c->watcher.reset();
    if (c->fd >= 0) ::close(c->fd);
  }
  conns_.clear();
  graveyard_.clear();
  subscribers_ = 0;
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
    conn->id = ++next_id_;
    conn->fd = c;
    conn->peer = peer_of(c);
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
  if ((revents & EV_READ) && (!c->replied || c->subscriber)) {
    char buf[1024];
    bool eof = false;
    for (;;) {
      ssize_t n = ::read(c->fd, buf, sizeof buf);
      if (n > 0) {
        if (c->replied) continue;  // a subscriber has nothing more to say: discarded
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
    if (c->subscriber) {
      if (eof) return drop(c);  // the subscriber left
    } else {
      Framed f = frame_request(c->in, eof);
      if (f.kind == Framed::incomplete) return;
      if (f.kind == Framed::too_long) return drop(c);
      Reply r = handler_(c->peer, f.line);
      if (r.later || r.later_parts) {
        // Not read (the request is complete) nor timed out until send() is called.
        c->waiting = true;
        c->watcher->stop();
        c->idle->stop();
        uint64_t id = c->id;
        Send end = [this, id](std::string text) { deliver(id, std::move(text), true); };
        if (r.later_parts)
          r.later_parts(
              [this, id](std::string text) { return deliver(id, std::move(text), false); },
              std::move(end));
        else
          r.later(std::move(end));
        return;  // deliver() may have run already: c may be dropped
      }
      c->out = std::move(r.text);
      c->replied = true;
      if (r.subscribe) {
        c->subscriber = true;
        ++subscribers_;
        c->idle->stop();  // a subscriber may stay silent as long as it likes
        c->watcher->set(c->fd, EV_READ | EV_WRITE);
      } else {
        c->watcher->set(c->fd, EV_WRITE);
        c->idle->start(limits_.idle_timeout);  // now for the reply to move
      }
    }
  }
  if (c->replied || c->streaming) {
    while (c->sent < c->out.size()) {
      ssize_t n = ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
      if (n > 0) {
        c->sent += n;
        if (!c->subscriber) c->idle->start(limits_.idle_timeout);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return drop(c);
    }
    if (!c->replied) {  // a reply in parts, all sent so far: wait for the next part
      c->out.clear();
      c->sent = 0;
      c->watcher->stop();
      c->idle->stop();
      return;
    }
    if (!c->subscriber) return drop(c);
    c->out.clear();
    c->sent = 0;
    c->watcher->set(c->fd, EV_READ);  // until the next event: only notice the client leaving
  }
}

void Server::broadcast(const std::string& line) {
  if (subscribers_ == 0) return;
  std::vector<Conn*> cut;
  for (auto& c : conns_) {
    if (!c->subscriber) continue;
    if (c->out.size() - c->sent + line.size() > limits_.subscriber_buffer) {
      cut.push_back(c.get());
      continue;
    }
    // What was sent goes, so a subscriber that stays a little behind does not keep history.
    if (c->sent > 0 && (c->sent == c->out.size() || c->sent >= limits_.subscriber_buffer / 2)) {
      c->out.erase(0, c->sent);
      c->sent = 0;
    }
    bool idle = c->out.size() == c->sent;
    c->out += line;
    if (idle) c->watcher->set(c->fd, EV_READ | EV_WRITE);
  }
  for (Conn* c : cut) {
    ++stats_.events_cut;
    HD_LOG(warning, "control") << "event subscriber " << c->peer.str() << " (pid " << c->peer.pid
                               << ") cut off: more than " << limits_.subscriber_buffer
                               << " bytes of events unread";
    drop(c);
  }
}

std::optional<size_t> Server::deliver(uint64_t id, std::string text, bool last) {
  for (auto& conn : conns_) {
    Conn* c = conn.get();
    if (c->id != id || !(c->waiting || c->streaming) || c->replied || c->fd < 0) continue;
    if (text.empty() && !last && c->streaming) return c->out.size() - c->sent;  // how it goes
    c->waiting = false;
    if (last)
      c->replied = true;
    else
      c->streaming = true;
    if (c->sent > 0 && c->sent >= c->out.size() / 2) {  // what went out goes, now and then
      c->out.erase(0, c->sent);
      c->sent = 0;
    }
    if (c->out.empty())
      c->out = std::move(text);
    else
      c->out += text;
    if (!c->watcher->active()) {
      c->watcher->set(c->fd, EV_WRITE);
      c->watcher->start();
    }
    if (!c->idle->active()) c->idle->start(limits_.idle_timeout);  // now for the reply to move
    return c->out.size() - c->sent;
  }
  return std::nullopt;
}

void Server::drop(Conn* c) {
  if (c->fd < 0) return;
  if (c->subscriber) --subscribers_;
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

namespace {
// A blocking client connection to the daemon's socket; -1 with `error` set on failure.
int connect_to(const std::string& path, std::string& error) {
  sockaddr_un sa;
  if (!fill_addr(path, sa)) {
    error = "socket path too long: " + path;
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    error = "cannot connect to " + path + ": " + std::strerror(errno) +
            " (is hadirector running? use --socket or -c to name its control socket)";
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

bool stream(const std::string& path, const std::string& line,
            const std::function<void(const std::string&)>& on_line, std::string& error) {
  int fd = connect_to(path, error);
  if (fd < 0) return false;
  std::string req = line + "\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    error = std::string("send: ") + std::strerror(errno);
    ::close(fd);
    return false;
  }
  std::string pending;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::string("read: ") + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    pending.append(buf, n);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      on_line(pending.substr(start, nl - start));
    pending.erase(0, start);
  }
  if (!pending.empty()) on_line(pending);
  ::close(fd);
  return true;
}

bool request(const std::string& path, const std::string& line, std::string& reply,
             std::string& error, std::chrono::milliseconds timeout) {
  int fd = connect_to(path, error);
  if (fd < 0) return false;
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
