// SPDX-License-Identifier: GPL-2.0-or-later
// NetlinkAddressManager against the real kernel, in a network namespace of the
// test's own (unshare(CLONE_NEWNET): needs root, as CI runs): every request is
// answered, refusals with the kernel's errno and the request they belong to.
#include "rtnl/address.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace hd::rtnl {
namespace {

using namespace std::chrono_literals;

class AddressManagerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A namespace of our own: only its loopback, nothing of the host's touched.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root: "
                                        << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up"), 0);
  }
  std::vector<AddressResult> run(const std::function<void(AddressManager&)>& requests,
                                 size_t answers) {
    std::string err;
    auto m = NetlinkAddressManager::create(loop, err, "test");
    EXPECT_TRUE(m) << err;
    std::vector<AddressResult> got;
    m->on_result([&](const AddressResult& r) {
      got.push_back(r);
      if (got.size() == answers) loop.stop();
    });
    requests(*m);
    Timer deadline(loop, [&] { loop.stop(); });
    deadline.start(2s);
    if (got.size() < answers) loop.run();
    return got;
  }
  AddressSpec spec(const char* a, int ifindex) {
    return AddressSpec{*IpAddress::parse(a), 32, "", ifindex};
  }
  Loop loop;
};

TEST_F(AddressManagerTest, EveryRequestIsAnsweredAndRefusalsNameTheirRequest) {
  int lo = static_cast<int>(if_nametoindex("lo"));
  ASSERT_GT(lo, 0);
  auto got = run(
      [&](AddressManager& m) {
        m.add(spec("10.99.0.1", lo));
        m.add(spec("10.99.0.2", 99999));  // no such interface: the kernel refuses
        m.add(spec("10.99.0.1", lo));     // already there: fine
        m.remove(spec("10.99.0.1", lo));
      },
      4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].err, 0);
  EXPECT_EQ(got[0].spec.address.str(), "10.99.0.1");
  EXPECT_EQ(got[1].op, AddrOp::add);
  EXPECT_EQ(got[1].spec.address.str(), "10.99.0.2");
  EXPECT_EQ(got[1].err, ENODEV);
  EXPECT_EQ(got[2].err, 0);
  EXPECT_EQ(got[3].op, AddrOp::remove);
  EXPECT_EQ(got[3].err, 0);
}

}  // namespace
}  // namespace hd::rtnl
