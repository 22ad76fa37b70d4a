// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/udp_check.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "checkers/dns_message.h"

namespace hd::checkers {

UdpProbe::UdpProbe(Loop& loop, SpecPtr spec, Endpoint target)
    : spec_(std::move(spec)),
      target_(target),
      io_(loop, -1, EV_READ, [this](int revents) { on_io(revents); }),
      timer_(loop, [this] { on_timeout(); }),
      defer_(loop, [this] {
        if (deferred_) {
          Result r = std::move(*deferred_);
          deferred_.reset();
          finish(std::move(r));
        }
      }) {
  addr_len_ = to_sockaddr(target_.address, target_.port, addr_);
  if (spec_->source_address) source_len_ = to_sockaddr(*spec_->source_address, 0, source_);
}

UdpProbe::~UdpProbe() { cancel(); }

// Without IP_RECVERR a connected UDP socket hears only the "hard" ICMP errors (port or
// protocol unreachable, prohibited): host and net unreachable and time exceeded would be
// dropped, and a dead host would pass a check that needs no reply (keepalived sets it too).
void recv_errors(int fd, Family family) {
  int one = 1;
  if (family == Family::v4) setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof one);
  else setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
}

namespace {
// An ICMP error the kernel queued on the connected socket, as a result.
Result icmp_result(int err) {
  if (err == ECONNREFUSED) return Result::failure(Reason::connect_refused, err, "port unreachable");
  return Result::failure_or_local(Reason::connect_failed, err);
}
}  // namespace

void UdpProbe::start(ProbeDone done) {
  done_ = std::move(done);
  mismatches_ = 0;
  payload_ = spec_->send;
  if (spec_->type == CheckType::dns) {
    dns_id_ = static_cast<uint16_t>(std::random_device{}());
    payload_ = dns::query(dns_id_, spec_->dns_name, spec_->dns_type);
  }
  fd_ = socket(target_.address.af(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return finish_later(Result::syscall_failure(Reason::other, "socket", errno));
  recv_errors(fd_, target_.address.family());
  if (source_len_ && bind(fd_, reinterpret_cast<sockaddr*>(&source_), source_len_) != 0) {
    int e = errno;
    return finish_later(Result::failure_or_local(
        Reason::connect_failed, e, "bind " + spec_->source_address->str() + ": " + std::strerror(e)));
  }
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr_), addr_len_) != 0)
    return finish_later(icmp_result(errno));  // no route: ENETUNREACH at once
  if (::send(fd_, payload_.data(), payload_.size(), MSG_NOSIGNAL) < 0) {
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
      return finish_later(Result::syscall_failure(Reason::local_error, "send", e));
    return finish_later(icmp_result(e));
  }
  io_.set(fd_, EV_READ);
  io_.start();
  timer_.start(spec_->timeout);
}

void UdpProbe::cancel() {
  close_socket();
  timer_.stop();
  defer_.stop();
  deferred_.reset();
  done_ = nullptr;
}

void UdpProbe::close_socket() {
  io_.stop();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void UdpProbe::finish(Result r) {
  ProbeDone done = std::move(done_);
  cancel();
  if (done) done(std::move(r));
}

void UdpProbe::finish_later(Result r) {
  close_socket();
  timer_.stop();
  deferred_ = std::move(r);
  defer_.start(Duration::zero());
}

void UdpProbe::on_timeout() {
  if (mismatches_ > 0)
    return finish(Result::failure(Reason::expect_mismatch, 0,
                                  std::to_string(mismatches_) + " datagram(s), not the expected"));
  if (reply_required()) return finish(Result::failure(Reason::timeout, 0, "no reply"));
  finish(Result::success());  // nothing said no
}

std::optional<Result> UdpProbe::judge_dns(std::string_view reply) const {
  auto j = dns::judge(reply, dns_id_, spec_->dns_name, spec_->dns_type);
  switch (j.verdict) {
    case dns::Verdict::not_ours:
      return std::nullopt;
    case dns::Verdict::answered:
      return Result::success();
    case dns::Verdict::no_answer:
      return Result::failure(Reason::expect_mismatch, 0,
                             "no " + dns::type_name(spec_->dns_type) + " record");
    case dns::Verdict::error:
      return Result::failure(Reason::bad_status, j.rcode, dns::rcode_name(j.rcode));
  }
  return std::nullopt;
}

void UdpProbe::on_io(int) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return;
      if (e == EINTR) continue;
      return finish(icmp_result(e));
    }
    std::string_view got(buf, static_cast<size_t>(n));
    if (spec_->type == CheckType::dns) {
      if (auto r = judge_dns(got)) return finish(std::move(*r));
      continue;  // not the reply to this query
    }
    if (spec_->expect.empty() || got.find(spec_->expect) != std::string_view::npos)
      return finish(Result::success());
    ++mismatches_;  // a stray or wrong datagram: wait for the right one until the timeout
  }
}

}  // namespace hd::checkers
