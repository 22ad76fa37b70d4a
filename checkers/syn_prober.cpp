// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/syn_prober.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "checkers/tcp_segment.h"
#include "core/log.h"

namespace hd::checkers {
namespace {

constexpr Duration kSourceTtl = std::chrono::seconds(30);
constexpr unsigned kBatch = 32;
// After a read, the socket is left unwatched this long, so the answers to one
// burst of SYNs are read in one or two wake-ups, not one each. The loop's
// timer batching stretches it to its window.
constexpr Duration kReadPause = std::chrono::milliseconds(1);
constexpr size_t kPacketMax = 256;  // IPv4 header + TCP header, options included, fit

// Accepts only SYN-ACKs and RSTs to ports [base, base + kPorts). IPv4 raw
// sockets see the packet from the IP header on (first fragments only);
// IPv6 raw sockets from the TCP header on. Userspace checks everything again.
std::vector<sock_filter> answer_filter(bool v6, uint16_t base) {
  const uint32_t first = base, last = base + SynProber::kPorts - 1;
  if (!v6)
    return {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),                 // 0: flags + fragment offset
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 9, 0),   // 1: a later fragment: drop
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),               // 2: x = IP header length
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                // 3: destination port
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, first, 0, 6),     // 4
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, last, 5, 0),      // 5
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),               // 6: TCP flags
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, tcp_flags::rst, 2, 0),  // 7
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, tcp_flags::syn | tcp_flags::ack),  // 8
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, tcp_flags::syn | tcp_flags::ack, 0, 1),  // 9
        BPF_STMT(BPF_RET | BPF_K, 0xffff),                    // 10: accept
        BPF_STMT(BPF_RET | BPF_K, 0),                         // 11: drop
    };
  return {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),                  // 0: destination port
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, first, 0, 6),       // 1
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, last, 5, 0),        // 2
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),                 // 3: TCP flags
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, tcp_flags::rst, 2, 0),  // 4
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, tcp_flags::syn | tcp_flags::ack),  // 5
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, tcp_flags::syn | tcp_flags::ack, 0, 1),  // 6
      BPF_STMT(BPF_RET | BPF_K, 0xffff),                      // 7: accept
      BPF_STMT(BPF_RET | BPF_K, 0),                           // 8: drop
  };
}

std::pair<uint16_t, uint16_t> local_port_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned lo = 0, hi = 0;
  if (in >> lo >> hi && lo > 0 && hi <= 65535 && hi >= lo + 2 * SynProber::kPorts)
    return {uint16_t(lo), uint16_t(hi)};
  return {32768, 60999};
}

Result errno_result(int e, const std::string& what) {
  if (e == ECONNREFUSED) return Result::failure(Reason::connect_refused);
  return Result::failure(Reason::connect_failed, e, what);
}

}  // namespace

size_t SynProber::KeyHash::operator()(const Key& k) const {
  // FNV-1a over the fields: cheap and spreads the ports.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (uint8_t b : k.addr) mix(b);
  mix(k.family);
  mix(uint8_t(k.rport)), mix(uint8_t(k.rport >> 8));
  mix(uint8_t(k.lport)), mix(uint8_t(k.lport >> 8));
  return size_t(h);
}

SynProber::Key SynProber::key_of(const IpAddress& remote, uint16_t rport, uint16_t lport) {
  Key k;
  std::memcpy(k.addr.data(), remote.data(), remote.size());
  k.family = uint8_t(remote.family());
  k.rport = rport;
  k.lport = lport;
  return k;
}

SynProber::SynProber(Loop& loop)
    : loop_(loop),
      flush_(std::make_unique<Prepare>(loop, [this] { flush(); })),
      rng_(std::random_device{}()) {}

SynProber::~SynProber() {
  for (Family* f : {&v4_, &v6_}) {
    f->io.reset();
    f->pause.reset();
    if (f->fd >= 0) ::close(f->fd);
  }
  if (route_udp_ >= 0) ::close(route_udp_);
  for (int fd : reserved_) ::close(fd);
  for (auto& [k, e] : flights_) e.flight->active = false;
}

