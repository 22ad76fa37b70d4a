// SPDX-License-Identifier: GPL-2.0-or-later
// Without IPVS in the kernel (the usual CI host), open() says so in one line
// and names the way out. With IPVS, this test has nothing to check.
#include "ipvs/netlink_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hd::ipvs {
namespace {

TEST(NetlinkBackend, OpenWithoutIpvsSaysSoInOneLine) {
  auto b = NetlinkBackend::open();
  if (b.ok()) GTEST_SKIP() << "this kernel has IPVS (family id " << (*b)->family_id() << ")";
  const std::string& m = b.error().message;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_EQ(m,
            "the kernel has no IPVS (generic netlink family \"IPVS\" not found): load it with "
            "`modprobe ip_vs`, or use a kernel built with CONFIG_IP_VS; set dataplane = \"none\" "
            "in [global] to run without programming IPVS");
  EXPECT_EQ(b.error().code, ENOENT);
}

}  // namespace
}  // namespace hd::ipvs
