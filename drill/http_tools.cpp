// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/http_tools.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <memory>

#include "core/loop.h"
#include "drill/clock.h"

namespace hd::drill {
namespace {

bool parse_endpoint(const std::string& s, sockaddr_in& sa) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1)));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &sa.sin_addr) == 1;
}

std::string opt(const std::vector<std::string>& args, const std::string& name,
                const std::string& def = "") {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == name) return args[i + 1];
  return def;
}

// ---------------------------------------------------------------- httpd

struct ServerConn {
  int fd;
  std::string in;
  std::unique_ptr<IoWatcher> w;
};

}  // namespace

int httpd_main(const std::vector<std::string>& args) {
  sockaddr_in sa;
  std::string id = opt(args, "--id", "rs");
  std::string fail_file = opt(args, "--fail-file");
  if (!parse_endpoint(opt(args, "--listen", "0.0.0.0:80"), sa)) {
    std::fprintf(stderr, "hadirector-drill httpd: bad --listen\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // DR mode: the VIP is on lo; IP_FREEBIND lets us bind a wildcard anyway.
  if (bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 || listen(lfd, 512) < 0) {
    std::fprintf(stderr, "hadirector-drill httpd: bind/listen: %s\n", std::strerror(errno));
    return 1;
  }
  Loop& loop = Loop::main();
  std::list<std::unique_ptr<ServerConn>> conns;
  std::list<std::unique_ptr<ServerConn>> dead;
  Timer reaper(loop, [&] { dead.clear(); });
  auto close_conn = [&](ServerConn* c) {
    c->w->stop();
    ::close(c->fd);
    for (auto it = conns.begin(); it != conns.end(); ++it)
      if (it->get() == c) {
        dead.splice(dead.end(), conns, it);
        break;
      }
    if (!reaper.active()) reaper.start(Duration::zero());
  };
  IoWatcher acceptor(loop, lfd, EV_READ, [&](int) {
    for (;;) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<ServerConn>();
      c->fd = fd;
      ServerConn* raw = c.get();
      c->w = std::make_unique<IoWatcher>(loop, fd, EV_READ, [&, raw](int) {
        char buf[4096];
        for (;;) {
          ssize_t n = ::read(raw->fd, buf, sizeof buf);
          if (n > 0) {
            raw->in.append(buf, n);
            continue;
          }
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          return close_conn(raw);
        }
        size_t end;
        while ((end = raw->in.find("\r\n\r\n")) != std::string::npos) {
          std::string req = raw->in.substr(0, end);
          raw->in.erase(0, end + 4);
          struct stat st;
          bool fail = !fail_file.empty() && ::stat(fail_file.c_str(), &st) == 0;
          bool close_after = req.find("Connection: close") != std::string::npos;
          std::string body = id + "\n";
          std::string resp = std::string(fail ? "HTTP/1.1 500 Internal Server Error\r\n"
                                              : "HTTP/1.1 200 OK\r\n") +
                             "Content-Type: text/plain\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n" +
                             (close_after ? "Connection: close\r\n" : "") + "\r\n" + body;
          if (::send(raw->fd, resp.data(), resp.size(), MSG_NOSIGNAL) < 0 || close_after)
            return close_conn(raw);
        }
      });
      c->w->start();
      conns.push_back(std::move(c));
    }
  });
  acceptor.start();
  SignalWatcher term(loop, SIGTERM, [&] { loop.stop(); });
  SignalWatcher intr(loop, SIGINT, [&] { loop.stop(); });
  loop.run();
  return 0;
}

// ---------------------------------------------------------------- client

namespace {

struct Request {
  int fd = -1;
  double start = 0;
  bool long_lived = false;
  int conn_id = 0;
  std::string in;
  bool sent = false;
  std::unique_ptr<IoWatcher> w;
  std::unique_ptr<Timer> timeout;
  std::unique_ptr<Timer> next;  // long-lived: the next request on this connection
};

// "HTTP/1.1 200 OK ... \r\n\r\n<body>" -> status, body (once complete)
bool parse_response(const std::string& in, int& status, std::string& body, size_t& used) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  if (in.size() < 12) return false;
  status = std::atoi(in.c_str() + 9);
  size_t cl = in.find("Content-Length: ");
  size_t len = cl != std::string::npos && cl < end ? std::strtoul(in.c_str() + cl + 16, nullptr, 10) : 0;
  if (in.size() < end + 4 + len) return false;
  body = in.substr(end + 4, len);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  used = end + 4 + len;
  return true;
}

}  // namespace