std::optional<Result> SynProber::reserve_ports() {
  auto [lo, hi] = local_port_range();
  std::uniform_int_distribution<unsigned> pick(lo, hi - kPorts);
  int last_error = 0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint16_t base = uint16_t(pick(rng_));
    std::vector<int> fds;
    for (uint16_t p = base; p < base + kPorts; ++p) {
      // A dual-stack [::]:p holds the port for IPv4 and IPv6; a host without
      // IPv6 gets 0.0.0.0:p.
      int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_storage ss;
      socklen_t len;
      if (fd >= 0) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        len = to_sockaddr(*IpAddress::parse("::"), p, ss);
      } else {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        len = to_sockaddr(IpAddress::of(0, 0, 0, 0), p, ss);
      }
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        last_error = errno;
        if (fd >= 0) ::close(fd);
        break;
      }
      fds.push_back(fd);
    }
    if (fds.size() == kPorts) {
      reserved_ = std::move(fds);
      port_base_ = base;
      HD_LOG(info, "checkers") << "syn probes use source ports " << base << "-"
                               << base + kPorts - 1;
      return std::nullopt;
    }
    for (int fd : fds) ::close(fd);
  }
  return Result::syscall_failure(Reason::other, "cannot reserve source ports for syn probes",
                                 last_error);
}

Result SynProber::unprivileged_error() {
  return Result::failure(Reason::other, EPERM,
                         "raw TCP socket: syn probes need CAP_NET_RAW (probe = \"connect\" does not)");
}

