// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/http_check.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

Spec http_spec(uint16_t port) {
  Spec s;
  s.type = CheckType::http;
  s.address = *IpAddress::parse("127.0.0.1");
  s.port = port;
  s.timeout = milliseconds(1000);
  return s;
}

class HttpCheck : public ::testing::Test {
 protected:
  Result probe(const Spec& s) {
    HttpProbe p(multi_, s);
    return run_probe(loop_, p);
  }
  Loop loop_;
  CurlMulti multi_{loop_};
};

TEST_F(HttpCheck, OutOfDescriptorsIsInconclusiveNotAFailure) {
  TestServer server(TestServer::http(200, "hello"));
  EXPECT_FALSE(probe(http_spec(refused_port())).ok());  // see TcpCheck's: UBSan, no server fd
  Result r;
  {
    FdExhaustion no_fds;
    ASSERT_TRUE(no_fds.exhausted());
    r = probe(http_spec(server.port()));
  }
  EXPECT_TRUE(r.inconclusive()) << r.to_string();
  EXPECT_EQ(probe(http_spec(server.port())).to_string(), "ok");
}

TEST_F(HttpCheck, Status200IsUp) {
  std::mutex mu;
  std::string request;
  TestServer server(TestServer::http(200, "hello", milliseconds(0), &request, &mu));
  Spec s = http_spec(server.port());
  s.path = "/health?full=1";
  s.host = "www.example.test";
  EXPECT_EQ(probe(s).to_string(), "ok");
  std::lock_guard lock(mu);
  EXPECT_EQ(request.rfind("GET /health?full=1 HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("\r\nHost: www.example.test\r\n"), std::string::npos) << request;
}

// Answers "200 ok" to every request on a connection until the client closes it.
TestServer::Handler keepalive_http() {
  return [](int fd) {
    timeval idle{5, 0};  // a client that never closes cannot hold the server's thread
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    std::string in;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return After::close;
      in.append(buf, static_cast<size_t>(n));
      size_t end;
      while ((end = in.find("\r\n\r\n")) != std::string::npos) {
        in.erase(0, end + 4);
        static const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (write(fd, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size()))
          return After::close;
      }
    }
  };
}

// keepalive = true: the runs share one connection; off (the default), each run opens its
// own, so a server that stops accepting fails its next check.
TEST_F(HttpCheck, KeepaliveReusesOneConnectionAcrossRuns) {
  TestServer server(keepalive_http());
  Spec s = http_spec(server.port());
  {
    HttpProbe p(multi_, s);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(run_probe(loop_, p).to_string(), "ok");
  }
  EXPECT_EQ(server.accepted(), 3);
  s.keepalive = true;
  {
    HttpProbe p(multi_, s);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(run_probe(loop_, p).to_string(), "ok");
  }
  EXPECT_EQ(server.accepted(), 4);
  // The kept connection went with its probe (its own cache, not the multi's, which lives
  // on): the server, serving one connection at a time, is free to answer the next one.
  s.keepalive = false;
  HttpProbe fresh(multi_, s);
  EXPECT_EQ(run_probe(loop_, fresh).to_string(), "ok");
  EXPECT_EQ(server.accepted(), 5);
}

TEST_F(HttpCheck, Status500IsBadStatus) {
  TestServer server(TestServer::http(500, "oops"));
  EXPECT_EQ(probe(http_spec(server.port())).to_string(), "bad status 500");
}

TEST_F(HttpCheck, ExpectStatusRanges) {
  TestServer server(TestServer::http(503, "maintenance"));
  Spec s = http_spec(server.port());
  s.expect_status = {{200, 299}, {503, 503}};
  EXPECT_EQ(probe(s).to_string(), "ok");
}

TEST_F(HttpCheck, HeadSendsNoBody) {
  std::mutex mu;
  std::string request;
  TestServer server(TestServer::http(204, "", milliseconds(0), &request, &mu));
  Spec s = http_spec(server.port());
  s.method = HttpMethod::head;
  EXPECT_EQ(probe(s).to_string(), "ok");
  std::lock_guard lock(mu);
  EXPECT_EQ(request.rfind("HEAD / HTTP/1.1", 0), 0u) << request;
}

TEST_F(HttpCheck, BodyMatchers) {
  TestServer server(TestServer::http(200, "status: healthy\nversion: 4.2\n"));
  Spec s = http_spec(server.port());
  s.body_contains = "healthy";
  s.body_regex = "version: [0-9]+\\.[0-9]+";
  s.body_sha256 = sha256_hex("status: healthy\nversion: 4.2\n");
  EXPECT_EQ(probe(s).to_string(), "ok");

  Spec wrong = s;
  wrong.body_contains = "sick";
  EXPECT_EQ(probe(wrong).to_string(), "body mismatch: no \"sick\"");
  wrong = s;
  wrong.body_regex = "^version: 5";
  EXPECT_EQ(probe(wrong).reason, Reason::body_mismatch);
  wrong = s;
  wrong.body_sha256 = sha256_hex("something else");
  EXPECT_EQ(probe(wrong).reason, Reason::digest_mismatch);
}

TEST_F(HttpCheck, LongBodyIsCutAtTheCap) {
  std::string big(200 * 1024, 'a');
  big += "needle";
  TestServer server(TestServer::http(200, big));
  Spec s = http_spec(server.port());
  EXPECT_EQ(probe(s).to_string(), "ok");  // no body check: status only
  s.body_contains = "needle";             // beyond 64 KiB: never seen
  EXPECT_EQ(probe(s).reason, Reason::body_mismatch);
  s.body_contains = "aaaa";
  EXPECT_EQ(probe(s).to_string(), "ok");
}

TEST_F(HttpCheck, SlowAnswerTimesOut) {
  TestServer server(TestServer::http(200, "late", milliseconds(400)));
  Spec s = http_spec(server.port());
  s.timeout = milliseconds(150);
  EXPECT_EQ(probe(s).to_string(), "timeout");
}

TEST_F(HttpCheck, SlowAnswerWithinTimeoutIsUp) {
  TestServer server(TestServer::http(200, "late", milliseconds(100)));
  EXPECT_EQ(probe(http_spec(server.port())).to_string(), "ok");
}

TEST_F(HttpCheck, NeverAnswers) {
  TestServer server(TestServer::hold());
  Spec s = http_spec(server.port());
  s.timeout = milliseconds(150);
  EXPECT_EQ(probe(s).to_string(), "timeout");
}

TEST_F(HttpCheck, Refused) {
  EXPECT_EQ(probe(http_spec(refused_port())).to_string(), "connect refused");
}

TEST_F(HttpCheck, HandshakeNeverCompletes) {
  FullBacklog server;
  Spec s = http_spec(server.port());
  s.connect_timeout = milliseconds(150);
  EXPECT_EQ(probe(s).to_string(), "connect timeout");
}

TEST_F(HttpCheck, Reset) {
  TestServer server(TestServer::reset_after_read());
  auto r = probe(http_spec(server.port()));
  EXPECT_EQ(r.reason, Reason::reset) << r.to_string();
}

TEST_F(HttpCheck, SourceAddress) {
  TestServer server(TestServer::http(200, "ok"));
  Spec s = http_spec(server.port());
  s.source_address = IpAddress::parse("127.0.0.3");
  EXPECT_EQ(probe(s).to_string(), "ok");
  EXPECT_EQ(server.last_peer(), "127.0.0.3");
}

TEST_F(HttpCheck, ManyAtOnceOnOneMulti) {
  TestServer a(TestServer::http(200, "a"));
  TestServer b(TestServer::http(500, "b"));
  std::vector<std::unique_ptr<HttpProbe>> probes;
  int done = 0, ok = 0, bad = 0;
  for (int i = 0; i < 40; ++i) {
    probes.push_back(std::make_unique<HttpProbe>(multi_, http_spec(i % 2 ? b.port() : a.port())));
    probes.back()->start([&](Result r) {
      (r.ok() ? ok : bad)++;
      if (++done == 40) loop_.stop();
    });
  }
  Timer guard(loop_, [&] { loop_.stop(); });
  guard.start(std::chrono::seconds(10));
  loop_.run();
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(bad, 20);
  EXPECT_EQ(multi_.running(), 0u);
}

TEST_F(HttpCheck, CancelledTransferNeverReports) {
  TestServer server(TestServer::http(200, "late", milliseconds(200)));
  HttpProbe p(multi_, http_spec(server.port()));
  bool called = false;
  p.start([&](Result) { called = true; });
  loop_.run_nowait();
  p.cancel();
  EXPECT_EQ(multi_.running(), 0u);
  Timer t(loop_, [&] { loop_.stop(); });
  t.start(milliseconds(400));
  loop_.run();
  EXPECT_FALSE(called);
}

class HttpsCheck : public HttpCheck {
 protected:
  void SetUp() override {
    // openssl is one of the project's test dependencies (scripts/install-deps.sh): without
    // it the self-signed TLS cases would go untested, so its absence fails, not skips.
    ASSERT_TRUE(tls_.ok()) << "openssl s_server did not start (is openssl installed?)";
  }
  Spec https_spec() {
    Spec s = http_spec(tls_.port());
    s.type = CheckType::https;
    s.timeout = std::chrono::seconds(3);
    return s;
  }
  TlsServer tls_;
};

TEST_F(HttpsCheck, VerifyOffAcceptsASelfSignedCertificate) {
  Spec s = https_spec();
  s.tls_verify = false;
  EXPECT_EQ(probe(s).to_string(), "ok");
}

TEST_F(HttpsCheck, VerifyWithTheCaAndMatchingSni) {
  Spec s = https_spec();
  s.ca_file = tls_.cert_file();
  s.sni = "checker.test";
  EXPECT_EQ(probe(s).to_string(), "ok");
  // The host header's name serves as the TLS name when sni is not set.
  s.sni.clear();
  s.host = "checker.test";
  EXPECT_EQ(probe(s).to_string(), "ok");
  // A Host header with a port: the name alone goes into SNI and verification.
  s.host = "checker.test:" + std::to_string(tls_.port());
  EXPECT_EQ(probe(s).to_string(), "ok");
}

TEST_F(HttpsCheck, VerifyWithoutTheCaFails) {
  Spec s = https_spec();
  s.sni = "checker.test";
  auto r = probe(s);
  EXPECT_EQ(r.reason, Reason::tls_error) << r.to_string();
  EXPECT_EQ(r.to_string().rfind("tls error: ", 0), 0u);
}

TEST_F(HttpsCheck, VerifyWithTheWrongNameFails) {
  Spec s = https_spec();
  s.ca_file = tls_.cert_file();
  s.sni = "other.test";
  EXPECT_EQ(probe(s).reason, Reason::tls_error);
  s.sni.clear();  // the IP literal: not in the certificate either
  EXPECT_EQ(probe(s).reason, Reason::tls_error);
}

// The server holds two certificates and picks checker.test's only when the client names it
// by SNI: trusting only default.test's certificate, a check naming checker.test fails and
// one naming default.test passes, so the name went on the wire.
TEST_F(HttpsCheck, SniPicksTheServersCertificate) {
  Spec s = https_spec();
  s.ca_file = tls_.default_cert_file();
  s.sni = "default.test";
  EXPECT_EQ(probe(s).to_string(), "ok");
  s.sni = "checker.test";
  EXPECT_EQ(probe(s).reason, Reason::tls_error);
  s.ca_file = tls_.cert_file();
  EXPECT_EQ(probe(s).to_string(), "ok");
}

TEST_F(HttpsCheck, PlainHttpToATlsPortIsNotUp) {
  Spec s = http_spec(tls_.port());
  s.timeout = milliseconds(500);
  auto r = probe(s);
  EXPECT_FALSE(r.ok());
  // The TLS server answers plain text with an alert or a close, at once: not a timeout.
  EXPECT_NE(r.reason, Reason::timeout) << r.to_string();
}

}  // namespace
}  // namespace hd::checkers
