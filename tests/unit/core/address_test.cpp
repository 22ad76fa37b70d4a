// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace hd {
namespace {

TEST(Address, ParseAndPrint) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->str(), "192.0.2.1");
  EXPECT_EQ(IpAddress::parse("2001:db8::1")->str(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::parse("192.0.2.256"));
  EXPECT_FALSE(IpAddress::parse("example.com"));
  EXPECT_LT(*IpAddress::parse("10.0.0.2"), *IpAddress::parse("10.0.0.10"));  // numerically
}

TEST(Address, SockaddrRoundTrip) {
  for (const char* text : {"192.0.2.1", "2001:db8::ff"}) {
    auto a = *IpAddress::parse(text);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, 8080, ss);
    EXPECT_EQ(ss.ss_family, a.af());
    if (a.is_v4()) {
      EXPECT_EQ(len, sizeof(sockaddr_in));
      EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port), 8080);
    } else {
      EXPECT_EQ(len, sizeof(sockaddr_in6));
      EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port), 8080);
    }
    EXPECT_EQ(from_sockaddr(ss), a) << text;
  }
  sockaddr_storage unix_addr{};
  unix_addr.ss_family = AF_UNIX;
  EXPECT_FALSE(from_sockaddr(unix_addr));
}

}  // namespace
}  // namespace hd