std::optional<Result> SynProber::open(bool v6) {
  Family& fam = v6 ? v6_ : v4_;
  if (fam.fd >= 0) return std::nullopt;
  if (unprivileged_) return unprivileged_error();  // known: no socket() per probe
  // A failed reservation is tried again at most every 10 s, not per probe.
  TimePoint now = SteadyClock::now();
  if (!port_base_ && reserve_error_ && now < reserve_retry_at_) return reserve_error_;
  // The raw socket before the ports: without CAP_NET_RAW none are reserved for nothing.
  int af = v6 ? AF_INET6 : AF_INET;
  int fd = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd >= 0 && !port_base_) {
    reserve_error_ = reserve_ports();
    reserve_retry_at_ = now + std::chrono::seconds(10);
    if (reserve_error_) {
      ::close(fd);
      return reserve_error_;
    }
  }
  if (fd < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES) {
      unprivileged_ = true;
      HD_LOG(warning, "checkers") << "syn probes need CAP_NET_RAW (" << std::strerror(e)
                                  << "): tcp checks fall back to full connects";
      return unprivileged_error();
    }
    return Result::syscall_failure(Reason::other, "raw TCP socket", e);
  }
  int one = 1;
  if (v6) {
    int offset = 16;  // the TCP checksum field: the kernel fills it in
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof offset) != 0) {
      // Without it every SYN would leave with checksum 0 and be dropped.
      int e = errno;
      ::close(fd);
      return Result::failure(Reason::other, e,
                             std::string("IPV6_CHECKSUM on the raw socket: ") + std::strerror(e));
    }
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
  } else {
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
  }
  // Room for the answers to a few thousand SYNs, and for as many SYNs queued.
  for (int opt : {SO_RCVBUF, SO_SNDBUF}) {
    int want = 1 << 20;
    int force = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
    if (setsockopt(fd, SOL_SOCKET, force, &want, sizeof want) != 0)
      setsockopt(fd, SOL_SOCKET, opt, &want, sizeof want);
    int got = 0;
    socklen_t len = sizeof got;
    getsockopt(fd, SOL_SOCKET, opt, &got, &len);
    if (got < want)
      HD_LOG(warning, "checkers") << "syn probes: socket " << (opt == SO_RCVBUF ? "receive" : "send")
                                  << " buffer " << got << " bytes, not " << want
                                  << " (no CAP_NET_ADMIN?)";
  }
  auto prog = answer_filter(v6, port_base_);
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
    HD_LOG(warning, "checkers") << "syn probes: no socket filter (" << std::strerror(errno)
                                << "): every TCP packet is read and checked in userspace";
  } else {
    // Until the filter was attached (the port reservation in between takes a while) the
    // socket took every TCP packet of the host: drop what it queued unfiltered.
    // A pending ICMP error (IP_RECVERR is on) fails one recv without emptying the queue:
    // stop only when it is empty, and after a bounded number of reads in any case.
    uint8_t junk[64];
    for (int i = 0; i < 65536; ++i)
      if (recv(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_TRUNC) < 0 &&
          (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
  }
  if (!v6) {
    // Route lookups for the IPv4 checksum's source (IPv6: the kernel sums).
    route_udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (route_udp_ < 0) {
      int e = errno;
      ::close(fd);
      return Result::syscall_failure(Reason::other, "udp socket", e);
    }
  }
  fam.fd = fd;
  fam.io = std::make_unique<IoWatcher>(loop_, fd, EV_READ, [this, v6](int) { on_readable(v6); });
  fam.pause = std::make_unique<Timer>(loop_, [this, v6] {
    Family& f = v6 ? v6_ : v4_;
    read_answers(v6);
    f.io->start();
  });
  fam.io->start();
  return std::nullopt;
}

uint32_t SynProber::v4_key(const IpAddress& a) {
  uint32_t k;
  std::memcpy(&k, a.data(), sizeof k);
  return k;
}

std::optional<Result> SynProber::lookup_source(Flight& f, IpAddress& out) {
  const IpAddress& remote = f.remote;
  TimePoint now = SteadyClock::now();
  if (f.route_until > now) {
    out = f.route_source;
    return std::nullopt;
  }
  auto it = sources_.find(v4_key(remote));
  if (it != sources_.end() && it->second.until > now) {
    out = f.route_source = it->second.address;
    f.route_until = it->second.until;
    return std::nullopt;
  }
  ++stats_.source_lookups;
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(remote, 9, ss);
  if (connect(route_udp_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    return errno_result(e, std::string("no route: ") + std::strerror(e));
  }
  sockaddr_storage local;
  socklen_t llen = sizeof local;
  std::optional<IpAddress> a;
  if (getsockname(route_udp_, reinterpret_cast<sockaddr*>(&local), &llen) == 0)
    a = from_sockaddr(local);
  if (!a || a->is_unspecified())
    return Result::failure(Reason::connect_failed, 0, "no source address toward " + remote.str());
  out = f.route_source = *a;
  f.route_until = now + kSourceTtl;
  sources_[v4_key(remote)] = Source{*a, f.route_until};
  return std::nullopt;
}

std::optional<Result> SynProber::build(Flight& f, Outgoing& out) {
  const bool v6 = !f.remote.is_v4();
  std::optional<IpAddress> source = f.source;
  if (!v6 && !source) {
    IpAddress s;
    if (auto err = lookup_source(f, s)) return err;
    source = s;
  }
  out.key = key_of(f.remote, f.rport, f.lport);
  out.isn = f.isn;
  out.v6 = v6;
  out.forced_source = f.source.has_value();
  build_syn(std::span<uint8_t, kSynSize>(out.seg), f.lport, f.rport, f.isn, f.remote,
            v6 ? std::nullopt : source);
  out.dlen = to_sockaddr(f.remote, 0, out.dst);
  // The source the checksum was computed over, so the kernel's own choice cannot differ.
  out.controllen = source ? put_pktinfo(out.control, *source) : 0;
  return std::nullopt;
}

void SynProber::fill(Outgoing& o, msghdr& msg, iovec& iov) {
  iov = {o.seg, sizeof o.seg};
  msg = {};
  msg.msg_name = &o.dst;
  msg.msg_namelen = o.dlen;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (o.controllen) {
    msg.msg_control = o.control;
    msg.msg_controllen = o.controllen;
  }
}

std::optional<Result> SynProber::queue(Flight& f) {
  outgoing_.emplace_back();
  if (auto err = build(f, outgoing_.back())) {
    outgoing_.pop_back();
    return err;
  }
  flush_->start();
  return std::nullopt;
}

void SynProber::flush() {
  // One sendmmsg per family for every SYN queued in this loop turn; what it
  // refuses goes one by one, so each failure reaches its own probe. A failure
  // may start another probe (its callback runs here): that SYN goes in the
  // next round of this same flush, not after the loop's next wake-up.
  while (!outgoing_.empty()) flush_round();
  flush_->stop();
}

void SynProber::flush_round() {
  // Swapped, not copied, and both vectors keep their capacity between turns.
  // What callbacks queue meanwhile lands in outgoing_, for the next round.
  sending_.swap(outgoing_);
  for (bool v6 : {false, true}) {
    mine_.clear();
    for (auto& o : sending_)
      if (o.v6 == v6 && live(o)) mine_.push_back(&o);
    auto& mine = mine_;
    if (mine.empty()) continue;
    int fd = (v6 ? v6_ : v4_).fd;
    size_t done = 0;
    while (done < mine.size()) {
      size_t n = std::min<size_t>(mine.size() - done, kBatch);
      mmsghdr msgs[kBatch];
      iovec iovs[kBatch];
      for (size_t k = 0; k < n; ++k) {
        msgs[k] = {};
        fill(*mine[done + k], msgs[k].msg_hdr, iovs[k]);
      }
      int sent = sendmmsg(fd, msgs, unsigned(n), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent > 0) {
        stats_.sent += uint64_t(sent);
        done += size_t(sent);
        if (size_t(sent) == n) continue;
      }
      // The first message it could not send: alone, for its own error.
      send_one(*mine[done]);
      ++done;
    }
  }
  sending_.clear();
}

bool SynProber::live(const Outgoing& o) const {
  auto it = flights_.find(o.key);
  return it != flights_.end() && it->second.flight->isn == o.isn;
}

void SynProber::send_one(Outgoing& o) {
  std::optional<Result> err;
  for (int attempt = 0;; ++attempt) {
    msghdr msg;
    iovec iov;
    fill(o, msg, iov);
    int fd = (o.v6 ? v6_ : v4_).fd;
    if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
      ++stats_.sent;
      return;
    }
    int e = errno;
    if (!live(o)) return;
    Flight& f = *flights_.find(o.key)->second.flight;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ENOMEM) {
      // A full send buffer or a queue drop (IP_RECVERR reports those): a lost
      // SYN, as TCP treats it. The flight stays; the retransmission or the
      // deadline decides.
      ++stats_.send_drops;
      return;
    }
    if (!o.v6 && !o.forced_source && attempt == 0) {
      // Perhaps the remembered source is no longer ours (the kernel says
      // EINVAL or ENETUNREACH then): look the route up again, once.
      sources_.erase(v4_key(f.remote));
      f.route_until = TimePoint{};
      if (auto berr = build(f, o)) {
        err = berr;
        break;
      }
      continue;
    }
    err = o.forced_source
              ? errno_result(e, "send SYN from " + f.source->str() + ": " + std::strerror(e))
              : errno_result(e, std::string("send SYN: ") + std::strerror(e));
    break;
  }
  fail(o.key, std::move(*err));
}

