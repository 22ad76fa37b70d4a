// SPDX-License-Identifier: GPL-2.0-or-later
// TCP probe: a non-blocking connect (with source_address bound if set), then
// optionally `send` and wait until `expect` appears in what comes back.
// connect_timeout bounds the handshake, timeout the whole probe. A refused
// connect (RST), a handshake timeout, a reset and an answer without the
// expected bytes are told apart. The socket is closed with an RST (SO_LINGER
// 0), as HAProxy's checks do, so probes leave no TIME_WAIT on the director.
// With spec.half_open the probe is a SYN through the loop's SynProber instead:
// SYN-ACK is up, RST refused, silence a timeout; the SYN is sent again after
// 1 s, 3 s, 7 s... as the kernel would retransmit it.
#pragma once
#include <memory>
#include <sys/socket.h>

#include <optional>
#include <string>

#include "checkers/probe.h"
#include "checkers/syn_prober.h"

namespace hd::checkers {

class TcpProbe final : public Probe, private SynProber::Client {
 public:
  // `syn` is required when spec.half_open.
  // `target`: where to connect (the spec's own address and port are not read).
  TcpProbe(Loop& loop, SpecPtr spec, Endpoint target, SynProber* syn = nullptr);
  TcpProbe(Loop& loop, const Spec& spec, SynProber* syn = nullptr)
      : TcpProbe(loop, std::make_shared<const Spec>(spec), endpoint_of(spec), syn) {}
  ~TcpProbe() override;
  void start(ProbeDone done) override;
  void cancel() override;
  bool running() const override { return static_cast<bool>(done_); }

 private:
  enum class Phase { idle, syn, connecting, sending, receiving };
  void on_syn_answer(Result r) override;
  void on_syn_timer();
  void on_io(int revents);
  void on_timeout();
  void on_connected();
  void do_send();
  void do_receive();
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
  Phase phase_ = Phase::idle;
  size_t sent_ = 0;
  std::string received_;
  TimePoint started_;
  IoWatcher io_;
  Timer timer_;
  Timer defer_;
  SynProber* syn_;
  SynProber::Flight flight_;
  Duration rto_{};
  TimePoint next_resend_{};
  TimePoint deadline_{};
  uint64_t run_ = 0;  // counts start()s: tells a finished run from the next one
  std::optional<Result> deferred_;
  ProbeDone done_;
};

}  // namespace hd::checkers
