// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/ping_check.h"

#include <errno.h>
#include <linux/icmp.h>  // ICMP_FILTER (struct icmphdr: glibc's netinet/ip_icmp.h clashes)
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "checkers/icmp_echo.h"
#include "checkers/udp_check.h"

namespace hd::checkers {

PingProbe::PingProbe(Loop& loop, SpecPtr spec, Endpoint target)
    : spec_(std::move(spec)),
      target_(target),
      io_(loop, -1, EV_READ, [this](int revents) { on_io(revents); }),
      timer_(loop, [this] { finish(Result::failure(Reason::timeout, 0, "no echo reply")); }),
      defer_(loop, [this] {
        if (deferred_) {
          Result r = std::move(*deferred_);
          deferred_.reset();
          finish(std::move(r));
        }
      }) {
  addr_len_ = to_sockaddr(target_.address, 0, addr_);
  if (spec_->source_address) source_len_ = to_sockaddr(*spec_->source_address, 0, source_);
  id_ = static_cast<uint16_t>(std::random_device{}());
  seq_ = static_cast<uint16_t>(std::random_device{}());
}

PingProbe::~PingProbe() { cancel(); }

namespace {
// Only echo replies and the errors that can quote a request reach a raw socket.
void filter_raw(int fd, Family family) {
  if (family == Family::v4) {
    icmp_filter f{};
    f.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) | (1u << ICMP_TIME_EXCEEDED));
    setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof f);
  } else {
    icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
    ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
  }
}
}  // namespace

void PingProbe::start(ProbeDone done) {
  done_ = std::move(done);
  const Family family = target_.address.family();
  const int proto = family == Family::v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
  raw_ = false;
  fd_ = socket(target_.address.af(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd_ < 0 && (errno == EACCES || errno == EPERM)) {  // ping_group_range says no
    raw_ = true;
    fd_ = socket(target_.address.af(), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  }
  if (fd_ < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES)
      return finish_later(Result::failure(Reason::other, e,
                                          "ping needs a ping socket (net.ipv4.ping_group_range) "
                                          "or CAP_NET_RAW"));
    return finish_later(Result::syscall_failure(Reason::other, "socket", e));
  }
  if (raw_) filter_raw(fd_, family);
  recv_errors(fd_, family);  // a router's unreachable about our echo, reported on recv()
  if (source_len_ && bind(fd_, reinterpret_cast<sockaddr*>(&source_), source_len_) != 0) {
    int e = errno;
    return finish_later(Result::failure_or_local(
        Reason::connect_failed, e, "bind " + spec_->source_address->str() + ": " + std::strerror(e)));
  }
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr_), addr_len_) != 0)
    return finish_later(Result::failure_or_local(Reason::connect_failed, errno));
  ++seq_;
  const std::string request = icmp::echo_request(family, id_, seq_, "hadirector ping check");
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK)
      return finish_later(Result::syscall_failure(Reason::local_error, "send", e));
    return finish_later(Result::failure_or_local(Reason::connect_failed, e));
  }
  io_.set(fd_, EV_READ);
  io_.start();
  timer_.start(spec_->timeout);
}

void PingProbe::cancel() {
  close_socket();
  timer_.stop();
  defer_.stop();
  deferred_.reset();
  done_ = nullptr;
}

void PingProbe::close_socket() {
  io_.stop();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void PingProbe::finish(Result r) {
  ProbeDone done = std::move(done_);
  cancel();
  if (done) done(std::move(r));
}

void PingProbe::finish_later(Result r) {
  close_socket();
  timer_.stop();
  deferred_ = std::move(r);
  defer_.start(Duration::zero());
}

void PingProbe::on_io(int) {
  char buf[1500];
  const Family family = target_.address.family();
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return;
      if (e == EINTR) continue;
      // A ping socket reports the ICMP error about its request as the socket's error.
      return finish(Result::failure_or_local(Reason::connect_failed, e));
    }
    auto p = icmp::parse(family, std::string_view(buf, static_cast<size_t>(n)),
                         raw_ && family == Family::v4, id_, seq_, raw_);
    if (p.answer == icmp::Answer::reply) return finish(Result::success());
    if (p.answer == icmp::Answer::unreachable)
      return finish(Result::failure(Reason::connect_failed, 0,
                                    "ICMP type " + std::to_string(p.type) + " code " +
                                        std::to_string(p.code)));
    // anything else (another prober's echo on a raw socket): wait on
  }
}

}  // namespace hd::checkers
