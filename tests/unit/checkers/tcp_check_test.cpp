// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/tcp_check.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

TEST(TcpCheck, ConnectsToAListener) {
  Loop loop;
  TestServer server(TestServer::accept_and_close());
  TcpProbe probe(loop, tcp_spec(server.port()));
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  // The same probe object runs again.
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_FALSE(probe.running());
}

TEST(TcpCheck, RefusedPort) {
  Loop loop;
  TcpProbe probe(loop, tcp_spec(refused_port()));
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connect refused");
}

// The director out of descriptors says nothing about the real server.
TEST(TcpCheck, OutOfDescriptorsIsInconclusiveNotAFailure) {
  Loop loop;
  TestServer server(TestServer::accept_and_close());
  TcpProbe probe(loop, tcp_spec(server.port()));
  // A probe of the type once with descriptors first: UBSan's vptr check reads memory through
  // a pipe on its first sight of a type, and a pipe is what there will be none of. Against a
  // refused port, so no server thread of ours closes a descriptor while they are exhausted.
  TcpProbe warm(loop, tcp_spec(refused_port()));
  EXPECT_EQ(run_probe(loop, warm).to_string(), "connect refused");
  Result r;
  {
    FdExhaustion no_fds;
    ASSERT_TRUE(no_fds.exhausted());
    r = run_probe(loop, probe);
  }
  EXPECT_TRUE(r.inconclusive()) << r.to_string();
  EXPECT_EQ(r.to_string(), "local error: socket: Too many open files");
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");  // and runs again once there are
}

TEST(TcpCheck, HandshakeNeverCompletes) {
  Loop loop;
  FullBacklog server;
  Spec s = tcp_spec(server.port());
  s.connect_timeout = milliseconds(150);
  TcpProbe probe(loop, s);
  auto t0 = SteadyClock::now();
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connect timeout");
  auto took = SteadyClock::now() - t0;
  EXPECT_GE(took, milliseconds(140));
  EXPECT_LT(took, milliseconds(450));  // connect_timeout, not timeout
}

TEST(TcpCheck, SendAndExpect) {
  Loop loop;
  TestServer server(TestServer::reply("+OK ready\r\n+PONG\r\n"));
  Spec s = tcp_spec(server.port());
  s.send = "PING\r\n";
  s.expect = "+PONG";
  TcpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
}

TEST(TcpCheck, ExpectMismatchWhenTheServerClosesWithoutIt) {
  Loop loop;
  TestServer server(TestServer::reply("-ERR nope\r\n"));
  Spec s = tcp_spec(server.port());
  s.send = "PING\r\n";
  s.expect = "+PONG";
  TcpProbe probe(loop, s);
  auto r = run_probe(loop, probe);
  EXPECT_EQ(r.reason, Reason::expect_mismatch) << r.to_string();
}

TEST(TcpCheck, ExpectMismatchWhenTheWrongAnswerStaysOpen) {
  Loop loop;
  TestServer server(TestServer::reply("-ERR nope\r\n", After::hold));
  Spec s = tcp_spec(server.port());
  s.send = "PING\r\n";
  s.expect = "+PONG";
  s.timeout = milliseconds(200);
  TcpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).reason, Reason::expect_mismatch);
}

TEST(TcpCheck, SilentServerTimesOut) {
  Loop loop;
  TestServer server(TestServer::hold());
  Spec s = tcp_spec(server.port());
  s.expect = "220 ";
  s.timeout = milliseconds(200);
  TcpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "timeout");
}

TEST(TcpCheck, ResetByServer) {
  Loop loop;
  TestServer server(TestServer::reset_after_read());
  Spec s = tcp_spec(server.port());
  s.send = "PING\r\n";
  s.expect = "+PONG";
  TcpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "connection reset");
}

TEST(TcpCheck, ExpectSplitAcrossReads) {
  Loop loop;
  TestServer server([](int fd) {
    for (const char* part : {"+PO", "NG\r\n"}) {
      (void)!::send(fd, part, strlen(part), MSG_NOSIGNAL);
      std::this_thread::sleep_for(milliseconds(30));
    }
    return After::close;
  });
  Spec s = tcp_spec(server.port());
  s.expect = "+PONG";
  TcpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
}

TEST(TcpCheck, BindsTheSourceAddress) {
  Loop loop;
  TestServer server(TestServer::accept_and_close());
  Spec s = tcp_spec(server.port());
  s.source_address = IpAddress::parse("127.0.0.2");
  TcpProbe probe(loop, s);
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  // The probe is done once connected; the server thread may not have accepted yet.
  for (int i = 0; i < 200 && server.accepted() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(server.last_peer(), "127.0.0.2");
}

TEST(TcpCheck, Ipv6Loopback) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool have_v6 = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  if (!have_v6) GTEST_SKIP() << "no ::1";
  Loop loop;
  TestServer server(TestServer::accept_and_close(), /*v6=*/true);
  TcpProbe probe(loop, tcp_spec(server.port(), "::1"));
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
}

TEST(TcpCheck, CancelThenStartAgain) {
  Loop loop;
  TestServer server(TestServer::hold());
  Spec s = tcp_spec(server.port());
  s.expect = "x";
  TcpProbe probe(loop, s);
  bool called = false;
  probe.start([&](Result) { called = true; });
  EXPECT_TRUE(probe.running());
  loop.run_nowait();
  probe.cancel();
  EXPECT_FALSE(probe.running());
  Timer t(loop, [&] { loop.stop(); });
  t.start(milliseconds(600));
  loop.run();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace hd::checkers
