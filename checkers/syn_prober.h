// SPDX-License-Identifier: GPL-2.0-or-later
// Half-open TCP probes ("syn" checks): a SYN from a raw socket, and the answer
// read back from it. A SYN-ACK means up, an RST means refused, an ICMP error
// (IP_RECVERR) means that error; silence means timeout. The director's own
// kernel answers the SYN-ACK with an RST, since no socket of its own owns that
// connection, so the real server's application never sees an accept(): no
// "connection reset" noise in its logs, no wasted worker wake-up.
//
// Why: a full connect() costs the director a socket, a file, a port search,
// an epoll registration and a close; 10,000 of them per second cost more
// than a tenth of a core. A half-open probe is a share of one sendmmsg() (the
// SYNs queued during a loop turn leave together, just before the loop sleeps)
// and a share of a batched recvmmsg().
//
// The source ports come from a block the prober reserves by bind()ing a TCP
// socket to each (never listening): connect() then never picks them, so a
// probe cannot collide with a real connection, and the kernel still answers
// SYN-ACKs to them with an RST. A classic BPF filter on each raw socket lets
// through only SYN-ACKs and RSTs to that block.
//
// One SynProber per loop, shared by every syn check on it (ProbeContext).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkers/result.h"
#include "checkers/tcp_segment.h"
#include "core/address.h"
#include "core/clock.h"
#include "core/loop.h"

namespace hd::checkers {

class SynProber {
 public:
  class Client {
   public:
    // The answer to this client's SYN; the flight is already over.
    virtual void on_syn_answer(Result r) = 0;

   protected:
    ~Client() = default;
  };

  // One probe's state, owned by its client; a client has one flight at a time.
  struct Flight {
    bool active = false;
    IpAddress remote;
    uint16_t rport = 0;
    uint16_t lport = 0;
    uint32_t isn = 0;
    std::optional<IpAddress> source;  // forced source, when the check has one
    // The prober's IPv4 route source for `remote`, kept here too: the flight is in cache
    // when its SYN is built, the prober's table of 10,000 sources is not.
    IpAddress route_source;
    TimePoint route_until{};
  };

  // The reserved source port block: at most this many probes of one ip:port
  // in flight at once (each check has at most one).
  static constexpr uint16_t kPorts = 256;

  explicit SynProber(Loop& loop);
  ~SynProber();
  SynProber(const SynProber&) = delete;
  SynProber& operator=(const SynProber&) = delete;

  // Sends a SYN to remote:rport and registers `client` for the answer. On a
  // failure to send, returns the Result and registers nothing.
  std::optional<Result> start(Client& client, Flight& flight, const IpAddress& remote,
                              uint16_t rport, const std::optional<IpAddress>& source);
  // Sends the flight's SYN again (same ports, same sequence number), as a
  // kernel retransmits an unanswered SYN.
  std::optional<Result> resend(Flight& flight);
  // Ends the flight without an answer.
  void cancel(Flight& flight);
  // Reads the answers waiting now (a probe about to time out calls this, so
  // an answer held by the read pause still counts).
  void poll();

  struct Stats {
    uint64_t sent = 0;
    uint64_t answers = 0;       // matched SYN-ACK, RST or ICMP error
    uint64_t unmatched = 0;     // passed the filter but matched no flight (late, stale)
    uint64_t source_lookups = 0;
    uint64_t send_drops = 0;    // SYNs the kernel could not queue (EAGAIN, ENOBUFS): left to retransmission
  };
  const Stats& stats() const { return stats_; }
  // The first port of the reserved block (0: not reserved yet), for tests.
  uint16_t port_base() const { return port_base_; }
  // The process may not open raw sockets (no CAP_NET_RAW): tcp checks fall back to full
  // connects rather than all reporting an error.
  bool unprivileged() const { return unprivileged_; }
  static Result unprivileged_error();

 private:
  struct Key {
    std::array<uint8_t, 16> addr{};
    uint8_t family = 0;
    uint16_t rport = 0;
    uint16_t lport = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    Client* client;
    Flight* flight;
  };
  using Flights = std::unordered_map<Key, Entry, KeyHash>;
  struct Family {
    int fd = -1;
    std::unique_ptr<IoWatcher> io;
    std::unique_ptr<Timer> pause;  // see on_readable()
  };
  struct Source {
    IpAddress address;
    TimePoint until;
  };

  std::optional<Result> open(bool v6);
  std::optional<Result> reserve_ports();
  // A SYN ready to go: built when queued (source looked up, checksum done),
  // sent by flush() just before the loop next sleeps, in one sendmmsg().
  struct Outgoing {
    Key key;
    uint32_t isn = 0;
    bool v6 = false;
    bool forced_source = false;
    alignas(8) uint8_t seg[kSynSize];
    sockaddr_storage dst;
    socklen_t dlen = 0;
    alignas(cmsghdr) char control[kPktinfoSpace];
    size_t controllen = 0;
  };
  std::optional<Result> build(Flight& f, Outgoing& out);
  std::optional<Result> queue(Flight& f);
  void flush();
  void flush_round();
  void fill(Outgoing& o, msghdr& msg, iovec& iov);
  bool live(const Outgoing& o) const;
  void send_one(Outgoing& o);
  void fail(const Key& k, Result r);
  void end(Flights::iterator it, Result r);
  std::optional<Result> lookup_source(Flight& f, IpAddress& out);
  void on_readable(bool v6);
  void read_answers(bool v6);
  void read_errors(bool v6);
  void deliver(const Key& k, uint32_t expect_ack_or_seq, bool is_icmp, Result r);
  static Key key_of(const IpAddress& remote, uint16_t rport, uint16_t lport);

  Loop& loop_;
  Family v4_, v6_;
  std::unique_ptr<Prepare> flush_;
  std::vector<Outgoing> outgoing_;  // queued this turn
  std::vector<Outgoing> sending_;   // being sent by flush_round()
  std::vector<Outgoing*> mine_;     // one family's share of sending_
  int route_udp_ = -1;               // IPv4 route lookups (lookup_source)
  std::vector<int> reserved_;
  uint16_t port_base_ = 0;
  uint16_t next_port_ = 0;
  Flights flights_;
  // IPv4 route sources by remote address (network order), refreshed every kSourceTtl. A hash:
  // looked up for every SYN, and a 10,000-node tree cost a tenth of the prober's CPU.
  std::unordered_map<uint32_t, Source> sources_;
  static uint32_t v4_key(const IpAddress& a);
  std::mt19937 rng_;
  Stats stats_;
  std::optional<Result> reserve_error_;
  bool unprivileged_ = false;
  TimePoint reserve_retry_at_{};
};

}  // namespace hd::checkers
