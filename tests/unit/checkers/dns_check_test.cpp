// SPDX-License-Identifier: GPL-2.0-or-later
// The dns check: the query byte for byte, the judgement of replies, and the probe against a
// DNS responder on loopback (the integration test asks dnsmasq).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "checkers/dns_message.h"
#include "checkers/udp_check.h"
#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(DnsMessage, QueryLayout) {
  EXPECT_EQ(dns::query(0x1234, "ab.c.", 28),
            bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, 'a', 'b', 1, 'c', 0, 0, 28,
                   0, 1}));
  EXPECT_EQ(dns::query(1, ".", 2), bytes({0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1}));
}

TEST(DnsMessage, NamesAndTypes) {
  EXPECT_EQ(dns::validate_name("www.example.com."), std::nullopt);
  EXPECT_EQ(dns::validate_name("."), std::nullopt);
  EXPECT_EQ(dns::validate_name(""), "the name is empty");
  EXPECT_EQ(dns::validate_name("a..b"), "the name has an empty label");
  EXPECT_EQ(dns::validate_name(std::string(64, 'a')), "a label is longer than 63 characters");
  EXPECT_TRUE(dns::validate_name("a b"));
  EXPECT_EQ(dns::parse_type("aaaa"), 28);
  EXPECT_EQ(dns::parse_type("TYPE65"), 65);
  EXPECT_EQ(dns::parse_type("TYPE0"), std::nullopt);
  EXPECT_EQ(dns::parse_type("BOGUS"), std::nullopt);
  EXPECT_EQ(dns::type_name(33), "SRV");
  EXPECT_EQ(dns::type_name(65), "TYPE65");
}

// A reply: our query with QR set, `rcode`, `answers` in ANCOUNT (the records themselves are
// never read).
std::string reply(const std::string& q, int rcode, int answers, bool tc = false) {
  std::string r = q;
  r[2] = static_cast<char>(0x81 | (tc ? 0x02 : 0));
  r[3] = static_cast<char>(0x80 | rcode);
  r[7] = static_cast<char>(answers);
  return r;
}

TEST(DnsMessage, Judge) {
  const std::string q = dns::query(7, "Example.test", 1);
  using dns::Verdict;
  EXPECT_EQ(dns::judge(reply(q, 0, 1), 7, "example.TEST.", 1).verdict, Verdict::answered);
  EXPECT_EQ(dns::judge(reply(q, 0, 0), 7, "example.test", 1).verdict, Verdict::no_answer);
  auto nx = dns::judge(reply(q, 3, 0), 7, "example.test", 1);
  EXPECT_EQ(nx.verdict, Verdict::error);
  EXPECT_EQ(dns::rcode_name(nx.rcode), "NXDOMAIN");
  auto tc = dns::judge(reply(q, 0, 1, true), 7, "example.test", 1);
  EXPECT_EQ(tc.verdict, Verdict::answered);
  EXPECT_TRUE(tc.truncated);
  // Not ours: the query itself, another id, another name or type, cut short.
  EXPECT_EQ(dns::judge(q, 7, "example.test", 1).verdict, Verdict::not_ours);
  EXPECT_EQ(dns::judge(reply(q, 0, 1), 8, "example.test", 1).verdict, Verdict::not_ours);
  EXPECT_EQ(dns::judge(reply(q, 0, 1), 7, "example.tes", 1).verdict, Verdict::not_ours);
  EXPECT_EQ(dns::judge(reply(q, 0, 1), 7, "example.test", 28).verdict, Verdict::not_ours);
  EXPECT_EQ(dns::judge(reply(q, 0, 1).substr(0, 20), 7, "example.test", 1).verdict,
            Verdict::not_ours);
}

// Answers each query with `rcode` and `answers` (and first sends a stray datagram with
// another id, which the probe must ignore).
class DnsResponder {
 public:
  DnsResponder(int rcode, int answers) : rcode_(rcode), answers_(answers) {
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
    thread_ = std::thread([this] {
      char buf[512];
      while (!stop_) {
        sockaddr_storage from{};
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n < 12) continue;
        std::string q(buf, static_cast<size_t>(n));
        std::string stray = reply(q, 0, 1);
        stray[0] = static_cast<char>(stray[0] ^ 0x55);
        sendto(fd_, stray.data(), stray.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
        std::string r = reply(q, rcode_, answers_);
        sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
      }
    });
  }
  ~DnsResponder() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int rcode_, answers_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Spec dns_spec(uint16_t port, const char* name = "example.test") {
  Spec s;
  s.type = CheckType::dns;
  s.address = *IpAddress::parse("127.0.0.1");
  s.port = port;
  s.timeout = milliseconds(300);
  s.dns_name = name;
  return s;
}

TEST(DnsCheck, AnAnswerIsUpAndStraysAreIgnored) {
  Loop loop;
  DnsResponder server(0, 1);
  UdpProbe probe(loop, dns_spec(server.port()));
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
}

TEST(DnsCheck, ErrorsAndEmptyAnswers) {
  Loop loop;
  DnsResponder nx(3, 0);
  UdpProbe a(loop, dns_spec(nx.port()));
  EXPECT_EQ(run_probe(loop, a).to_string(), "bad status 3: NXDOMAIN");
  DnsResponder empty(0, 0);
  UdpProbe b(loop, dns_spec(empty.port()));
  EXPECT_EQ(run_probe(loop, b).to_string(), "expect mismatch: no A record");
}

TEST(DnsCheck, SilenceIsATimeoutAndAClosedPortRefused) {
  Loop loop;
  UdpProbe probe(loop, dns_spec(refused_port()));  // a TCP port's number: nothing on UDP
  auto r = run_probe(loop, probe);
  EXPECT_TRUE(r.reason == Reason::connect_refused || r.reason == Reason::timeout) << r.to_string();
  Spec bad = dns_spec(53, "a b");
  EXPECT_EQ(validate(bad), "dns: the name holds a character other than letters, digits, '-', "
                           "'_' and dots");
}

}  // namespace
}  // namespace hd::checkers
