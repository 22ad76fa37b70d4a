// SPDX-License-Identifier: GPL-2.0-or-later
// Half-open TCP probes against real listeners on loopback (needs CAP_NET_RAW:
// the tests run as root, in CI too).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "checkers/syn_prober.h"
#include "checkers/tcp_check.h"
#include "checkers/tcp_segment.h"
#include "core/checksum.h"
#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

// Connections to `port` in /proc/net/tcp{,6} in state `st` (03: SYN_RECV).
int count_state(uint16_t port, const char* st, bool v6 = false) {
  std::ifstream in(v6 ? "/proc/net/tcp6" : "/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, state;
    f >> sl >> local >> remote >> state;
    if (local.size() >= 5 && local.compare(local.size() - 5, 5, want) == 0 && state == st) ++n;
  }
  return n;
}

bool have_ipv6_loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

void run_for(Loop& loop, milliseconds d) {
  Timer t(loop, [&] { loop.stop(); });
  t.start(d);
  loop.run();
}

TEST(SynProbe, ListenerIsUpAndItsApplicationSeesNothing) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  TcpProbe probe(loop, syn_spec(server.port()), &prober);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_EQ(prober.stats().sent, 2u);
  EXPECT_EQ(prober.stats().answers, 2u);
  // Our kernel answered each SYN-ACK with an RST: nothing reaches accept(),
  // and no half-open connection is left on the server.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(server.accepted(), 0);
  EXPECT_EQ(count_state(server.port(), "03"), 0);
  EXPECT_NE(prober.port_base(), 0);
}

TEST(SynProbe, ClosedPortIsRefused) {
  Loop loop;
  SynProber prober(loop);
  TcpProbe probe(loop, syn_spec(refused_port()), &prober);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connect refused");
}

TEST(SynProbe, SilenceIsAConnectTimeout) {
  Loop loop;
  SynProber prober(loop);
  FullBacklog server;  // drops new SYNs
  Spec s = syn_spec(server.port());
  s.connect_timeout = milliseconds(150);
  TcpProbe probe(loop, s, &prober);
  auto t0 = SteadyClock::now();
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connect timeout");
  auto took = SteadyClock::now() - t0;
  EXPECT_GE(took, milliseconds(140));
  EXPECT_LT(took, milliseconds(450));
  EXPECT_EQ(prober.stats().sent, 1u);  // no retransmission within 150 ms
}

TEST(SynProbe, RetransmitsAnUnansweredSynAfterOneSecond) {
  Loop loop;
  SynProber prober(loop);
  FullBacklog server;
  Spec s = syn_spec(server.port());
  s.timeout = milliseconds(1300);
  TcpProbe probe(loop, s, &prober);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connect timeout");
  EXPECT_EQ(prober.stats().sent, 2u);
}

TEST(SynProbe, ForcedSourceAddress) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  Spec s = syn_spec(server.port());
  s.source_address = IpAddress::parse("127.0.0.2");
  TcpProbe probe(loop, s, &prober);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
}

TEST(SynProbe, SourceAddressThatIsNotLocal) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  Spec s = syn_spec(server.port());
  s.source_address = IpAddress::parse("192.0.2.77");
  TcpProbe probe(loop, s, &prober);
  auto r = run_probe(loop, probe);
  EXPECT_EQ(r.reason, Reason::connect_failed) << r.to_string();
  EXPECT_NE(r.to_string().find("192.0.2.77"), std::string::npos) << r.to_string();
}

TEST(SynProbe, Ipv6) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no ::1";
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close(), /*v6=*/true);
  TcpProbe up(loop, syn_spec(server.port(), "::1"), &prober);
  EXPECT_EQ(run_probe(loop, up).to_string(), "ok");
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(server.accepted(), 0);
  EXPECT_EQ(count_state(server.port(), "03", true), 0);
  TcpProbe refused(loop, syn_spec(refused_port(), "::1"), &prober);
  EXPECT_EQ(run_probe(loop, refused).to_string(), "connect refused");
}

TEST(SynProbe, ManyProbesOfOneTargetAtOnceUseDistinctPorts) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  const int n = SynProber::kPorts + 6;
  std::vector<std::unique_ptr<TcpProbe>> probes;
  int ok = 0, busy = 0, other = 0, done = 0;
  for (int i = 0; i < n; ++i) {
    probes.push_back(std::make_unique<TcpProbe>(loop, syn_spec(server.port()), &prober));
    probes.back()->start([&](Result r) {
      if (r.ok())
        ++ok;
      else if (r.to_string().find("ports busy") != std::string::npos)
        ++busy;
      else
        ++other;
      if (++done == n) loop.stop();
    });
  }
  run_for(loop, milliseconds(2000));
  EXPECT_EQ(ok, int(SynProber::kPorts));
  EXPECT_EQ(busy, 6);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(server.accepted(), 0);
}

