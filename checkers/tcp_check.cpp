// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/tcp_check.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace hd::checkers {
namespace {

constexpr size_t kMaxReceive = 64 * 1024;

}  // namespace

TcpProbe::TcpProbe(Loop& loop, SpecPtr spec, Endpoint target, SynProber* syn)
    : spec_(std::move(spec)),
      target_(target),
      io_(loop, -1, EV_WRITE, [this](int revents) { on_io(revents); }),
      timer_(loop, [this] { on_timeout(); }),
      defer_(loop, [this] {
        if (deferred_) {
          Result r = std::move(*deferred_);
          deferred_.reset();
          finish(std::move(r));
        }
      }),
      syn_(spec_->half_open ? syn : nullptr) {
  addr_len_ = to_sockaddr(target_.address, target_.port, addr_);
  if (spec_->source_address) source_len_ = to_sockaddr(*spec_->source_address, 0, source_);
}

TcpProbe::~TcpProbe() {
  cancel();
}

void TcpProbe::start(ProbeDone done) {
  done_ = std::move(done);
  phase_ = Phase::connecting;
  sent_ = 0;
  received_.clear();
  started_ = SteadyClock::now();
  ++run_;

  if (spec_->half_open) {
    if (!syn_) return finish_later(Result::failure(Reason::invalid_check, 0, "no syn prober"));
    auto err = syn_->start(*this, flight_, target_.address, target_.port, spec_->source_address);
    if (!err) {
      phase_ = Phase::syn;
      // One timer for both the retransmissions and the deadline.
      deadline_ = started_ + spec_->effective_connect_timeout();
      rto_ = std::chrono::seconds(1);
      next_resend_ = started_ + rto_;
      timer_.start(std::min(next_resend_, deadline_) - started_);
      return;
    }
    // No raw sockets allowed: a full connect proves as much.
    if (!syn_->unprivileged()) return finish_later(std::move(*err));
  }
  fd_ = socket(target_.address.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return finish_later(Result::syscall_failure(Reason::other, "socket", errno));
  if (source_len_) {
    // Let connect() pick the port for the 4-tuple, not bind() for the address
    // alone: thousands of probes from one source address would run out of ports.
    int one = 1;
    setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&source_), source_len_) != 0) {
      int e = errno;
      return finish_later(
          Result::failure(Reason::connect_failed, e,
                          "bind " + spec_->source_address->str() + ": " + std::strerror(e)));
    }
  }
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr_), addr_len_) != 0 && errno != EINPROGRESS) {
    int e = errno;
    if (e == ECONNREFUSED) return finish_later(Result::failure(Reason::connect_refused));
    return finish_later(Result::failure(Reason::connect_failed, e));
  }
  // Even a connect that completed at once is reported through the loop.
  io_.set(fd_, EV_WRITE);
  io_.start();
  timer_.start(spec_->effective_connect_timeout());
}

void TcpProbe::cancel() {
  if (syn_) syn_->cancel(flight_);
  close_socket();
  timer_.stop();
  defer_.stop();
  deferred_.reset();
  phase_ = Phase::idle;
  done_ = nullptr;
}

void TcpProbe::close_socket() {
  io_.stop();
  if (fd_ >= 0) {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }
}

void TcpProbe::finish(Result r) {
  ProbeDone done = std::move(done_);
  cancel();
  if (done) done(std::move(r));
}

void TcpProbe::finish_later(Result r) {
  close_socket();
  timer_.stop();
  deferred_ = std::move(r);
  defer_.start(Duration::zero());
}

void TcpProbe::on_syn_answer(Result r) { finish(std::move(r)); }

