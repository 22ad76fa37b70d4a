// SPDX-License-Identifier: GPL-2.0-or-later
// The fake answers as the kernel does, so tests that use it see real errors.
#include "ipvs/fake_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "ipvs/table_apply.h"
#include "test_util.h"

namespace hd::ipvs {
namespace {

using testing::dest;
using testing::tcp;

const ServiceKey kWeb = tcp("10.0.0.1", 80);

TEST(FakeBackend, KernelErrors) {
  FakeBackend k;
  auto code = [&](const Operation& op) {
    auto r = k.apply(op);
    return r ? 0 : r.error().code;
  };
  EXPECT_EQ(code(AddDest{kWeb, dest("10.0.0.2", 80)}), ESRCH);
  EXPECT_EQ(code(EditService{testing::service(kWeb)}), ESRCH);
  EXPECT_EQ(code(DelService{kWeb}), ESRCH);
  EXPECT_EQ(code(AddService{testing::service(kWeb, "random")}), ENOENT);
  EXPECT_EQ(code(AddService{testing::service(kWeb)}), 0);
  EXPECT_EQ(code(AddService{testing::service(kWeb)}), EEXIST);
  EXPECT_EQ(code(EditDest{kWeb, dest("10.0.0.2", 80)}), ENOENT);
  EXPECT_EQ(code(DelDest{kWeb, DestKey{testing::ip("10.0.0.2"), 80}}), ENOENT);
  EXPECT_EQ(code(AddDest{kWeb, dest("10.0.0.2", 80, -1)}), EINVAL);
  Destination gue = dest("10.0.0.2", 80, 1, Method::tun);
  gue.tunnel.type = TunType::gue;  // without a port
  EXPECT_EQ(code(AddDest{kWeb, gue}), EINVAL);
  EXPECT_EQ(code(AddDest{kWeb, dest("10.0.0.2", 80)}), 0);
  EXPECT_EQ(code(AddDest{kWeb, dest("10.0.0.2", 80)}), EEXIST);
  EXPECT_EQ(code(EditService{testing::service(kWeb, "wlc")}), 0);
  EXPECT_EQ(k.table().at(kWeb).destinations.size(), 1u);  // an edit keeps destinations
  EXPECT_EQ(k.attempted().size(), 13u);
  EXPECT_EQ(k.applied().size(), 3u);
}

// The reconciler keeps its view of the kernel up to date by applying its own operations to
// the last dump (apply_to): an edit must not drop the counters that dump read, or the
// metrics of a server whose weight moves would vanish until the next dump.
TEST(ApplyTo, EditsKeepTheKernelsCounters) {
  Table t;
  Service s = testing::service(kWeb);
  Stats st;
  st.conns = 9;
  s.stats = std::make_shared<const Stats>(st);
  Destination d = dest("10.0.0.2", 80);
  DestCounters c;
  c.active_conns = 4;
  d.counters = std::make_shared<const DestCounters>(c);
  s.destinations = {d};
  t[kWeb] = s;
  Destination heavier = dest("10.0.0.2", 80, 7);
  ASSERT_EQ(apply_to(t, EditDest{kWeb, heavier}), 0);
  ASSERT_EQ(apply_to(t, EditService{testing::service(kWeb, "rr")}), 0);
  const Service& now = t.at(kWeb);
  EXPECT_EQ(now.scheduler, "rr");
  ASSERT_TRUE(now.stats);
  EXPECT_EQ(now.stats->conns, 9u);
  ASSERT_EQ(now.destinations.size(), 1u);
  EXPECT_EQ(now.destinations[0].weight, 7);
  ASSERT_TRUE(now.destinations[0].counters);
  EXPECT_EQ(now.destinations[0].counters->active_conns, 4u);
}

TEST(FakeBackend, ErrorMessagesNameTheOperation) {
  FakeBackend k;
  auto r = k.apply(AddDest{kWeb, dest("10.0.0.2", 80)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "add destination 10.0.0.2:80 nat w1 to TCP 10.0.0.1:80: No such process "
            "(no such service)");
}

TEST(FakeBackend, InjectedFailuresAndSyncDaemon) {
  FakeBackend k;
  k.fail_when([](const Operation&) { return true; }, EIO, 2);
  EXPECT_FALSE(k.apply(AddService{testing::service(kWeb)}));
  EXPECT_FALSE(k.apply(AddService{testing::service(kWeb)}));
  EXPECT_TRUE(k.apply(AddService{testing::service(kWeb)}));

  SyncDaemon sd;
  sd.interface = "eth0";
  EXPECT_TRUE(k.start_sync_daemon(sd));
  EXPECT_FALSE(k.start_sync_daemon(sd));
  EXPECT_TRUE(k.stop_sync_daemon(SyncState::master));
  EXPECT_FALSE(k.stop_sync_daemon(SyncState::master));

  Timeouts t;
  t.tcp = std::chrono::seconds(900);
  EXPECT_TRUE(k.set_timeouts(t));
  EXPECT_EQ(k.timeouts().tcp, std::chrono::seconds(900));
}

}  // namespace
}  // namespace hd::ipvs