void SynProber::fail(const Key& k, Result r) {
  if (auto it = flights_.find(k); it != flights_.end()) end(it, std::move(r));
}

void SynProber::end(Flights::iterator it, Result r) {
  // Gone from the map before the callback, which may start or cancel flights.
  Entry e = it->second;
  flights_.erase(it);
  e.flight->active = false;
  e.client->on_syn_answer(std::move(r));
}

std::optional<Result> SynProber::start(Client& client, Flight& flight, const IpAddress& remote,
                                       uint16_t rport, const std::optional<IpAddress>& source) {
  cancel(flight);
  if (auto err = open(!remote.is_v4())) return err;
  Key key;
  bool found = false;
  for (unsigned i = 0; i < kPorts && !found; ++i) {
    uint16_t lport = uint16_t(port_base_ + next_port_);
    next_port_ = uint16_t((next_port_ + 1) % kPorts);
    key = key_of(remote, rport, lport);
    found = !flights_.contains(key);
  }
  if (!found)
    return Result::failure(Reason::other, 0,
                           "all " + std::to_string(kPorts) + " syn probe ports busy toward " +
                               remote.str() + ":" + std::to_string(rport));
  if (flight.remote != remote) flight.route_until = TimePoint{};  // another route
  flight.remote = remote;
  flight.rport = rport;
  flight.lport = key.lport;
  flight.isn = uint32_t(rng_());
  flight.source = source;
  if (auto err = queue(flight)) return err;
  flight.active = true;
  flights_.emplace(key, Entry{&client, &flight});
  return std::nullopt;
}

