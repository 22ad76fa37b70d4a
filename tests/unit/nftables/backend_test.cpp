// SPDX-License-Identifier: GPL-2.0-or-later
// NftablesBackend on the kernel's nf_tables, in a network namespace of the test's own
// (unshare(CLONE_NEWNET): root, as CI runs): what `nft list` shows after each change.
#include "nftables/backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tuple>

#include "core/clock.h"
#include "ipvs/reconciler.h"
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

// The drift sweep as LvsSubsystem runs it (dump_services, dump_destinations per service,
// reconcile_fresh): every kind of damage done to the table by hand is put back, and a table
// as programmed costs no write.
TEST_F(NftBackendTest, TheDriftSweepRepairsTheTableWhateverWasDoneToIt) {
  auto svc = [](const char* vip, uint16_t port, const char* sched) {
    ipvs::Service s;
    s.key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip(vip), port);
    s.scheduler = sched;
    return s;
  };
  ipvs::Table desired;
  for (auto s : {svc("10.9.0.100", 80, "rr"), svc("10.9.0.101", 80, "wrr"),
                 svc("10.9.0.102", 80, "sh"), svc("10.9.0.103", 80, "wrr"),
                 svc("10.9.0.104", 80, "wrr"), svc("10.9.0.105", 80, "wrr")}) {
    s.destinations = {dest("10.10.0.11", 2), dest("10.10.0.12", 4), dest("10.10.0.13", 0)};
    desired.emplace(s.key, s);
  }
  ManualClock clock;
  ipvs::Reconciler rec(*backend, clock);
  auto first = rec.reconcile(desired);
  ASSERT_TRUE(first.ok()) << first.errors.front().message;
  // Compared as read back (nft may list re-added chains and elements in another order).
  auto read = [&] {
    auto l = parse_listing(backend->list());
    return std::make_tuple(l.services, l.elements, l.rules, l.base);
  };
  const std::string good_text = backend->list();
  const auto good = read();
  ASSERT_TRUE(std::get<3>(good));
  ASSERT_EQ(std::get<1>(good).size(), 6u);
  auto sweep = [&] {
    auto listed = backend->dump_services();
    EXPECT_TRUE(listed) << listed.error().message;
    if (!listed) return ipvs::Report{};
    ipvs::Table fresh;
    std::set<ipvs::ServiceKey> scope;
    for (auto& [key, s] : desired) scope.insert(key);
    for (auto& [key, s] : *listed) {
      ipvs::Service f = s;
      f.destinations = *backend->dump_destinations(key);
      fresh.emplace(key, f);
    }
    return rec.reconcile_fresh(desired, fresh, scope);
  };
  // Nothing wrong: nothing done.
  auto quiet = sweep();
  EXPECT_EQ(quiet.applied, 0u);
  EXPECT_EQ(backend->list(), good_text);

  const std::string t = "ip hadirector";
  // 100: its rule rewritten to one server; 101: its chain flushed; 102: a second rule in its
  // chain; 103: its map element gone; 104: its element a drop; 105: the same servers, another
  // modulus (one new connection in 7 would match no slot); a stray service and chain;
  // prerouting flushed.
  ASSERT_EQ(backend->run("flush chain " + t + " s_0a090064_tcp_80\n" +
                         "add rule " + t + " s_0a090064_tcp_80 meta l4proto tcp dnat ip to 10.10.0.13:80\n" +  // not "ip addr . port to A . P": libnftables 1.0.6 leaks on it
                         "flush chain " + t + " s_0a090065_tcp_80\n" +
                         "add rule " + t + " s_0a090066_tcp_80 counter\n" +
                         "delete element " + t + " services { 10.9.0.103 . tcp . 80 }\n" +
                         "delete element " + t + " services { 10.9.0.104 . tcp . 80 }\n" +
                         "add element " + t + " services { 10.9.0.104 . tcp . 80 : drop }\n" +
                         "flush chain " + t + " s_0a090069_tcp_80\n" +
                         "add rule " + t + " s_0a090069_tcp_80 meta l4proto tcp dnat ip addr . port to "
                         "numgen inc mod 7 map { 0 : 10.10.0.12 . 80, 1 : 10.10.0.11 . 80, 2 : 10.10.0.12 . 80 }\n" +
                         "add chain " + t + " s_0a0900c8_tcp_80\n" +
                         "add rule " + t + " s_0a0900c8_tcp_80 drop\n" +
                         "add element " + t + " services { 10.9.0.200 . tcp . 80 : jump s_0a0900c8_tcp_80 }\n" +
                         "flush chain " + t + " prerouting\n"),
            "");
  ASSERT_NE(read(), good);
  auto repair = sweep();
  EXPECT_TRUE(repair.ok()) << (repair.errors.empty() ? "" : repair.errors.front().message);
  EXPECT_GT(repair.applied, 0u);
  EXPECT_EQ(read(), good) << "the table is as programmed again:\n" << backend->list();
  EXPECT_EQ(sweep().applied, 0u) << "and stays so";

  // The whole table deleted: made again.
  ASSERT_EQ(backend->run("delete table " + t + "\n"), "");
  sweep();
  EXPECT_EQ(read(), good) << backend->list();
}

