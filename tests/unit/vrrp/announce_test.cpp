// SPDX-License-Identifier: GPL-2.0-or-later
// The Announcer against the real kernel, in a network namespace of the test's own
// (unshare(CLONE_NEWNET): needs root, as CI runs): a burst of gratuitous ARP goes out on
// the interface, from its MAC, sender = target = each VIP, as many rounds as asked.
#include "vrrp/announce.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hd::vrrp {
namespace {

using namespace std::chrono_literals;

class AnnouncerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root: "
                                        << std::strerror(errno);
    ASSERT_EQ(std::system("ip link add ann0 address 02:00:00:00:00:01 type veth peer name ann1 "
                          "&& ip link set ann0 up && ip link set ann1 up"),
              0);
  }
};

TEST_F(AnnouncerTest, ABurstIsThatManyRoundsOfGratuitousArpFromTheInterfacesMac) {
  int rx = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
  ASSERT_GE(rx, 0) << std::strerror(errno);
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ARP);
  ll.sll_ifindex = static_cast<int>(if_nametoindex("ann1"));
  ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&ll), sizeof ll), 0);

  auto mac = interface_mac("ann0");
  ASSERT_TRUE(mac);
  EXPECT_EQ((*mac)[5], 1);
  Loop loop;
  Announcer a(loop, "ann0", static_cast<int>(if_nametoindex("ann0")));
  std::vector<IpAddress> vips = {*IpAddress::parse("192.0.2.100"), *IpAddress::parse("192.0.2.101")};
  a.burst(vips, 3, 20ms);
  Timer stop(loop, [&] { loop.stop(); });
  stop.start(200ms);
  loop.run();
  EXPECT_EQ(a.sent(), 6u);
  EXPECT_EQ(a.errors(), 0u);

  int got = 0;
  uint8_t buf[128];
  ssize_t n;
  while ((n = recv(rx, buf, sizeof buf, 0)) > 0) {
    ASSERT_EQ(n, 28) << "an ARP packet for IPv4 over Ethernet";
    EXPECT_EQ(buf[7], 1) << "a request (RFC 5227 announcement)";
    EXPECT_EQ(std::memcmp(buf + 8, mac->data(), 6), 0) << "sender MAC: the interface's";
    EXPECT_EQ(std::memcmp(buf + 14, buf + 24, 4), 0) << "sender IP = target IP";
    char ip[16];
    inet_ntop(AF_INET, buf + 14, ip, sizeof ip);
    EXPECT_TRUE(std::string(ip) == "192.0.2.100" || std::string(ip) == "192.0.2.101") << ip;
    ++got;
  }
  EXPECT_EQ(got, 6);
  // cancel() stops a burst in the middle.
  a.burst(vips, 5, 50ms);
  a.cancel();
  stop.start(150ms);
  loop.run();
  EXPECT_EQ(a.sent(), 8u) << "only the burst's first round, sent at once";
  close(rx);
}

}  // namespace
}  // namespace hd::vrrp
