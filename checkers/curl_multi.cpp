// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/curl_multi.h"

#include <mutex>
#include <stdexcept>

namespace hd::checkers {

struct CurlMulti::Socket {
  Socket(CurlMulti& m, curl_socket_t s, int events)
      : io(m.loop_, s, events, [&m, s](int revents) {
          int flags = 0;
          if (revents & EV_READ) flags |= CURL_CSELECT_IN;
          if (revents & EV_WRITE) flags |= CURL_CSELECT_OUT;
          m.action(s, flags);
        }) {}
  IoWatcher io;
};

namespace {
int ev_events(int what) {
  switch (what) {
    case CURL_POLL_IN:
      return EV_READ;
    case CURL_POLL_OUT:
      return EV_WRITE;
    case CURL_POLL_INOUT:
      return EV_READ | EV_WRITE;
    default:
      return 0;
  }
}
}  // namespace

CurlMulti::CurlMulti(Loop& loop)
    : loop_(loop), multi_(nullptr), timer_(loop, [this] { action(CURL_SOCKET_TIMEOUT, 0); }) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // No limit on idle connections kept for reuse (keepalive checks, each in a cache of its
  // probe's own). libcurl's default, 4 per easy handle in the multi, counts only the
  // transfers running now. Measured, not explained: without this, 5,000 keepalive checks a
  // second ran 3-4x the overruns (4,364-5,367 against 1,311-1,489 in 30 s, same machine).
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 1L << 20);
}

CurlMulti::~CurlMulti() {
  for (auto& [easy, owner] : owners_) curl_multi_remove_handle(multi_, easy);
  owners_.clear();
  curl_multi_cleanup(multi_);
  timer_.stop();
}

bool CurlMulti::add(CURL* easy, CurlTransfer* owner) {
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) return false;
  owners_[easy] = owner;
  return true;
}

void CurlMulti::remove(CURL* easy) {
  if (owners_.erase(easy)) curl_multi_remove_handle(multi_, easy);
}

int CurlMulti::on_socket(CURL*, curl_socket_t s, int what, void* selfp, void* socketp) {
  auto* self = static_cast<CurlMulti*>(selfp);
  auto* sock = static_cast<Socket*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (sock) {
      sock->io.stop();
      curl_multi_assign(self->multi_, s, nullptr);
      auto it = self->sockets_.find(sock);
      if (it != self->sockets_.end()) {
        self->retired_.push_back(std::move(it->second));
        self->sockets_.erase(it);
      }
    }
    return 0;
  }
  int events = ev_events(what);
  if (!sock) {
    auto owned = std::make_unique<Socket>(*self, s, events);
    sock = owned.get();
    self->sockets_.emplace(sock, std::move(owned));
    curl_multi_assign(self->multi_, s, sock);
  } else {
    sock->io.set(s, events);
  }
  sock->io.start();
  return 0;
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* selfp) {
  auto* self = static_cast<CurlMulti*>(selfp);
  if (timeout_ms < 0)
    self->timer_.stop();
  else
    self->timer_.start(std::chrono::milliseconds(timeout_ms));
  return 0;
}

void CurlMulti::action(curl_socket_t s, int flags) {
  retired_.clear();
  int running = 0;
  curl_multi_socket_action(multi_, s, flags, &running);
  drain_done();
}

void CurlMulti::drain_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    auto it = owners_.find(easy);
    curl_multi_remove_handle(multi_, easy);
    if (it == owners_.end()) continue;
    CurlTransfer* owner = it->second;
    owners_.erase(it);
    // May add or remove other handles; curl_multi_info_read copes.
    owner->on_curl_done(code);
  }
}

}  // namespace hd::checkers
