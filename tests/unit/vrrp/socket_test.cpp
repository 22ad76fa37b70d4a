// SPDX-License-Identifier: GPL-2.0-or-later
// vrrp::Socket against the real kernel, on the loopback of a network namespace of the test's
// own (unshare(CLONE_NEWNET): needs root, as CI runs). The receive buffer follows the
// interface's MTU, and a datagram longer than it is counted and dropped, never decoded cut.
#include "vrrp/socket.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "vrrp/rules.h"

namespace hd::vrrp {
namespace {

const IpAddress kLoopback = *IpAddress::parse("::1");

class SocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root: "
                                        << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up"), 0);
  }
  static void set_mtu(int mtu) {
    ASSERT_EQ(std::system(("ip link set lo mtu " + std::to_string(mtu)).c_str()), 0);
  }
  std::unique_ptr<Socket> open() {
    std::string err;
    auto s = Socket::open(Family::v6, "lo", static_cast<int>(if_nametoindex("lo")), false, err);
    EXPECT_TRUE(s) << err;
    return s;
  }
  // A v3 advert for VRID 7 with `n` IPv6 addresses: 8 + 16n bytes of VRRP message.
  static std::vector<uint8_t> advert(size_t n) {
    Advert a;
    a.vrid = 7;
    for (size_t i = 1; i <= n; ++i) {
      auto ip = *IpAddress::parse("2001:db8::");
      auto b = ip.bytes();
      std::array<uint8_t, 16> bytes{};
      std::copy(b.begin(), b.end(), bytes.begin());
      bytes[14] = static_cast<uint8_t>(i >> 8);
      bytes[15] = static_cast<uint8_t>(i);
      a.addresses.push_back(*IpAddress::from_bytes(Family::v6, bytes));
    }
    return encode(a, kLoopback, kLoopback);
  }
  static DecodeResult decode_rx(const RxPacket& p) {
    ExpectedParams x;
    x.family = Family::v6;
    x.vrid = 7;
    return decode(p.payload, p.meta, x);
  }
};

// #20: adverts are queued as network control (TC_PRIO_CONTROL: the test runs as root, with
// CAP_NET_ADMIN), for both families, ahead of bulk traffic on a busy interface.
TEST_F(SocketTest, AdvertsAreQueuedAsNetworkControl) {
  for (Family f : {Family::v4, Family::v6}) {
    std::string err;
    auto s = Socket::open(f, "lo", static_cast<int>(if_nametoindex("lo")), false, err);
    ASSERT_TRUE(s) << err;
    int prio = -1;
    socklen_t len = sizeof prio;
    ASSERT_EQ(getsockopt(s->fd(), SOL_SOCKET, SO_PRIORITY, &prio, &len), 0);
    EXPECT_EQ(prio, 7) << (f == Family::v4 ? "IPv4" : "IPv6");
  }
}

// The old fixed 2,048-byte buffer cut this 3,208-byte advert (200 addresses, legal on a
// jumbo-frame link), and the cut advert was decoded: a length drop at best.
TEST_F(SocketTest, AnAdvertLongerThan2048BytesArrivesWholeOnALargeMtu) {
  set_mtu(9000);
  auto rx = open();
  auto tx = open();
  ASSERT_TRUE(rx && tx);
  EXPECT_EQ(rx->receive_buffer_size(), 9000u);
  auto bytes = advert(200);
  ASSERT_EQ(bytes.size(), 3208u);
  ASSERT_EQ(tx->send(kLoopback, kLoopback, bytes), "");
  auto p = rx->receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload.size(), 3208u);
  auto r = decode_rx(*p);
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r.advert().addresses.size(), 200u);
  EXPECT_EQ(rx->malformed(), 0u);
}

// Longer than the buffer (here it came in fragments over a 1280-byte link and was
// reassembled): MSG_TRUNC, counted as malformed, not decoded. The buffer is never below the
// 1500 bytes the loader allows an advert, so an advert it accepts is received whole.
TEST_F(SocketTest, ADatagramLongerThanTheBufferIsCountedNotDecoded) {
  set_mtu(1280);
  auto rx = open();
  auto tx = open();
  ASSERT_TRUE(rx && tx);
  EXPECT_EQ(rx->receive_buffer_size(), kAdvertMtu);
  ASSERT_EQ(tx->send(kLoopback, kLoopback, advert(200)), "");
  EXPECT_FALSE(rx->receive());
  EXPECT_EQ(rx->malformed(), 1u);
  // The largest advert the loader accepts for IPv6 (90 addresses) still comes through.
  const size_t most = max_advertised_addresses(Version::v3, Family::v6);
  ASSERT_EQ(most, 90u);
  ASSERT_EQ(tx->send(kLoopback, kLoopback, advert(most)), "");
  auto p = rx->receive();
  ASSERT_TRUE(p);
  auto r = decode_rx(*p);
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r.advert().addresses.size(), most);
  EXPECT_EQ(rx->malformed(), 1u);
}

}  // namespace
}  // namespace hd::vrrp
