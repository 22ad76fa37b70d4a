// SPDX-License-Identifier: GPL-2.0-or-later
// UDP probe (keepalived's UDP_CHECK): a connected, non-blocking UDP socket sends `send` (a
// datagram, maybe empty) to the target and waits up to `timeout`:
//   - a datagram back: up, if it holds `expect` (or `expect` is empty); else
//     expect_mismatch;
//   - an ICMP error (the kernel reports it on the connected socket): port unreachable is
//     connect_refused, any other (host or network unreachable, ...) connect_failed;
//   - silence: up, unless a reply is required (`require_reply`, or `expect` set), then
//     timeout. Without a required reply, "up" means only that nothing said no, as
//     keepalived's UDP_CHECK without require_reply: a lost datagram passes.
// The dns check is this probe with a DNS query as the datagram (a new id each run) and
// dns::judge() on what comes back: up at an answer, bad_status (the RCODE) at an error,
// expect_mismatch at a reply without an answer, timeout at silence; datagrams that are
// not the reply to this query are ignored.
#pragma once
#include <memory>
#include <sys/socket.h>

#include <optional>

#include "checkers/probe.h"

namespace hd::checkers {

// IP_RECVERR / IPV6_RECVERR on `fd`: every ICMP error about what it sent is reported on it
// (recv() fails with it), not only the "hard" ones. The udp, dns and ping probes set it.
void recv_errors(int fd, Family family);

class UdpProbe final : public Probe {
 public:
  UdpProbe(Loop& loop, SpecPtr spec, Endpoint target);
  UdpProbe(Loop& loop, const Spec& spec)
      : UdpProbe(loop, std::make_shared<const Spec>(spec), endpoint_of(spec)) {}
  ~UdpProbe() override;
  void start(ProbeDone done) override;
  void cancel() override;
  bool running() const override { return static_cast<bool>(done_); }

 private:
  void on_io(int revents);
  void on_timeout();
  void finish(Result r);
  void finish_later(Result r);
  void close_socket();
  bool reply_required() const {
    return spec_->require_reply || !spec_->expect.empty() || spec_->type == CheckType::dns;
  }
  std::optional<Result> judge_dns(std::string_view reply) const;

  SpecPtr spec_;  // shared with the Checker's checks
  Endpoint target_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  sockaddr_storage source_{};
  socklen_t source_len_ = 0;
  int fd_ = -1;
  size_t mismatches_ = 0;  // datagrams that came back without `expect`
  std::string payload_;    // spec_.send, or this run's DNS query
  uint16_t dns_id_ = 0;
  IoWatcher io_;
  Timer timer_;
  Timer defer_;
  std::optional<Result> deferred_;
  ProbeDone done_;
};

}  // namespace hd::checkers
