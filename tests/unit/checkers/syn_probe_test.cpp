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
#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

Spec syn_spec(uint16_t port, const char* address = "127.0.0.1") {
  Spec s;
  s.type = CheckType::tcp;
  s.half_open = true;
  s.address = *IpAddress::parse(address);
  s.port = port;
  s.timeout = milliseconds(500);
  return s;
}

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

TEST(SynProbe, AnAnswerAfterCancelIsIgnored) {
  Loop loop;
  SynProber prober(loop);
  TestServer server(TestServer::accept_and_close());
  TcpProbe probe(loop, syn_spec(server.port()), &prober);
  bool called = false;
  probe.start([&](Result) { called = true; });
  probe.cancel();  // the SYN is out; its SYN-ACK will come
  run_for(loop, milliseconds(200));
  EXPECT_FALSE(called);
  EXPECT_EQ(prober.stats().answers, 0u);
  EXPECT_GE(prober.stats().unmatched, 1u);
}

TEST(SynProbe, ASynProbeCannotSendBytes) {
  Spec s = syn_spec(80);
  s.send = "PING\r\n";
  EXPECT_EQ(validate(s), std::optional<std::string>("a syn probe cannot send or expect bytes"));
}

}  // namespace
}  // namespace hd::checkers
