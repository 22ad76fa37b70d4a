// SPDX-License-Identifier: GPL-2.0-or-later
// The udp probe against real sockets on loopback: an echoing server, a closed port (the
// kernel's ICMP port unreachable), a silent one, a wrong reply, no route.
#include "checkers/udp_check.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

// A UDP socket on 127.0.0.1 that answers each datagram with `reply` (empty: echo), or
// never answers (silent), on its own thread until destroyed.
class UdpServer {
 public:
  enum class Mode { echo, fixed, silent };
  explicit UdpServer(Mode mode, std::string reply = {}) : mode_(mode), reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{0, 50 * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { serve(); });
  }
  ~UdpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int received() const { return received_; }
  std::string last() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_;
  }

 private:
  void serve() {
    char buf[2048];
    while (!stop_) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      std::string got(buf, static_cast<size_t>(n));
      {
        std::lock_guard<std::mutex> l(mu_);
        last_ = got;
      }
      ++received_;
      if (mode_ == Mode::silent) continue;
      std::string out = mode_ == Mode::echo ? got : reply_;
      sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  Mode mode_;
  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> received_{0};
  mutable std::mutex mu_;
  std::string last_;
  std::thread thread_;
};

uint16_t closed_udp_port() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

Spec udp_spec(uint16_t port) {
  Spec s;
  s.type = CheckType::udp;
  s.address = *IpAddress::parse("127.0.0.1");
  s.port = port;
  s.timeout = milliseconds(300);
  return s;
}

TEST(UdpCheck, AReplyHoldingTheExpectedBytesIsUp) {
  Loop loop;
  UdpServer server(UdpServer::Mode::fixed, std::string("\x81\x80 pong \x00", 8));
  Spec s = udp_spec(server.port());
  s.send = std::string("\x12\x34ping", 6);
  s.expect = "pong";
  UdpProbe probe(loop, s);
  auto t0 = SteadyClock::now();
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(250));  // at the reply, not the timeout
  EXPECT_EQ(server.last(), std::string("\x12\x34ping", 6));
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");  // and again
  EXPECT_FALSE(probe.running());
}

TEST(UdpCheck, AWrongReplyIsAMismatchAtTheTimeout) {
  Loop loop;
  UdpServer server(UdpServer::Mode::fixed, "nope");
  Spec s = udp_spec(server.port());
  s.expect = "pong";
  UdpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(),
            "expect mismatch: 1 datagram(s), not the expected");
}

TEST(UdpCheck, AClosedPortIsRefused) {
  Loop loop;
  UdpProbe probe(loop, udp_spec(closed_udp_port()));
  auto t0 = SteadyClock::now();
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connect refused: port unreachable");
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(250));  // the ICMP error, not the timeout
}

// Silence: nothing said no (keepalived's UDP_CHECK without require_reply) unless a reply
// is required.
TEST(UdpCheck, SilenceIsUpUnlessAReplyIsRequired) {
  Loop loop;
  UdpServer server(UdpServer::Mode::silent);
  Spec s = udp_spec(server.port());
  UdpProbe quiet(loop, s);
  auto t0 = SteadyClock::now();
  EXPECT_EQ(run_probe(loop, quiet).to_string(), "ok");
  EXPECT_GE(SteadyClock::now() - t0, milliseconds(290));
  s.require_reply = true;
  UdpProbe strict(loop, s);
  EXPECT_EQ(run_probe(loop, strict).to_string(), "timeout: no reply");
  EXPECT_EQ(server.received(), 2);
}

TEST(UdpCheck, AnyReplyIsUpWhenNothingIsExpected) {
  Loop loop;
  UdpServer server(UdpServer::Mode::echo);
  Spec s = udp_spec(server.port());
  s.require_reply = true;
  s.send = "hello";
  UdpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
}

TEST(UdpCheck, CancelThenStartAgain) {
  Loop loop;
  UdpServer server(UdpServer::Mode::silent);
  UdpProbe probe(loop, udp_spec(server.port()));
  bool called = false;
  probe.start([&](Result) { called = true; });
  EXPECT_TRUE(probe.running());
  probe.cancel();
  EXPECT_FALSE(probe.running());
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_FALSE(called);
}

TEST(UdpCheck, ValidateBoundsThePayload) {
  Spec s = udp_spec(53);
  EXPECT_EQ(validate(s), std::nullopt);
  s.send.assign(65508, 'x');
  EXPECT_EQ(validate(s), "send longer than a UDP datagram (65507 bytes)");
  s = udp_spec(0);
  EXPECT_EQ(validate(s), "port 0");
}

}  // namespace
}  // namespace hd::checkers