// The daemon's mode: the listing is read in the backend's thread, asked for by one sweep and
// judged by the next; a service written in between is not judged on a listing older than
// the write (nothing reverted), and damage done before the ask is repaired.
TEST_F(NftBackendTest, InTheBackgroundASweepJudgesTheListingItAskedForAndNothingWrittenSince) {
  auto opened = NftablesBackend::open(ListingMode::background);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& b = *opened;
  ipvs::Service s;
  s.key = kSvc;
  s.scheduler = "wrr";
  for (auto& x : b->apply_all({ipvs::AddService{s}, ipvs::AddDest{kSvc, dest("10.10.0.11", 1)},
                               ipvs::AddDest{kSvc, dest("10.10.0.12", 2)}}))
    ASSERT_TRUE(x) << x.error().message;
  auto first = b->dump_services();  // no listing yet: what was programmed; one is asked for
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 1u);
  b->wait_for_listing();
  // Written after that listing was asked for.
  ASSERT_TRUE(b->apply(ipvs::EditDest{kSvc, dest("10.10.0.12", 5)}));
  const std::string changed = b->list();
  auto second = b->dump_services();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->size(), 1u);
  EXPECT_EQ(b->list(), changed) << "nothing reverted on an older listing";
  auto dests = b->dump_destinations(kSvc);
  ASSERT_TRUE(dests);
  EXPECT_EQ(dests->at(1).weight, 5) << "listed as programmed, not as the old listing had it";
  b->wait_for_listing();  // the one the last sweep asked for: from before the damage below
  // Damage, then the ask (in the next sweep), then the sweep after it repairs.
  ASSERT_EQ(b->run("add chain ip hadirector s_0a0900c8_tcp_80\n"
                   "add element ip hadirector services { 10.9.0.200 . tcp . 80 : jump s_0a0900c8_tcp_80 }\n"),
            "");
  ASSERT_TRUE(b->dump_services());
  b->wait_for_listing();
  ASSERT_TRUE(b->dump_services());
  EXPECT_EQ(b->list(), changed);
  // The base chains: put back once, not again on a listing asked for before that.
  b->wait_for_listing();
  ASSERT_EQ(b->run("flush chain ip hadirector prerouting\n"), "");
  ASSERT_TRUE(b->dump_services());  // judges the listing from before the flush; asks again
  b->wait_for_listing();
  ASSERT_TRUE(b->dump_services());  // the flush seen: put back; asks again (before the fix)
  ASSERT_EQ(b->run("add rule ip hadirector prerouting counter\n"), "")
      << "a second rule the stale listing cannot know about";
  b->wait_for_listing();
  ASSERT_TRUE(b->dump_services());  // asked before the repair: the base is not judged on it
  EXPECT_NE(b->list().find("counter"), std::string::npos) << "not judged on a stale listing";
  b->wait_for_listing();
  ASSERT_TRUE(b->dump_services());  // asked after the repair: the extra rule is seen
  EXPECT_EQ(b->list(), changed);
}