void TcpProbe::on_syn_timer() {
  TimePoint now = SteadyClock::now();
  if (now >= deadline_ || next_resend_ >= deadline_) {
    // An answer may wait unread in the socket (the prober's read pause): read
    // it first; it ends this probe through on_syn_answer() if it is ours.
    uint64_t run = run_;
    syn_->poll();
    // Answered: `done` ran, and may have started the next run already.
    if (run_ != run || phase_ != Phase::syn) return;
    return finish(Result::failure(Reason::connect_timeout));
  }
  if (auto err = syn_->resend(flight_)) return finish(std::move(*err));
  // The kernel's SYN retransmission schedule: 1 s, then doubling (1, 3, 7 s...).
  rto_ *= 2;
  next_resend_ += rto_;
  TimePoint next = std::min(next_resend_, deadline_);
  timer_.start(next > now ? next - now : Duration::zero());
}

void TcpProbe::on_timeout() {
  switch (phase_) {
    case Phase::syn:
      return on_syn_timer();
    case Phase::connecting:
      return finish(Result::failure(Reason::connect_timeout));
    case Phase::receiving:
      if (!received_.empty())
        return finish(
            Result::failure(Reason::expect_mismatch, 0,
                            std::to_string(received_.size()) + " bytes, not the expected"));
      return finish(Result::failure(Reason::timeout));
    default:
      return finish(Result::failure(Reason::timeout));
  }
}

void TcpProbe::on_io(int) {
  switch (phase_) {
    case Phase::connecting: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == ECONNREFUSED) return finish(Result::failure(Reason::connect_refused));
      if (err == ETIMEDOUT) return finish(Result::failure(Reason::connect_timeout));
      if (err != 0) return finish(Result::failure(Reason::connect_failed, err));
      return on_connected();
    }
    case Phase::sending:
      return do_send();
    case Phase::receiving:
      return do_receive();
    case Phase::idle:
    case Phase::syn:
      return;
  }
}

void TcpProbe::on_connected() {
  if (spec_->send.empty() && spec_->expect.empty()) return finish(Result::success());
  // The rest of the probe gets what is left of `timeout`.
  Duration left = spec_->timeout - (SteadyClock::now() - started_);
  timer_.start(left > Duration::zero() ? left : Duration::zero());
  if (!spec_->send.empty()) {
    phase_ = Phase::sending;
    return do_send();
  }
  phase_ = Phase::receiving;
  io_.set(fd_, EV_READ);
}

void TcpProbe::do_send() {
  while (sent_ < spec_->send.size()) {
    ssize_t n = ::send(fd_, spec_->send.data() + sent_, spec_->send.size() - sent_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // wait for EV_WRITE
      int e = errno;
      if (e == EPIPE || e == ECONNRESET) return finish(Result::failure(Reason::reset));
      return finish(Result::syscall_failure(Reason::other, "send", e));
    }
    sent_ += static_cast<size_t>(n);
  }
  if (spec_->expect.empty()) return finish(Result::success());
  phase_ = Phase::receiving;
  io_.set(fd_, EV_READ);
}

void TcpProbe::do_receive() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      int e = errno;
      if (e == ECONNRESET || e == EPIPE) return finish(Result::failure(Reason::reset));
      return finish(Result::failure(Reason::other, e, std::string("recv: ") + std::strerror(e)));
    }
    if (n == 0) {
      if (received_.empty()) return finish(Result::failure(Reason::reset, 0, "closed, no answer"));
      return finish(Result::failure(
          Reason::expect_mismatch, 0,
          "closed after " + std::to_string(received_.size()) + " bytes, not the expected"));
    }
    // Keep only what can still hold a match starting in new data.
    size_t before = received_.size();
    received_.append(buf, static_cast<size_t>(n));
    size_t from = before >= spec_->expect.size() ? before - spec_->expect.size() + 1 : 0;
    if (received_.find(spec_->expect, from) != std::string::npos) return finish(Result::success());
    if (received_.size() > kMaxReceive)
      return finish(Result::failure(Reason::expect_mismatch, 0, "64 KiB, not the expected"));
  }
}

}  // namespace hd::checkers
