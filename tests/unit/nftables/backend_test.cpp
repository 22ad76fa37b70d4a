// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesBackend on the kernel's nf_tables, in a network namespace of the test's own
// (unshare(CLONE_NEWNET): root, as CI runs): what `nft list` shows after each change.
#include "nftables/backend.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <string.h>

#include "nftables/render.h"

namespace hd::nft {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
const auto kSvc = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip("10.9.0.100"), 80);

ipvs::Destination dest(const char* a, int weight) {
  ipvs::Destination d;
  d.key = ipvs::DestKey{ip(a), 80};
  d.weight = weight;
  return d;
}

class NftBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root: " << strerror(errno);
    auto b = NftablesBackend::open();
    ASSERT_TRUE(b) << b.error().message;
    backend = std::move(b.value());
  }
  std::unique_ptr<NftablesBackend> backend;
};

TEST_F(NftBackendTest, ServicesAndHealthChangesReachTheKernelsTable) {
  ipvs::Service s;
  s.key = kSvc;
  s.scheduler = "wrr";
  auto r = backend->apply_all({ipvs::AddService{s}, ipvs::AddDest{kSvc, dest("10.10.0.11", 1)},
                               ipvs::AddDest{kSvc, dest("10.10.0.12", 2)}});
  for (auto& x : r) ASSERT_TRUE(x) << x.error().message;
  std::string t = backend->list();
  EXPECT_NE(t.find("10.9.0.100 . tcp . 80 : jump s_0a090064_tcp_80"), std::string::npos) << t;
  EXPECT_NE(t.find("numgen inc mod 3 map { 0 : 10.10.0.12 . 80, 1 : 10.10.0.11 . 80, 2 : "
                   "10.10.0.12 . 80 }"),
            std::string::npos) << t;
  EXPECT_NE(t.find("type nat hook prerouting priority dstnat"), std::string::npos) << t;
  // A server goes down: weight 0, only its service's rule is rewritten.
  ASSERT_TRUE(backend->apply(ipvs::EditDest{kSvc, dest("10.10.0.12", 0)}));
  t = backend->list();
  EXPECT_NE(t.find("numgen inc mod 1 map { 0 : 10.10.0.11 . 80 }"), std::string::npos) << t;
  ASSERT_TRUE(backend->apply(ipvs::EditDest{kSvc, dest("10.10.0.11", 0)}));
  EXPECT_NE(backend->list().find("drop"), std::string::npos);
  // What the backend says it holds is what it programmed.
  auto d = backend->dump();
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->at(kSvc).destinations.size(), 2u);
  ASSERT_TRUE(backend->apply(ipvs::DelService{kSvc}));
  t = backend->list();
  EXPECT_EQ(t.find("s_0a090064_tcp_80"), std::string::npos) << t;
}

TEST_F(NftBackendTest, ARefusedChangeChangesNothing) {
  ipvs::Service s;
  s.key = kSvc;
  s.scheduler = "wrr";
  ASSERT_TRUE(backend->apply(ipvs::AddService{s}));
  const std::string before = backend->list();
  // The kernel's errno for a destination of a service that is not there, as IPVS says it.
  auto other = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip("10.9.0.101"), 80);
  auto r = backend->apply(ipvs::AddDest{other, dest("10.10.0.11", 1)});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no such service"), std::string::npos) << r.error().message;
  // What nftables cannot do is refused whole, every operation of the batch failing.
  ipvs::Service wlc = s;
  wlc.scheduler = "wlc";
  auto all = backend->apply_all({ipvs::EditService{wlc}, ipvs::AddDest{kSvc, dest("10.10.0.11", 1)}});
  for (auto& x : all) {
    ASSERT_FALSE(x);
    EXPECT_NE(x.error().message.find("scheduler wlc"), std::string::npos) << x.error().message;
  }
  EXPECT_EQ(backend->list(), before);
  // Another service in the same batch is not held back by it.
  ipvs::Service fine;
  fine.key = other;
  fine.scheduler = "rr";
  auto mixed = backend->apply_all({ipvs::EditService{wlc}, ipvs::AddService{fine}});
  EXPECT_FALSE(mixed[0]);
  EXPECT_TRUE(mixed[1]) << mixed[1].error().message;
  EXPECT_NE(backend->list().find("10.9.0.101 . tcp . 80"), std::string::npos);
}

// A restart: the next run opens the table the last one left, changes nothing in it, and
// holds what it finds (its dump is what the reconciler adopts). Foreign tables stay.
TEST_F(NftBackendTest, OpeningAgainAdoptsTheTableAndLeavesForeignTablesAlone) {
  ASSERT_EQ(backend->run("add table ip someone_else\nadd chain ip someone_else c\n"), "");
  ipvs::Service s;
  s.key = kSvc;
  s.scheduler = "wrr";
  auto udp = ipvs::ServiceKey::inet(ipvs::Protocol::udp, ip("10.9.0.100"), 53);
  ipvs::Service u;
  u.key = udp;
  u.scheduler = "sh";
  std::vector<ipvs::Operation> ops = {ipvs::AddService{s}, ipvs::AddService{u}};
  // Enough servers that nft folds the map over several lines.
  for (int i = 1; i <= 12; ++i) {
    std::string a = "10.10.0." + std::to_string(10 + i);
    ops.push_back(ipvs::AddDest{kSvc, dest(a.c_str(), i % 3 + 1)});
  }
  ops.push_back(ipvs::AddDest{udp, dest("10.10.0.11", 1)});
  for (auto& x : backend->apply_all(ops)) ASSERT_TRUE(x) << x.error().message;
  const std::string before = backend->list();
  const ipvs::Table programmed = *backend->dump();
  auto again = NftablesBackend::open();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->list(), before) << "a restart changes nothing in the kernel";
  ipvs::Table adopted = *(*again)->dump();
  ASSERT_EQ(adopted.size(), 2u);
  EXPECT_EQ(adopted.at(kSvc), programmed.at(kSvc));
  EXPECT_EQ(adopted.at(udp), programmed.at(udp));
  EXPECT_EQ(adopted.at(udp).scheduler, "sh");
  // What it adopted is what it changes from: one server's change touches one chain.
  ASSERT_TRUE((*again)->apply(ipvs::EditDest{kSvc, dest("10.10.0.11", 0)}));
  EXPECT_EQ((*again)->list().find("10.10.0.11 . 80, "), std::string::npos);
  EXPECT_EQ((*again)->run("list table ip someone_else\n"), "") << "a foreign table is untouched";
  ASSERT_TRUE((*again)->remove_table());
  EXPECT_EQ((*again)->list(), "");
}

}  // namespace
}  // namespace hd::nft