// IPv6: its own table, made with the first IPv6 service; adopted on a restart; repaired by
// the sweep when deleted; removed with the rest.
TEST_F(NftBackendTest, Ipv6ServicesGetTheirOwnTableAdoptedAndRepairedAlike) {
  EXPECT_EQ(backend->run("list table ip6 hadirector\n").empty(), false) << "no ip6 table before";
  auto k6 = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip("2001:db8::1"), 80);
  ipvs::Service s6;
  s6.key = k6;
  s6.scheduler = "wrr";
  ipvs::Destination d6;
  d6.key = ipvs::DestKey{ip("2001:db8:1::11"), 8080};
  d6.weight = 2;
  ipvs::Service s4;
  s4.key = kSvc;
  s4.scheduler = "rr";
  auto r = backend->apply_all({ipvs::AddService{s6}, ipvs::AddDest{k6, d6}, ipvs::AddService{s4},
                               ipvs::AddDest{kSvc, dest("10.10.0.11", 1)}});
  for (auto& x : r) ASSERT_TRUE(x) << x.error().message;
  std::string t = backend->list();
  EXPECT_NE(t.find("table ip6 hadirector"), std::string::npos) << t;
  EXPECT_NE(t.find("2001:db8::1 . tcp . 80 : jump s6_20010db8000000000000000000000001_tcp_80"),
            std::string::npos) << t;
  EXPECT_NE(t.find("dnat ip6 to numgen inc mod 1 map { 0 : 2001:db8:1::11 . 8080 }"),
            std::string::npos) << t;
  const ipvs::Table programmed = *backend->dump();
  auto again = NftablesBackend::open();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->list(), t) << "a restart changes nothing";
  ipvs::Table adopted = *(*again)->dump();
  ASSERT_EQ(adopted.size(), 2u);
  EXPECT_EQ(adopted.at(k6).destinations.size(), 1u);
  EXPECT_EQ(adopted.at(k6).destinations[0].key, d6.key);
  // The ip6 table deleted by hand: put back by the sweep (its base now, the service through
  // the reconciler's plan, as the IPv4 test shows; here the backend's part).
  ASSERT_EQ((*again)->run("delete table ip6 hadirector\n"), "");
  auto listed = (*again)->dump_services();
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->count(k6), 0u) << "gone: the plan adds it again";
  EXPECT_EQ(listed->count(kSvc), 1u);
  ipvs::Service back = programmed.at(k6);
  std::vector<ipvs::Operation> ops = {ipvs::AddService{back}};
  for (auto& d : back.destinations) ops.push_back(ipvs::AddDest{k6, d});
  for (auto& x : (*again)->apply_all(ops)) ASSERT_TRUE(x) << x.error().message;
  const std::string repaired = (*again)->list();
  EXPECT_NE(repaired.find("dnat ip6 to numgen inc mod 1 map { 0 : 2001:db8:1::11 . 8080 }"),
            std::string::npos) << repaired;
  EXPECT_NE(repaired.find("ip6 daddr . meta l4proto . th dport vmap @services"), std::string::npos);
  ASSERT_TRUE((*again)->remove_table());
  EXPECT_EQ((*again)->list(), "");
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