std::optional<Result> SynProber::resend(Flight& flight) {
  if (!flight.active) return std::nullopt;
  auto err = queue(flight);
  if (err) cancel(flight);
  return err;
}

void SynProber::cancel(Flight& flight) {
  if (!flight.active) return;
  flights_.erase(key_of(flight.remote, flight.rport, flight.lport));
  flight.active = false;
}

void SynProber::deliver(const Key& k, uint32_t expect, bool is_icmp, Result r) {
  auto it = flights_.find(k);
  // A SYN-ACK or RST acknowledges isn + 1; an ICMP error quotes the SYN itself.
  if (it == flights_.end() || (is_icmp ? it->second.flight->isn : it->second.flight->isn + 1) != expect) {
    ++stats_.unmatched;
    return;
  }
  ++stats_.answers;
  end(it, std::move(r));
}

void SynProber::on_readable(bool v6) {
  Family& fam = v6 ? v6_ : v4_;
  read_answers(v6);
  fam.io->stop();
  fam.pause->start(kReadPause);
}

void SynProber::poll() {
  if (v4_.fd >= 0) read_answers(false);
  if (v6_.fd >= 0) read_answers(true);
}

void SynProber::read_answers(bool v6) {
  Family& fam = v6 ? v6_ : v4_;
  uint8_t bufs[kBatch][kPacketMax];
  sockaddr_storage names[kBatch];
  iovec iovs[kBatch];
  mmsghdr msgs[kBatch];
  bool got_any = false;
  bool error_pending = false;
  // Bounded, so a flood cannot hold the loop: what is left wakes it again.
  for (int round = 0; round < 16; ++round) {
    for (unsigned i = 0; i < kBatch; ++i) {
      iovs[i] = {bufs[i], kPacketMax};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_namelen = sizeof names[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fam.fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: drained. Anything else is a pending ICMP error (sk_err) whose
      // details wait in the error queue.
      if (errno != EAGAIN && errno != EWOULDBLOCK) error_pending = true;
      break;
    }
    got_any = got_any || n > 0;
    for (int i = 0; i < n; ++i) {
      std::span<const uint8_t> data(bufs[i], std::min<size_t>(msgs[i].msg_len, kPacketMax));
      std::optional<IpAddress> from;
      std::optional<Segment> seg;
      if (v6) {
        from = from_sockaddr(names[i]);
        seg = parse_tcp(data);
      } else if (auto p = parse_ipv4_tcp(data)) {
        from = p->source;
        seg = p->tcp;
      }
      if (!from || !seg || !(seg->flags & tcp_flags::ack) || !(seg->is_syn_ack() || seg->is_rst())) {
        ++stats_.unmatched;
        continue;
      }
      deliver(key_of(*from, seg->sport, seg->dport), seg->ack, false,
              seg->is_rst() ? Result::failure(Reason::connect_refused) : Result::success());
    }
    if (n < int(kBatch)) break;
  }
  // An error-queue entry raises EPOLLERR until read; a wake-up with nothing
  // to read is one of those too.
  if (error_pending || !got_any) read_errors(v6);
}

void SynProber::read_errors(bool v6) {
  Family& fam = v6 ? v6_ : v4_;
  for (int i = 0; i < 256; ++i) {
    uint8_t data[kPacketMax];
    sockaddr_storage name{};
    alignas(cmsghdr) char control[512];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_name = &name;
    msg.msg_namelen = sizeof name;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fam.fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    const sock_extended_err* ee = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
        ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
    auto to = from_sockaddr(name);
    auto q = parse_quoted_tcp(std::span<const uint8_t>(data, size_t(n)));
    if (!ee || !to || !q || ee->ee_errno == 0) {
      ++stats_.unmatched;
      continue;
    }
    int e = int(ee->ee_errno);
    deliver(key_of(*to, q->dport, q->sport), q->seq, true,
            errno_result(e, {}));
  }
}

}  // namespace hd::checkers