int client_main(const std::vector<std::string>& args) {
  sockaddr_in target;
  if (!parse_endpoint(opt(args, "--target", ""), target)) {
    std::fprintf(stderr, "hadirector-drill client: bad --target\n");
    return 2;
  }
  double rate = std::atof(opt(args, "--rate", "50").c_str());
  int longs = std::atoi(opt(args, "--long", "3").c_str());
  double timeout_s = std::atof(opt(args, "--timeout-ms", "1000").c_str()) / 1000.0;
  double long_every = std::atof(opt(args, "--long-interval-ms", "200").c_str()) / 1000.0;
  // --count N: N new-connection requests, then exit once each has its outcome.
  const long count = std::atol(opt(args, "--count", "0").c_str());
  long started = 0, finished = 0;
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  Loop& loop = Loop::main();
  std::list<std::unique_ptr<Request>> live;
  std::list<std::unique_ptr<Request>> dead;
  Timer reaper(loop, [&] { dead.clear(); });
  auto retire = [&](Request* r) {
    if (r->w) r->w->stop();
    if (r->timeout) r->timeout->stop();
    if (r->next) r->next->stop();
    if (r->fd >= 0) ::close(r->fd);
    r->fd = -1;
    for (auto it = live.begin(); it != live.end(); ++it)
      if (it->get() == r) {
        dead.splice(dead.end(), live, it);
        break;
      }
    if (!reaper.active()) reaper.start(Duration::zero());
  };
  std::function<void(int)> open_long;
  auto finish = [&](Request* r, bool ok, int status, const std::string& server,
                    const std::string& reason) {
    double t = now();
    if (r->long_lived) {
      std::printf("L %d %.6f %s %s %s\n", r->conn_id, t, ok ? "ok" : "broken",
                  server.empty() ? "-" : server.c_str(), reason.c_str());
      if (!ok) {
        int id = r->conn_id;
        retire(r);
        // Reconnect shortly: a new connection, counted as such by the drill.
        auto again = std::make_shared<std::unique_ptr<Timer>>();
        *again = std::make_unique<Timer>(loop, [&, id, again]() mutable {
          open_long(id);
          again->reset();
        });
        (*again)->start(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(long_every)));
      }
      return;
    }
    std::printf("R %.6f %.6f %s %d %s %s\n", r->start, t, ok ? "ok" : "fail", status,
                server.empty() ? "-" : server.c_str(), reason.c_str());
    retire(r);
    if (count > 0 && ++finished >= count) loop.stop();
  };
  auto send_request = [&](Request* r) {
    std::string req = std::string("GET / HTTP/1.1\r\nHost: drill\r\n") +
                      (r->long_lived ? "" : "Connection: close\r\n") + "\r\n";
    r->start = now();
    r->in.clear();
    if (::send(r->fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
      finish(r, false, 0, "", std::string("send: ") + std::strerror(errno));
      return;
    }
    r->sent = true;
    r->timeout->start(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout_s)));
  };
  // --first-port: where the source ports start (30000): runs that must see the same ports
  // (a differential test hashing them) give each client a range of its own.
  uint16_t next_port = static_cast<uint16_t>(std::atoi(opt(args, "--first-port", "30000").c_str()));
  if (next_port < 1024 || next_port > 59999) next_port = 30000;
  auto start_conn = [&](bool long_lived, int conn_id) {
    auto r = std::make_unique<Request>();
    r->long_lived = long_lived;
    r->conn_id = conn_id;
    r->start = now();
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // Each new connection gets a source port not used for minutes: the kernel may hand the
    // same port out again at once, and IPVS (DR mode sees only the client's half) would
    // then reuse the old connection entry and its real server instead of scheduling.
    for (int tries = 0; tries < 64; ++tries) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_port = htons(next_port);
      next_port = next_port >= 59999 ? 30000 : next_port + 1;
      if (bind(r->fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0) break;
    }
    Request* raw = r.get();
    live.push_back(std::move(r));
    raw->timeout = std::make_unique<Timer>(loop, [&, raw] {
      finish(raw, false, 0, "", raw->sent ? "timeout" : "connect timeout");
    });
    raw->timeout->start(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout_s)));
    raw->next = std::make_unique<Timer>(loop, [&, raw] { send_request(raw); });
    int rc = connect(raw->fd, reinterpret_cast<sockaddr*>(&target), sizeof target);
    if (rc < 0 && errno != EINPROGRESS) {
      finish(raw, false, 0, "", std::string("connect: ") + std::strerror(errno));
      return;
    }
    raw->w = std::make_unique<IoWatcher>(loop, raw->fd, EV_WRITE, [&, raw](int ev) {
      if (!raw->sent) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(raw->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) return finish(raw, false, 0, "", std::string("connect: ") + std::strerror(err));
        raw->w->set(raw->fd, EV_READ);
        send_request(raw);
        return;
      }
      (void)ev;
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(raw->fd, buf, sizeof buf);
        if (n > 0) {
          raw->in.append(buf, n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        int status = 0;
        std::string body;
        size_t used = 0;
        if (!raw->long_lived && parse_response(raw->in, status, body, used))
          return finish(raw, status >= 200 && status < 400, status, body,
                        status >= 200 && status < 400 ? "ok" : "status " + std::to_string(status));
        return finish(raw, false, 0, "",
                      n == 0 ? "closed by peer" : std::string("read: ") + std::strerror(errno));
      }
      int status = 0;
      std::string body;
      size_t used = 0;
      if (parse_response(raw->in, status, body, used)) {
        bool ok = status >= 200 && status < 400;
        if (raw->long_lived) {
          raw->timeout->stop();
          raw->in.erase(0, used);
          raw->sent = true;
          std::printf("L %d %.6f %s %s %s\n", raw->conn_id, now(), ok ? "ok" : "broken",
                      body.c_str(), ok ? "ok" : ("status " + std::to_string(status)).c_str());
          // Next request on the same connection after the interval.
          raw->next->start(
              std::chrono::duration_cast<Duration>(std::chrono::duration<double>(long_every)));
        } else {
          finish(raw, ok, status, body, ok ? "ok" : "status " + std::to_string(status));
        }
      }
    });
    raw->w->start();
  };
  open_long = [&](int id) { start_conn(true, id); };
  for (int i = 0; i < longs; ++i) open_long(i);
  Timer ticker(loop, [&] {
    if (count > 0 && started >= count) return;
    ++started;
    start_conn(false, 0);
  });
  if (rate > 0)
    ticker.start(Duration::zero(),
                 std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / rate)));
  SignalWatcher term(loop, SIGTERM, [&] { loop.stop(); });
  SignalWatcher intr(loop, SIGINT, [&] { loop.stop(); });
  loop.run();
  return 0;
}

}  // namespace hd::drill
