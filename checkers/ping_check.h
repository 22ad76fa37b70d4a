// SPDX-License-Identifier: GPL-2.0-or-later
// Ping probe (keepalived's PING_CHECK): one ICMP or ICMPv6 echo request to the target,
// up at the matching echo reply, down at a destination unreachable quoting it
// (connect_failed) or at `timeout` (timeout). It uses an unprivileged ping socket
// (SOCK_DGRAM, IPPROTO_ICMP[V6]: the kernel chooses the id and hands over only this
// socket's replies) where net.ipv4.ping_group_range allows it, else a raw socket
// (CAP_NET_RAW; connected to the target, so only its packets arrive, and filtered to echo
// replies and errors), matching id and sequence number itself. icmp_echo.h holds the
// wire format.
#pragma once
#include <memory>
#include <sys/socket.h>

#include <optional>

#include "checkers/probe.h"

namespace hd::checkers {

class PingProbe final : public Probe {
 public:
  PingProbe(Loop& loop, SpecPtr spec, Endpoint target);
  PingProbe(Loop& loop, const Spec& spec)
      : PingProbe(loop, std::make_shared<const Spec>(spec), endpoint_of(spec)) {}
  ~PingProbe() override;
  void start(ProbeDone done) override;
  void cancel() override;
  bool running() const override { return static_cast<bool>(done_); }
  // Whether the last run used a raw socket (no ping socket allowed), for tests.
  bool used_raw_socket() const { return raw_; }

 private:
  void on_io(int revents);
  void finish(Result r);
  void finish_later(Result r);
  void close_socket();

  SpecPtr spec_;  // shared with the Checker's checks
  Endpoint target_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  sockaddr_storage source_{};
  socklen_t source_len_ = 0;
  int fd_ = -1;
  bool raw_ = false;
  uint16_t id_ = 0;
  uint16_t seq_ = 0;
  IoWatcher io_;
  Timer timer_;
  Timer defer_;
  std::optional<Result> deferred_;
  ProbeDone done_;
};

}  // namespace hd::checkers
