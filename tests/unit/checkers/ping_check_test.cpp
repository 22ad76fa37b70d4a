// SPDX-License-Identifier: GPL-2.0-or-later
// The ping check: its wire format (icmp_echo.h) byte for byte, and the probe against this
// host's loopback (a ping socket or, where ping_group_range forbids one, a raw socket).
// Unreachable hosts are tested in a namespace: tests/integration/test_ping_check.py.
#include "checkers/ping_check.h"

#include <gtest/gtest.h>

#include "checkers/icmp_echo.h"
#include "core/checksum.h"
#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace std::chrono_literals;
using namespace testing;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(IcmpEcho, RequestLayoutAndChecksum) {
  auto r = icmp::echo_request(Family::v4, 0x1234, 0x0102, "ab");
  ASSERT_EQ(r.size(), 10u);
  EXPECT_EQ(r.substr(0, 2), bytes({8, 0}));
  EXPECT_EQ(r.substr(4, 4), bytes({0x12, 0x34, 0x01, 0x02}));
  EXPECT_EQ(internet_checksum(std::span(reinterpret_cast<const uint8_t*>(r.data()), r.size())), 0);
  auto r6 = icmp::echo_request(Family::v6, 0x1234, 0x0102, "");
  EXPECT_EQ(r6, bytes({128, 0, 0, 0, 0x12, 0x34, 0x01, 0x02}));  // checksum: the kernel's
}

TEST(IcmpEcho, RepliesMatchIdAndSequence) {
  const std::string reply = bytes({0, 0, 0, 0, 0x12, 0x34, 0x01, 0x02});
  using icmp::Answer;
  EXPECT_EQ(icmp::parse(Family::v4, reply, false, 0x1234, 0x0102, true).answer, Answer::reply);
  EXPECT_EQ(icmp::parse(Family::v4, reply, false, 0x9999, 0x0102, true).answer, Answer::other);
  EXPECT_EQ(icmp::parse(Family::v4, reply, false, 0x9999, 0x0102, false).answer, Answer::reply);
  EXPECT_EQ(icmp::parse(Family::v4, reply, false, 0x1234, 0x0103, false).answer, Answer::other);
  // A raw IPv4 socket's packet starts with the IP header (IHL 6 here: an option).
  std::string ip = bytes({0x46, 0, 0, 32, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
                          1, 1, 1, 1});
  EXPECT_EQ(icmp::parse(Family::v4, ip + reply, true, 0x1234, 0x0102, true).answer, Answer::reply);
  EXPECT_EQ(icmp::parse(Family::v4, ip.substr(0, 20), true, 0x1234, 0x0102, true).answer,
            Answer::other);
  const std::string reply6 = bytes({129, 0, 0, 0, 0x12, 0x34, 0x01, 0x02});
  EXPECT_EQ(icmp::parse(Family::v6, reply6, false, 0x1234, 0x0102, true).answer, Answer::reply);
  EXPECT_EQ(icmp::parse(Family::v4, reply6, false, 0x1234, 0x0102, true).answer, Answer::other);
}

TEST(IcmpEcho, AnUnreachableQuotingOurRequestIsUnreachable) {
  const std::string inner = bytes({0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0,
                                   0, 2, 8, 0, 0, 0, 0x12, 0x34, 0x01, 0x02});
  const std::string unreach = bytes({3, 1, 0, 0, 0, 0, 0, 0}) + inner;
  auto p = icmp::parse(Family::v4, unreach, false, 0x1234, 0x0102, true);
  EXPECT_EQ(p.answer, icmp::Answer::unreachable);
  EXPECT_EQ(p.type, 3);
  EXPECT_EQ(p.code, 1);
  // Quoting someone else's request, or cut short: not ours.
  EXPECT_EQ(icmp::parse(Family::v4, unreach, false, 0x1234, 0x0109, true).answer,
            icmp::Answer::other);
  EXPECT_EQ(icmp::parse(Family::v4, unreach.substr(0, 30), false, 0x1234, 0x0102, true).answer,
            icmp::Answer::other);
}

Spec ping_spec(const char* address) {
  Spec s;
  s.type = CheckType::ping;
  s.address = *IpAddress::parse(address);
  s.timeout = 1s;
  return s;
}

TEST(PingCheck, LoopbackAnswersOverIPv4AndIPv6) {
  Loop loop;
  PingProbe probe(loop, ping_spec("127.0.0.1"));
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");
  EXPECT_EQ(run_probe(loop, probe).to_string(), "ok");  // the next sequence number
  PingProbe probe6(loop, ping_spec("::1"));
  EXPECT_EQ(run_probe(loop, probe6).to_string(), "ok");
  EXPECT_FALSE(probe.running());
  RecordProperty("raw_socket", probe.used_raw_socket() ? "yes" : "no");
}

TEST(PingCheck, ValidateNeedsNoPort) {
  Spec s = ping_spec("192.0.2.1");
  EXPECT_EQ(validate(s), std::nullopt);
  s.source_address = *IpAddress::parse("::1");
  EXPECT_EQ(validate(s), "source_address family differs from the target's");
}

}  // namespace
}  // namespace hd::checkers