// Sends a TCP segment from 127.0.0.1:sport to 127.0.0.1:dport through a raw
// socket, as a server's stack would answer.
void inject(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t ack) {
  auto lo = IpAddress::of(127, 0, 0, 1);
  uint8_t seg[kSynSize];
  build_syn(std::span<uint8_t, kSynSize>(seg), sport, dport, 0x5000, lo, std::nullopt);
  seg[13] = flags;
  for (int i = 0; i < 4; ++i) seg[8 + i] = uint8_t(ack >> (24 - 8 * i));
  uint16_t c = pseudo_header_checksum(lo, lo, IPPROTO_TCP, seg);
  seg[16] = uint8_t(c >> 8), seg[17] = uint8_t(c);
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = lo.v4();
  ASSERT_EQ(sendto(fd, seg, sizeof seg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            ssize_t(sizeof seg));
  ::close(fd);
}

struct Answers : SynProber::Client {
  std::vector<std::string> got;
  void on_syn_answer(Result r) override { got.push_back(r.to_string()); }
};

TEST(SynProbe, AnswersMatchByPortsAndSequenceNumberOnly) {
  Loop loop;
  SynProber prober(loop);
  FullBacklog server;  // drops our SYNs: every answer below is one we forge
  Answers client;
  SynProber::Flight flight;
  auto lo = IpAddress::of(127, 0, 0, 1);
  ASSERT_FALSE(prober.start(client, flight, lo, server.port(), std::nullopt));
  loop.run_nowait();  // the SYN goes out (and is dropped)
  EXPECT_EQ(prober.stats().sent, 1u);

  // Wrong acknowledgment number, wrong port: ignored.
  inject(server.port(), flight.lport, tcp_flags::syn | tcp_flags::ack, flight.isn + 2);
  inject(uint16_t(server.port() + 1), flight.lport, tcp_flags::syn | tcp_flags::ack, flight.isn + 1);
  run_for(loop, milliseconds(50));
  EXPECT_TRUE(client.got.empty());
  EXPECT_EQ(prober.stats().unmatched, 2u);
  EXPECT_TRUE(flight.active);

  // The right one: up.
  inject(server.port(), flight.lport, tcp_flags::syn | tcp_flags::ack, flight.isn + 1);
  run_for(loop, milliseconds(50));
  EXPECT_EQ(client.got, std::vector<std::string>{"ok"});
  EXPECT_FALSE(flight.active);

  // An RST for a new flight: refused.
  ASSERT_FALSE(prober.start(client, flight, lo, server.port(), std::nullopt));
  loop.run_nowait();
  inject(server.port(), flight.lport, tcp_flags::rst | tcp_flags::ack, flight.isn + 1);
  run_for(loop, milliseconds(50));
  EXPECT_EQ(client.got, (std::vector<std::string>{"ok", "connect refused"}));

  // An answer after cancel(): ignored.
  ASSERT_FALSE(prober.start(client, flight, lo, server.port(), std::nullopt));
  loop.run_nowait();
  prober.cancel(flight);
  inject(server.port(), flight.lport, tcp_flags::syn | tcp_flags::ack, flight.isn + 1);
  run_for(loop, milliseconds(50));
  EXPECT_EQ(client.got.size(), 2u);
  EXPECT_EQ(prober.stats().unmatched, 3u);
  EXPECT_EQ(prober.stats().answers, 2u);
}

TEST(SynProbe, ACancelledProbeSendsNothing) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  TcpProbe probe(loop, syn_spec(server.port()), &prober);
  bool called = false;
  probe.start([&](Result) { called = true; });
  probe.cancel();  // before the loop turn ends: the queued SYN is dropped
  run_for(loop, milliseconds(100));
  EXPECT_FALSE(called);
  EXPECT_EQ(prober.stats().sent, 0u);
}

TEST(SynProbe, OneBadSourceInABatchFailsAloneAndTheOthersGoOut) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  std::vector<std::unique_ptr<TcpProbe>> probes;
  std::vector<std::string> results(5);
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    Spec s = syn_spec(server.port());
    if (i == 2) s.source_address = IpAddress::parse("192.0.2.77");  // not local: refused by the kernel
    probes.push_back(std::make_unique<TcpProbe>(loop, s, &prober));
    probes.back()->start([&, i](Result r) {
      results[size_t(i)] = r.to_string();
      if (++done == 5) loop.stop();
    });
  }
  run_for(loop, milliseconds(2000));
  for (int i = 0; i < 5; ++i) {
    if (i == 2)
      EXPECT_NE(results[2].find("send SYN from 192.0.2.77"), std::string::npos) << results[2];
    else
      EXPECT_EQ(results[size_t(i)], "ok") << i;
  }
  EXPECT_EQ(prober.stats().sent, 4u);
}

TEST(SynProbe, ASynProbeCannotSendBytes) {
  Spec s = syn_spec(80);
  s.send = "PING\r\n";
  EXPECT_EQ(validate(s), std::optional<std::string>("a syn probe cannot send or expect bytes"));
}

}  // namespace
}  // namespace hd::checkers