// Persistence on nf_tables: each server's set and chain are made, nft's own listing of them is
// read back as written (adopted by a second backend with no change), a client recorded in a set
// outlives a health change of its server and goes with the server; damage to a server's chain
// and strays are repaired by the sweep.
TEST_F(NftBackendTest, PersistentServicesAreProgrammedAdoptedAndRepaired) {
  ipvs::Service s;
  s.key = kSvc;
  s.scheduler = "wrr";
  s.flags = ipvs::kPersistent;
  s.timeout = 300;
  s.netmask = 24;
  s.destinations = {dest("10.10.0.11", 1), dest("10.10.0.12", 2)};
  ipvs::Table desired{{kSvc, s}};
  ManualClock clock;
  ipvs::Reconciler rec(*backend, clock);
  auto first = rec.reconcile(desired);
  ASSERT_TRUE(first.ok()) << first.errors.front().message;
  const std::string t = "ip hadirector", p11 = "p_0a090064_tcp_80_0a0a000b_80",
                    p12 = "p_0a090064_tcp_80_0a0a000c_80", r11 = "r_0a090064_tcp_80_0a0a000b_80";
  std::string text = backend->list();
  EXPECT_NE(text.find("set " + p11), std::string::npos) << text;
  EXPECT_NE(text.find("update @" + p12 + " { ip saddr & 255.255.255.0 timeout 5m }"), std::string::npos) << text;
  Listing l = parse_listing(text);
  EXPECT_TRUE(holds(l, s)) << text;
  ASSERT_EQ(l.services.size(), 1u);
  EXPECT_EQ(l.services.at(kSvc), s) << l.services.at(kSvc).str();
  {
    auto again = NftablesBackend::open();
    ASSERT_TRUE(again);
    ipvs::Reconciler adopt(**again, clock);
    auto r = adopt.reconcile(desired);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.applied, 0u) << "adopted as it stands";
  }
  // A client of .12 (as the packet path records one); .12 goes to weight 0: the client stays
  // recorded (it keeps reaching .12); .12 removed: its set goes with it.
  ASSERT_EQ(backend->run("add element " + t + " " + p12 + " { 10.1.2.0 timeout 5m }\n"), "");
  desired[kSvc].destinations[1].weight = 0;
  ASSERT_TRUE(rec.reconcile(desired).ok());
  EXPECT_NE(backend->run("create element " + t + " " + p12 + " { 10.1.2.0 }\n").find("File exists"),
            std::string::npos)
      << "the client is still there";
  desired[kSvc].destinations.pop_back();
  ASSERT_TRUE(rec.reconcile(desired).ok());
  text = backend->list();
  EXPECT_EQ(text.find(p12), std::string::npos) << text;
  EXPECT_TRUE(holds(parse_listing(text), desired[kSvc])) << text;

  // Drift: a server's chain forwarding elsewhere, a stray server chain and set.
  auto sweep = [&] {
    auto listed = backend->dump_services();
    EXPECT_TRUE(listed);
    ipvs::Table fresh;
    std::set<ipvs::ServiceKey> scope{kSvc};
    for (auto& [key, x] : *listed) {
      ipvs::Service f = x;
      f.destinations = *backend->dump_destinations(key);
      fresh.emplace(key, f);
    }
    return rec.reconcile_fresh(desired, fresh, scope);
  };
  EXPECT_EQ(sweep().applied, 0u);
  ASSERT_EQ(backend->run("flush chain " + t + " " + r11 + "\nadd rule " + t + " " + r11 +
                         " meta l4proto tcp dnat to 10.10.0.99:80\n"
                         "add set " + t + " " + p12 + " { type ipv4_addr ; }\n"
                         "add chain " + t + " r_0a090064_tcp_80_0a0a000c_80\n"),
            "");
  ASSERT_FALSE(holds(parse_listing(backend->list()), desired[kSvc]));
  auto repair = sweep();
  EXPECT_TRUE(repair.ok());
  EXPECT_GT(repair.applied, 0u);
  text = backend->list();
  EXPECT_TRUE(holds(parse_listing(text), desired[kSvc])) << text;
  EXPECT_EQ(text.find(p12), std::string::npos) << "the strays are gone:\n" << text;
  EXPECT_EQ(text.find("r_0a090064_tcp_80_0a0a000c_80"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.10.0.99"), std::string::npos) << text;
  EXPECT_EQ(sweep().applied, 0u) << "and stays so";
  // Removed: nothing of it is left.
  desired.clear();
  ASSERT_TRUE(rec.reconcile(desired).ok());
  text = backend->list();
  EXPECT_EQ(text.find("_0a090064_"), std::string::npos) << text;
}

// Persistent IPv6 and mh services as nft lists them are read back as written (an `ip6 saddr &
// MASK` lookup, `dnat to [addr]:port`, a vmap with mh's comment): a sweep finds nothing to
// repair, so their clients' sets are never rewritten.
TEST_F(NftBackendTest, PersistentIpv6AndMhServicesHoldAsWritten) {
  ipvs::Table desired;
  ipvs::Service v6;
  v6.key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip("2001:db8::100"), 443);
  v6.scheduler = "wrr";
  v6.flags = ipvs::kPersistent;
  v6.timeout = 3600;
  v6.netmask = 64;
  ipvs::Destination a, b;
  a.key = ipvs::DestKey{ip("2001:db8:1::11"), 443};
  a.weight = 1;  // read back over the weights' gcd, as without persistence
  b.key = ipvs::DestKey{ip("2001:db8:1::12"), 8443};
  b.weight = 0;
  v6.destinations = {a, b};
  desired[v6.key] = v6;
  ipvs::Service mh;
  mh.key = ipvs::ServiceKey::inet(ipvs::Protocol::udp, ip("10.9.0.101"), 53);
  mh.scheduler = "mh";
  mh.flags = ipvs::kPersistent | ipvs::kMhPort;
  mh.timeout = 90;
  mh.destinations = {dest("10.10.0.11", 1), dest("10.10.0.12", 3)};
  desired[mh.key] = mh;
  ManualClock clock;
  ipvs::Reconciler rec(*backend, clock);
  auto first = rec.reconcile(desired);
  ASSERT_TRUE(first.ok()) << first.errors.front().message;
  const std::string text = backend->list();
  const Listing l = parse_listing(text);
  EXPECT_TRUE(holds(l, v6)) << text;
  EXPECT_TRUE(holds(l, mh)) << text;
  EXPECT_TRUE(l.base && l.base6) << text;
  EXPECT_NE(text.find("ip6 saddr & ffff:ffff:ffff:ffff:: == @p6_"), std::string::npos) << text;
  ASSERT_TRUE(l.services.count(v6.key));
  EXPECT_EQ(l.services.at(v6.key), v6) << l.services.at(v6.key).str();
  ASSERT_TRUE(l.services.count(mh.key));
  EXPECT_EQ(l.services.at(mh.key).scheduler, "mh");
  EXPECT_EQ(l.services.at(mh.key).timeout, 90u);
  auto listed = backend->dump_services();
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u) << "both held as written";
  EXPECT_EQ(backend->list(), text) << "and nothing rewritten";
}

