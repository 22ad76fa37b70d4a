// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/metrics/http_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "core/log.h"

namespace hd::metrics {
namespace {

// HEAD gets the same response: libmicrohttpd sends its headers without the body.
// The body is handed over, not copied (a /metrics text is megabytes): libmicrohttpd frees it
// with the response, or gives its parts back to the response's `recycle`.
struct Body {
  std::string text;
  std::vector<std::string> chunks;
  std::function<void(std::vector<std::string>&&)> recycle;
};

MHD_Result answer(MHD_Connection* c, HttpResponse r, const char* allow = nullptr) {
  auto* body = new Body{std::move(r.body), std::move(r.chunks), std::move(r.recycle)};
  auto done = [](void* cls) {
    auto* b = static_cast<Body*>(cls);
    if (b->recycle && !b->chunks.empty()) b->recycle(std::move(b->chunks));
    delete b;
  };
  MHD_Response* resp;
  if (body->chunks.empty()) {
    resp = MHD_create_response_from_buffer_with_free_callback_cls(body->text.size(),
                                                                  body->text.data(), done, body);
  } else {
    std::vector<MHD_IoVec> parts;  // copied by libmicrohttpd; the chunks stay in `body`
    for (auto& chunk : body->chunks) parts.push_back({chunk.data(), chunk.size()});
    resp = MHD_create_response_from_iovec(parts.data(), static_cast<unsigned>(parts.size()),
                                          done, body);
  }
  if (!resp) {
    delete body;
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  if (allow) MHD_add_response_header(resp, "Allow", allow);
  auto ok = MHD_queue_response(c, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return ok;
}

MHD_Result trampoline(void* cls, MHD_Connection* c, const char* url, const char* method,
                      const char*, const char*, size_t*, void** state) {
  return HttpServer::on_request(cls, c, url, method, state) ? MHD_YES : MHD_NO;
}

void completed(void* cls, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
  HttpServer::on_completed(cls, state);
}

}  // namespace

struct HttpServer::Pending {
  MHD_Connection* connection = nullptr;
  std::optional<HttpResponse> response;  // set by Later; then the connection is resumed
  bool suspended = false;
  bool resumed = false;
};

HttpServer::HttpServer(Loop& loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { close(); }

int HttpServer::on_request(void* cls, void* connection, const char* url, const char* method,
                           void** state) {
  auto* self = static_cast<HttpServer*>(cls);
  auto* c = static_cast<MHD_Connection*>(connection);
  if (auto* p = static_cast<Pending*>(*state)) {
    // Called again: resumed with its response (or, before that, for more of the request,
    // which a GET does not have).
    if (!p->response) return true;
    return answer(c, std::move(*p->response)) == MHD_YES;
  }
  const bool get = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  const bool head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  if (!get && !head) {
    ++self->refused_;
    return answer(c, HttpResponse{405, "text/plain; charset=utf-8", "only GET and HEAD\n"},
                  "GET, HEAD") == MHD_YES;
  }
  auto p = std::make_shared<Pending>();
  p->connection = c;
  std::weak_ptr<Pending> weak = p;
  HttpServer* server = self;
  Later later = [server, weak](HttpResponse r) {
    auto held = weak.lock();  // gone: the request ended, or the server closed
    if (!held || held->response) return;
    held->response = std::move(r);
    if (!held->suspended) return;  // answered before the handler returned: queued below
    held->resumed = true;
    MHD_resume_connection(held->connection);
    server->pump_soon();
  };
  // Nothing may unwind through libmicrohttpd's C frames: a handler that throws (out of
  // memory building a big response) answers 500.
  std::optional<HttpResponse> r;
  try {
    r = self->handler_(url, later);
  } catch (const std::exception& e) {
    r = HttpResponse{500, "text/plain; charset=utf-8", std::string("error: ") + e.what() + "\n"};
  }
  if (r) return answer(c, std::move(*r)) == MHD_YES;
  if (p->response) return answer(c, std::move(*p->response)) == MHD_YES;  // `later` already called
  // Later: the connection waits, suspended, for its response.
  *state = p.get();
  self->pending_.emplace(p.get(), p);
  p->suspended = true;
  MHD_suspend_connection(c);
  return true;
}

void HttpServer::on_completed(void* cls, void** state) {
  auto* self = static_cast<HttpServer*>(cls);
  if (auto* p = static_cast<Pending*>(*state)) self->pending_.erase(p);
  *state = nullptr;
}

void HttpServer::pump_soon() {
  if (soon_ && !soon_->active()) soon_->start(Duration::zero());
}

std::string HttpServer::listen(const IpAddress& address, int port) {
  close();
  const std::string where = (address.is_v4() ? address.str() : "[" + address.str() + "]") + ":" +
                            std::to_string(port);
  int fd = ::socket(address.is_v4() ? AF_INET : AF_INET6,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return "metrics endpoint " + where + ": socket: " + std::strerror(errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    sin->sin_addr = address.v4();
    len = sizeof *sin;
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    sin6->sin6_addr = address.v6();
    len = sizeof *sin6;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 64) != 0) {
    std::string err = "metrics endpoint " + where + ": " + std::strerror(errno);
    ::close(fd);
    return err;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  // External epoll mode: no thread; MHD closes the listening socket when stopped. A scrape
  // answers in one turn, so a handful of connections and a short idle timeout suffice.
  // Suspend/resume: a /metrics response is built over several loop turns (the connection
  // waits suspended; resuming wakes MHD through its own eventfd, which is in its epoll set).
  daemon_ = MHD_start_daemon(
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | (address.is_v4() ? 0 : MHD_USE_IPv6), 0, nullptr,
      nullptr, &trampoline, this, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, 32u,
      MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_NOTIFY_COMPLETED, &completed, this,
      MHD_OPTION_END);
  if (!daemon_) {
    // Not closed here: libmicrohttpd's failure path closes a listening socket it was given
    // (closing it again could close a descriptor another thread just opened).
    return "metrics endpoint " + where + ": libmicrohttpd could not start";
  }
  const auto* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
  io_ = std::make_unique<IoWatcher>(loop_, info->epoll_fd, EV_READ, [this](int) { pump(); });
  timer_ = std::make_unique<Timer>(loop_, [this] { pump(); });
  soon_ = std::make_unique<Timer>(loop_, [this] { pump(); });
  io_->start();
  pump();
  return "";
}

void HttpServer::pump() {
  MHD_run(daemon_);
  MHD_UNSIGNED_LONG_LONG ms = 0;
  if (MHD_get_timeout(daemon_, &ms) == MHD_YES)
    timer_->start(Millis(static_cast<int64_t>(ms)));
  else
    timer_->stop();
}

void HttpServer::close() {
  if (daemon_) {
    // libmicrohttpd may not be stopped with a connection suspended: answer each one waiting.
    auto waiting = pending_;
    for (auto& [raw, p] : waiting)
      if (p->suspended && !p->resumed) {
        p->response = HttpResponse{503, "text/plain; charset=utf-8", "shutting down\n"};
        p->resumed = true;
        MHD_resume_connection(p->connection);
      }
    if (!waiting.empty()) MHD_run(daemon_);
  }
  pending_.clear();
  soon_.reset();
  timer_.reset();
  io_.reset();
  if (daemon_) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  port_ = 0;
}

}  // namespace hd::metrics
