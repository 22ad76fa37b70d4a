// SPDX-License-Identifier: GPL-2.0-or-later
// LinkMonitor against the real kernel, in a network namespace of the test's own
// (needs root, as CI runs): when a burst of link events overflows its socket
// (ENOBUFS), it re-reads every link, so a tracked link that went down during the
// burst is still reported down (#13 defect 4).
#include "rtnl/link.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

namespace hd::rtnl {
namespace {

using namespace std::chrono_literals;

class LinkMonitorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root: "
                                        << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up && ip link add trk0 type veth peer name trk1 && "
                          "ip link set trk0 up && ip link set trk1 up"),
              0);
  }
  Loop loop;
};

TEST_F(LinkMonitorTest, ALinkDownLostInAnOverflowIsFoundByTheResync) {
  std::map<std::string, bool> up;
  int resynced = 0;
  std::string err;
  auto m = LinkMonitor::create(
      loop,
      LinkCallbacks{[&](int, const std::string& name, bool u) { up[name] = u; }, nullptr,
                    [&] { ++resynced; }},
      err, 4096);
  ASSERT_TRUE(m) << err;
  // A burst of link events while nobody reads: 400 veth pairs come and go, and in the middle
  // of it the tracked link goes down.
  {
    std::ofstream b("/tmp/hd-link-test.batch");
    for (int i = 0; i < 200; ++i) b << "link add hdb" << i << "a type veth peer name hdb" << i << "b\n";
    b << "link set trk0 down\n";
    for (int i = 0; i < 200; ++i) b << "link del hdb" << i << "a\n";
  }
  ASSERT_EQ(std::system("ip -batch /tmp/hd-link-test.batch"), 0);
  std::remove("/tmp/hd-link-test.batch");
  Timer deadline(loop, [&] { loop.stop(); });
  Timer poll(loop, [&] {
    if (resynced > 0 && up.count("trk0")) loop.stop();
  });
  deadline.start(5s);
  poll.start(10ms, 10ms);
  loop.run();
  EXPECT_GE(m->overflows(), 1u) << "the burst must overflow a 4 KiB buffer";
  EXPECT_GE(m->resyncs(), 1u);
  EXPECT_GE(resynced, 1);
  ASSERT_TRUE(up.count("trk0")) << "trk0 was never reported";
  EXPECT_FALSE(up["trk0"]) << "trk0 is down";
}

}  // namespace
}  // namespace hd::rtnl