// A real server's connections as conntrack holds them (the nftables data plane has no IPVS
// connection table): a TCP connection made through the service's DNAT (on loopback: the
// output hook, 127.0.0.2:80 -> 127.0.0.1:<port>) is counted active for its real server once
// established, and no longer once closed; the other server counts none.
TEST_F(NftBackendTest, RealServersCountTheirConnectionsFromConntrack) {
  {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    close(fd);
  }
  int lsn = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lsn, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(lsn, 4), 0);
  socklen_t len = sizeof a;
  getsockname(lsn, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t port = ntohs(a.sin_port);
  const auto key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip("127.0.0.2"), 80);
  ipvs::Service s;
  s.key = key;
  s.scheduler = "rr";
  ipvs::Destination d1, d2;
  d1.key = ipvs::DestKey{ip("127.0.0.1"), port};
  d2.key = ipvs::DestKey{ip("127.0.0.3"), port};
  d2.weight = 0;
  auto r = backend->apply_all({ipvs::AddService{s}, ipvs::AddDest{key, d1}, ipvs::AddDest{key, d2}});
  for (auto& x : r) ASSERT_TRUE(x) << x.error().message;
  auto counts = [&] {
    EXPECT_TRUE(backend->dump_services());  // the sweep: counts (direct mode) and lists
    std::map<std::string, std::pair<uint32_t, uint32_t>> out;
    auto dests = backend->dump_destinations(key);
    if (!dests) return out;
    for (auto& d : *dests) {
      EXPECT_TRUE(d.counters && d.counters->conntrack) << d.key.str();
      if (d.counters) out[d.key.address.str()] = {d.counters->active_conns, d.counters->inactive_conns};
    }
    return out;
  };
  EXPECT_EQ(counts()["127.0.0.1"], std::make_pair(0u, 0u));
  int c = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in vip{};
  vip.sin_family = AF_INET;
  vip.sin_port = htons(80);
  inet_pton(AF_INET, "127.0.0.2", &vip.sin_addr);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&vip), sizeof vip), 0) << strerror(errno);
  int accepted = accept(lsn, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  auto now = counts();
  EXPECT_EQ(now["127.0.0.1"], std::make_pair(1u, 0u)) << "one established connection";
  EXPECT_EQ(now["127.0.0.3"], std::make_pair(0u, 0u));
  // Its server drained too: the service's rule is `drop`; the established connection still
  // carries data both ways. (Forwarded connections also need keep_nat here, render.h: that
  // case is integration_nftables' drain test; on loopback it does not show.)
  d1.weight = 0;
  ASSERT_TRUE(backend->apply(ipvs::EditDest{key, d1}));
  ASSERT_NE(backend->list().find("drop"), std::string::npos);
  char buf[8] = {};
  timeval tv{2, 0};
  setsockopt(accepted, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ASSERT_EQ(send(c, "ping", 4, 0), 4);
  EXPECT_EQ(recv(accepted, buf, sizeof buf, 0), 4) << strerror(errno);
  ASSERT_EQ(send(accepted, "pong", 4, 0), 4);
  EXPECT_EQ(recv(c, buf, sizeof buf, 0), 4) << "the connection still works: " << strerror(errno);
  close(c);
  close(accepted);
  close(lsn);
  EXPECT_EQ(counts()["127.0.0.1"].first, 0u) << "closed: no longer active";
}

}  // namespace
}  // namespace hd::nft
