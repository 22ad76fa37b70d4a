// SPDX-License-Identifier: GPL-2.0-or-later
// LvsSubsystem on a real Loop, with a FakeBackend as the kernel's IPVS table and a
// ManualClock: adoption at start, health across a reload, quorum and the sorry server,
// inhibit_on_failure, slow start, the sync daemon following VRRP, cleanup on stop.
// Real servers go up and down through tcp checks to loopback ports the test opens
// (listening: up) and closes (bound, not listening: connect refused, down).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <thread>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "daemon/lvs_subsystem.h"
#include "daemon/overrides.h"
#include "ipvs/fake_backend.h"

namespace hd {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// The subsystem owns its backend and drops it on stop(); this one forwards to a
// FakeBackend the test keeps, so the table outlives the subsystem.
class BackendRef final : public ipvs::Backend {
 public:
  // `slow`: each destination read takes that long (a slow kernel, a large table).
  explicit BackendRef(ipvs::FakeBackend& fake, Duration slow = Duration::zero())
      : fake_(fake), slow_(slow) {}
  ipvs::Result<void> apply(const ipvs::Operation& op) override { return fake_.apply(op); }
  ipvs::Result<ipvs::Table> dump() override { return fake_.dump(); }
  ipvs::Result<ipvs::Table> dump_services() override { return fake_.dump_services(); }
  ipvs::Result<std::vector<ipvs::Destination>> dump_destinations(
      const ipvs::ServiceKey& key) override {
    if (slow_ > Duration::zero()) std::this_thread::sleep_for(slow_);
    return fake_.dump_destinations(key);
  }
  ipvs::Result<void> set_timeouts(const ipvs::Timeouts& t) override {
    return fake_.set_timeouts(t);
  }
  ipvs::Result<void> start_sync_daemon(const ipvs::SyncDaemon& d) override {
    return fake_.start_sync_daemon(d);
  }
  ipvs::Result<void> stop_sync_daemon(ipvs::SyncState s) override {
    return fake_.stop_sync_daemon(s);
  }

 private:
  ipvs::FakeBackend& fake_;
  Duration slow_;
};

// A TCP port on 127.0.0.1 that a check finds open (up()) or refusing (down(), the start).
class CheckPort {
 public:
  CheckPort() : fd_(bound(0)) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~CheckPort() { ::close(fd_); }
  CheckPort(const CheckPort&) = delete;
  CheckPort& operator=(const CheckPort&) = delete;
  uint16_t port() const { return port_; }
  void up() { ASSERT_EQ(::listen(fd_, 64), 0); }
  void down() {
    ::close(fd_);
    fd_ = bound(port_);
  }

 private:
  static int bound(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  int fd_;
  uint16_t port_ = 0;
};

config::Check tcp_check(const CheckPort& p) {
  config::Check c;
  c.type = config::CheckType::tcp;
  c.interval = 20ms;
  c.timeout = 500ms;
  c.connect_address = ip("127.0.0.1");
  c.connect_port = p.port();
  return c;
}

config::RealServer real(const char* address, int weight,
                        std::optional<config::Check> check = std::nullopt) {
  config::RealServer r;
  r.address = ip(address);
  r.port = 80;
  r.weight = weight;
  r.check = std::move(check);
  return r;
}

config::VirtualServer virtual_server(const char* address) {
  config::VirtualServer v;
  v.address = ip(address);
  v.port = 80;
  return v;
}

config::Config with(std::vector<config::VirtualServer> vss) {
  config::Config c;
  c.global.dataplane = config::Dataplane::kernel;
  c.global.reconcile_interval = 60s;  // no drift repair in the middle of a test
  c.virtual_servers = std::move(vss);
  return c;
}

ipvs::ServiceKey key(const char* address) {
  return ipvs::ServiceKey::inet(ipvs::Protocol::tcp, ip(address), 80);
}
ipvs::DestKey dest(const char* address) { return {ip(address), 80}; }

class LvsSubsystemTest : public ::testing::Test {
 protected:
  LvsSubsystemTest() {
    lvs_.set_quorum_listener([this](const std::map<std::string, bool>& up) { quorum_ = up; });
  }

  // The destinations of a service in the fake kernel table, "10.0.1.11:80 nat w5" each.
  std::vector<std::string> dests(const char* service) const {
    std::vector<std::string> out;
    auto it = fake_.table().find(key(service));
    if (it == fake_.table().end()) return {"(no service)"};
    for (auto& d : it->second.destinations) out.push_back(d.str());
    std::sort(out.begin(), out.end());
    return out;
  }
  // The weight of a destination in the fake table; -1 when it is not there.
  int weight(const char* service, const char* real) const {
    auto it = fake_.table().find(key(service));
    if (it == fake_.table().end()) return -1;
    auto* d = it->second.find(dest(real));
    return d ? d->weight : -1;
  }

  // Runs the loop until `done` holds; false after `limit` of real time.
  bool run_until(const std::function<bool()>& done, Duration limit = 3s) {
    Timer tick(loop_, [] {});
    tick.start(Millis(2), Millis(2));
    auto deadline = SteadyClock::now() + limit;
    while (!done()) {
      if (SteadyClock::now() > deadline) return false;
      loop_.run_once();
    }
    return true;
  }
  // Runs the loop for `d` of real time.
  void run_for(Duration d) {
    auto until = SteadyClock::now() + d;
    (void)run_until([&] { return SteadyClock::now() >= until; }, d + 1s);
  }

  // Another subsystem on this loop and clock, over `kernel` (each read taking `slow`).
  std::unique_ptr<LvsSubsystem> on(ipvs::FakeBackend& kernel, Duration slow = Duration::zero()) {
    return std::make_unique<LvsSubsystem>(
        loop_,
        [&kernel, slow]() -> ipvs::Result<std::unique_ptr<ipvs::Backend>> {
          return std::unique_ptr<ipvs::Backend>(std::make_unique<BackendRef>(kernel, slow));
        },
        clock_);
  }
  Loop loop_;
  ManualClock clock_;
  ipvs::FakeBackend fake_;
  int opens_ = 0;
  LvsSubsystem lvs_{loop_,
                    [this]() -> ipvs::Result<std::unique_ptr<ipvs::Backend>> {
                      ++opens_;
                      return std::unique_ptr<ipvs::Backend>(std::make_unique<BackendRef>(fake_));
                    },
                    clock_};
  std::map<std::string, bool> quorum_;
};

TEST_F(LvsSubsystemTest, AdoptsRealServersAlreadyServing) {
  // A restart: the kernel holds our service; .11 serves (weight 5), .12 was drained (weight 0).
  ipvs::Service svc;
  svc.key = key("192.0.2.1");
  ipvs::Destination a, b;
  a.key = dest("10.0.1.11");
  a.weight = 5;
  b.key = dest("10.0.1.12");
  b.weight = 0;
  svc.destinations = {a, b};
  fake_.table()[svc.key] = svc;

  CheckPort refusing;  // no check has run yet when start() returns
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 5, tcp_check(refusing)),
                     real("10.0.1.12", 5, tcp_check(refusing))};
  ASSERT_EQ(lvs_.start(with({vs})), "");
  EXPECT_EQ(opens_, 1);
  // .11 starts up and is left alone; .12 was not serving, so it starts down like any
  // unchecked server and goes.
  EXPECT_EQ(dests("192.0.2.1"), std::vector<std::string>{"10.0.1.11:80 nat w5"});
  ASSERT_EQ(fake_.applied().size(), 1u);
  EXPECT_EQ(ipvs::describe(fake_.applied()[0]),
            "delete destination 10.0.1.12:80 from TCP 192.0.2.1:80");
}

// /metrics: the weights of both tables, and the kernel's own counters as its dump said.
TEST_F(LvsSubsystemTest, MetricsShowBothTablesAndTheKernelsCounters) {
  ipvs::Service svc;
  svc.key = key("192.0.2.1");
  ipvs::Destination a;
  a.key = dest("10.0.1.11");
  a.weight = 5;
  ipvs::DestCounters c;
  c.active_conns = 7;
  c.inactive_conns = 2;
  c.stats.conns = 900;
  c.stats.inpkts = 5000;
  c.stats.outbytes = 123456;
  a.counters = std::make_shared<const ipvs::DestCounters>(c);
  ipvs::Stats st;
  st.conns = 901;
  svc.stats = std::make_shared<const ipvs::Stats>(st);
  svc.destinations = {a};
  fake_.table()[svc.key] = svc;
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 5), real("10.0.1.12", 3)};
  ASSERT_EQ(lvs_.start(with({vs})), "");
  metrics::Writer w;
  lvs_.metrics(w);
  const std::string& t = w.text();
  auto has = [&](const std::string& line) {
    EXPECT_NE(t.find("\n" + line + "\n"), std::string::npos) << line << "\n" << t;
  };
  const std::string v = "vs=\"TCP 192.0.2.1:80\"";
  has("hadirector_lvs_real_server_weight{" + v + ",rs=\"10.0.1.12:80\",weight=\"configured\"} 3");
  has("hadirector_lvs_real_server_weight{" + v + ",rs=\"10.0.1.12:80\",weight=\"desired\"} 3");
  has("hadirector_lvs_real_servers{" + v + ",table=\"desired\"} 2");
  // The kernel's counters come from the start-up dump (.12 was added after it: none yet).
  has("hadirector_ipvs_real_server_connections{" + v + ",rs=\"10.0.1.11:80\",state=\"active\"} 7");
  has("hadirector_ipvs_real_server_connections{" + v + ",rs=\"10.0.1.11:80\",state=\"inactive\"} 2");
  has("hadirector_ipvs_real_server_connections_total{" + v + ",rs=\"10.0.1.11:80\"} 900");
  has("hadirector_ipvs_real_server_packets_total{" + v + ",rs=\"10.0.1.11:80\",direction=\"in\"} 5000");
  has("hadirector_ipvs_real_server_bytes_total{" + v + ",rs=\"10.0.1.11:80\",direction=\"out\"} 123456");
  has("hadirector_ipvs_service_connections_total{" + v + "} 901");
  EXPECT_EQ(t.find("rs=\"10.0.1.12:80\",state="), std::string::npos);
  EXPECT_EQ(lvs_.unhealthy(), "");
}

TEST_F(LvsSubsystemTest, ReloadKeepsTheHealthOfAnUpServer) {
  CheckPort port;
  port.up();
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 4, tcp_check(port)), real("10.0.1.12", 1)};
  auto cfg = with({vs});
  ASSERT_EQ(lvs_.start(cfg), "");
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") == 4; }));

  auto next = cfg;
  next.virtual_servers[0].real_servers[1].weight = 3;  // unrelated to .11
  fake_.clear_log();
  ASSERT_EQ(lvs_.reload(cfg, next), "");
  // Checked right after reload(): .11's check did not run again, so only kept health keeps it.
  EXPECT_EQ(dests("192.0.2.1"),
            (std::vector<std::string>{"10.0.1.11:80 nat w4", "10.0.1.12:80 nat w3"}));
  ASSERT_EQ(fake_.applied().size(), 1u);
  EXPECT_EQ(ipvs::describe(fake_.applied()[0]),
            "edit destination 10.0.1.12:80 nat w3 in TCP 192.0.2.1:80");
  run_for(100ms);  // and it stays
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 4);
}

TEST_F(LvsSubsystemTest, QuorumLostLeavesOnlyTheSorryServer) {
  CheckPort pa, pb;
  pa.up();
  pb.up();
  auto steady = virtual_server("192.0.2.1");  // no checks: always has quorum
  steady.real_servers = {real("10.0.1.11", 1)};
  auto vs = virtual_server("192.0.2.2");
  vs.quorum = 2;
  vs.sorry_server = config::SorryServer{ip("10.0.9.9"), 80};
  vs.real_servers = {real("10.0.2.11", 1, tcp_check(pa)), real("10.0.2.12", 1, tcp_check(pb))};
  ASSERT_EQ(lvs_.start(with({steady, vs})), "");
  const std::vector<std::string> both = {"10.0.2.11:80 nat w1", "10.0.2.12:80 nat w1"};
  const std::vector<std::string> sorry = {"10.0.9.9:80 nat w1"};
  ASSERT_TRUE(run_until([&] { return dests("192.0.2.2") == both; })) << dests("192.0.2.2")[0];
  EXPECT_EQ(quorum_, (std::map<std::string, bool>{{"tcp 192.0.2.1:80", true},
                                                  {"tcp 192.0.2.2:80", true}}));

  pa.down();  // live weight 1 < quorum 2
  ASSERT_TRUE(run_until([&] { return dests("192.0.2.2") == sorry; })) << dests("192.0.2.2")[0];
  EXPECT_EQ(quorum_, (std::map<std::string, bool>{{"tcp 192.0.2.1:80", true},
                                                  {"tcp 192.0.2.2:80", false}}));
  EXPECT_EQ(dests("192.0.2.1"), std::vector<std::string>{"10.0.1.11:80 nat w1"});

  pa.up();
  ASSERT_TRUE(run_until([&] { return dests("192.0.2.2") == both; })) << dests("192.0.2.2")[0];
  EXPECT_EQ(quorum_, (std::map<std::string, bool>{{"tcp 192.0.2.1:80", true},
                                                  {"tcp 192.0.2.2:80", true}}));
}

// What an anycast announcement follows: evaluated since start, quorum, and the service in
// the kernel as desired; the listener is told after evaluations and reconciles.
TEST_F(LvsSubsystemTest, ServingFollowsEvaluationQuorumAndTheKernelTable) {
  using Serving = LvsSubsystem::Serving;
  const std::string k = "tcp 192.0.2.1:80";
  int told = 0;
  lvs_.set_serving_listener([&] { ++told; });
  EXPECT_EQ(lvs_.serving(k), Serving{});  // not started
  CheckPort pa;
  pa.up();
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1, tcp_check(pa))};
  ASSERT_EQ(lvs_.start(with({vs})), "");
  EXPECT_GT(told, 0);
  EXPECT_EQ(lvs_.serving(k), (Serving{true, false, true}));  // the check has not passed yet
  EXPECT_EQ(lvs_.serving("tcp 192.0.2.9:80"), Serving{});    // no such virtual server
  ASSERT_TRUE(run_until([&] { return lvs_.serving(k) == Serving{true, true, true}; }));
  // The next write fails: the kernel's table is not known as desired until a reconcile
  // reads it again.
  fake_.fail_when([](const ipvs::Operation&) { return true; }, EIO);
  pa.down();
  ASSERT_TRUE(run_until([&] { return !lvs_.serving(k).quorum; }));
  EXPECT_FALSE(lvs_.serving(k).in_sync);
  fake_.clear_failures();
  pa.up();
  ASSERT_TRUE(run_until([&] { return lvs_.serving(k) == Serving{true, true, true}; }));
  lvs_.stop();
  EXPECT_EQ(lvs_.serving(k), Serving{});
}

// With dataplane = "none" nothing is programmed: in sync by definition, evaluated at once.
TEST_F(LvsSubsystemTest, ServingWithoutADataplaneIsQuorumAlone) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1)};  // no check: up
  auto cfg = with({vs});
  cfg.global.dataplane = config::Dataplane::none;
  ASSERT_EQ(lvs_.start(cfg), "");
  EXPECT_EQ(lvs_.serving("tcp 192.0.2.1:80"), (LvsSubsystem::Serving{true, true, true}));
}

// A health change plans and applies its own service alone, from the cached view of the
// kernel (no dump, nothing else looked at): its cost does not grow with the table.
TEST_F(LvsSubsystemTest, AHealthChangeTouchesOnlyItsService) {
  CheckPort port;
  port.up();
  std::vector<config::VirtualServer> all;
  for (int i = 1; i <= 20; ++i) {
    auto vs = virtual_server(("192.0.2." + std::to_string(i)).c_str());
    vs.real_servers = {real(("10.0.1." + std::to_string(i)).c_str(), 2)};
    all.push_back(vs);
  }
  all[7].real_servers.push_back(real("10.0.2.8", 3, tcp_check(port)));
  ASSERT_EQ(lvs_.start(with(all)), "");
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.8", "10.0.2.8") == 3; }));
  // Someone removes another service's server behind our back: only a whole plan (the
  // periodic one, with a dump) sees that; the health change below must not touch it.
  fake_.table()[key("192.0.2.3")].destinations.clear();
  fake_.clear_log();
  const size_t dumps = fake_.dumps();
  port.down();
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.8", "10.0.2.8") == -1; }));
  EXPECT_EQ(fake_.dumps(), dumps);
  ASSERT_EQ(fake_.applied().size(), 1u);
  EXPECT_EQ(ipvs::describe(fake_.applied()[0]),
            "delete destination 10.0.2.8:80 from TCP 192.0.2.8:80");
  EXPECT_EQ(dests("192.0.2.3"), std::vector<std::string>{});
  EXPECT_EQ(dests("192.0.2.8"), std::vector<std::string>{"10.0.1.8:80 nat w2"});
  JsonWriter w;
  w.begin_object();
  lvs_.status(w);
  w.end_object();
  EXPECT_NE(w.str().find("\"last_reconcile\":{\"services\":1,\"planned\":1}"), std::string::npos)
      << w.str();
}

// A reload that changes a few virtual servers of many touches only those: their specs,
// checks and IPVS services (the reconcile's scope is theirs); the table it leaves is the one
// a fresh start on the new config programs.
TEST_F(LvsSubsystemTest, AReloadTouchesOnlyTheVirtualServersThatChanged) {
  CheckPort port;
  port.up();
  auto addr = [](int i) { return "192.0.2." + std::to_string(i); };
  auto server = [&](int i) {
    auto vs = virtual_server(addr(i).c_str());
    vs.real_servers = {real(("10.0.1." + std::to_string(i)).c_str(), 1),
                       real(("10.0.2." + std::to_string(i)).c_str(), 2)};
    return vs;
  };
  std::vector<config::VirtualServer> all;
  for (int i = 1; i <= 20; ++i) all.push_back(server(i));
  all[6].real_servers.push_back(real("10.0.3.7", 4, tcp_check(port)));
  auto cfg = with(all);
  ASSERT_EQ(lvs_.start(cfg), "");
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.7", "10.0.3.7") == 4; }));

  auto next = cfg;
  auto& vss = next.virtual_servers;
  vss[2].real_servers[1].weight = 5;                              // .3: a weight
  vss[8].real_servers.push_back(real("10.0.4.9", 3));             // .9: one more real server
  auto slower = tcp_check(port);
  slower.interval = 30ms;
  vss[6].real_servers[2].check = slower;                          // .7: its check changed
  vss.erase(vss.begin() + 4);                                     // .5: gone
  vss.push_back(server(21));                                      // .21: new
  fake_.clear_log();
  const size_t dumps = fake_.dumps();
  ASSERT_EQ(lvs_.reload(cfg, next), "");
  EXPECT_EQ(fake_.dumps(), dumps);
  JsonWriter w;
  w.begin_object();
  lvs_.status(w);
  w.end_object();
  EXPECT_NE(w.str().find("\"last_reconcile\":{\"services\":5,"), std::string::npos) << w.str();
  EXPECT_EQ(weight("192.0.2.3", "10.0.2.3"), 5);
  EXPECT_EQ(dests("192.0.2.5"), std::vector<std::string>{"(no service)"});
  EXPECT_EQ(weight("192.0.2.9", "10.0.4.9"), 3);
  EXPECT_EQ(weight("192.0.2.21", "10.0.2.21"), 2);
  EXPECT_EQ(weight("192.0.2.7", "10.0.3.7"), 4) << "up, so it stays up while its new check starts";

  // The same table as a fresh start on the new config, once its check has passed.
  ipvs::FakeBackend other;
  auto owned = on(other);
  LvsSubsystem& fresh = *owned;
  ASSERT_EQ(fresh.start(next), "");
  auto seven = key("192.0.2.7");
  ASSERT_TRUE(run_until([&] {
    auto it = other.table().find(seven);
    return it != other.table().end() && it->second.find(dest("10.0.3.7"));
  }));
  EXPECT_EQ(other.table(), fake_.table());
  fresh.stop();
}

std::vector<config::VirtualServer> many_services(int n) {
  std::vector<config::VirtualServer> all;
  for (int i = 0; i < n; ++i) {
    auto vs = virtual_server(("192.0." + std::to_string(2 + i / 250) + "." + std::to_string(1 + i % 250)).c_str());
    vs.real_servers = {real(("10.1." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250)).c_str(), 1),
                       real(("10.2." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250)).c_str(), 2)};
    all.push_back(vs);
  }
  return all;
}

// Drift repair reads the kernel a service at a time (the service list, then each one's
// destinations) and repairs what it finds, never reading the whole table at once.
TEST_F(LvsSubsystemTest, DriftIsRepairedByASweepNotAWholeDump) {
  auto cfg = with(many_services(200));
  cfg.global.reconcile_interval = 30ms;
  ASSERT_EQ(lvs_.start(cfg), "");
  auto want = fake_.table();
  ASSERT_EQ(want.size(), 200u);
  const size_t dumps = fake_.dumps();  // the start's
  // A sweep may already be part way through the table; count the reads from here.
  const size_t dest_dumps = fake_.destination_dumps();
  const size_t service_dumps = fake_.service_dumps();
  // Behind our back: a destination gone, a stray one added, a whole service deleted.
  fake_.table()[key("192.0.2.150")].destinations.pop_back();
  ipvs::Destination stray;
  stray.key = dest("10.9.9.9");
  stray.weight = 3;
  fake_.table()[key("192.0.2.20")].destinations.push_back(stray);
  fake_.table().erase(key("192.0.2.77"));
  ipvs::Service foreign;  // someone else's: left alone, counted
  foreign.key = key("192.0.9.9");
  foreign.scheduler = "rr";
  fake_.table()[foreign.key] = foreign;
  want[foreign.key] = foreign;
  ASSERT_TRUE(run_until([&] { return fake_.table() == want; }));
  EXPECT_EQ(fake_.dumps(), dumps) << "no whole-table dump";
  JsonWriter w;
  w.begin_object();
  lvs_.status(w);
  w.end_object();
  EXPECT_NE(w.str().find("\"foreign_services\":1"), std::string::npos) << w.str().substr(0, 200);
  // The two services whose destinations drifted were each read on their own, and the
  // deleted one was found from a service list read after the change.
  EXPECT_GE(fake_.destination_dumps() - dest_dumps, 2u);
  EXPECT_GE(fake_.service_dumps() - service_dumps, 1u);
}

// The main loop's stall bound with a slow kernel: 300 services whose destinations take
// 1 ms each to read are swept over many loop turns (~2 ms each), not in one 300 ms turn.
TEST_F(LvsSubsystemTest, ASlowKernelDoesNotStallTheLoopDuringTheSweep) {
  ipvs::FakeBackend slow_kernel;
  auto owned = on(slow_kernel, 1ms);
  LvsSubsystem& lvs = *owned;
  auto cfg = with(many_services(300));
  cfg.global.reconcile_interval = 50ms;
  ASSERT_EQ(lvs.start(cfg), "");
  const size_t before = slow_kernel.destination_dumps();
  Duration longest{};
  auto last = SteadyClock::now();
  Timer tick(loop_, [&] {
    auto now = SteadyClock::now();
    longest = std::max(longest, Duration(now - last));
    last = now;
  });
  tick.start(1ms, 1ms);
  ASSERT_TRUE(run_until([&] { return slow_kernel.destination_dumps() >= before + 300; }, 10s));
  run_for(10ms);  // the tick after the last step: a stall in it counts too
  EXPECT_LT(longest, 50ms) << "a sweep of 300 ms went in one turn";
  lvs.stop();
}

// A service our own reconcile deleted while a sweep was under way is not brought back
// into the cached table from the sweep's stale service list (the kernel dumps a deleted
// service's destinations as none): adding it again later programs it whole, with no error.
TEST_F(LvsSubsystemTest, ASweepDoesNotResurrectAServiceDeletedMeanwhile) {
  ipvs::FakeBackend slow_kernel;
  auto owned = on(slow_kernel, 1ms);
  LvsSubsystem& lvs = *owned;
  auto all = many_services(100);
  auto cfg = with(all);
  cfg.global.reconcile_interval = 30ms;
  ASSERT_EQ(lvs.start(cfg), "");
  // Every service sorts before 192.0.3.x; the last one is swept last.
  auto last = all.back();
  ASSERT_TRUE(run_until([&] { return slow_kernel.service_dumps() >= 1; }));
  auto without = cfg;
  without.virtual_servers.pop_back();
  ASSERT_EQ(lvs.reload(cfg, without), "");  // deleted now, while the sweep goes on
  EXPECT_EQ(slow_kernel.table().count(service_key(last)), 0u);
  // The next sweep's service list: the first one has gone past every service.
  ASSERT_TRUE(run_until([&] { return slow_kernel.service_dumps() >= 2; }));
  // A sweep longer than reconcile_interval (100 ms of reads, 30 ms) is not restarted by the
  // next period: it reads every service but the deleted one before the next list.
  EXPECT_EQ(slow_kernel.destination_dumps(), 99u);
  ASSERT_EQ(lvs.reload(without, cfg), "");  // and back
  ASSERT_TRUE(run_until([&] {
    auto it = slow_kernel.table().find(service_key(last));
    return it != slow_kernel.table().end() && it->second.destinations.size() == 2;
  }));
  JsonWriter w;
  w.begin_object();
  lvs.status(w);
  w.end_object();
  EXPECT_NE(w.str().find("\"operation_errors\":0,"), std::string::npos) << w.str().substr(0, 300);
  lvs.stop();
}

TEST_F(LvsSubsystemTest, InhibitOnFailureKeepsADownServerAtWeightZero) {
  CheckPort port;
  port.up();
  auto vs = virtual_server("192.0.2.1");
  vs.inhibit_on_failure = true;
  vs.real_servers = {real("10.0.1.11", 5, tcp_check(port)), real("10.0.1.12", 1)};
  ASSERT_EQ(lvs_.start(with({vs})), "");
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") == 5; }));
  port.down();
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") != 5; }));
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 0);  // drains, not removed
}

TEST_F(LvsSubsystemTest, SlowStartRampsTheWeightOnTheInjectedClock) {
  CheckPort port;
  auto vs = virtual_server("192.0.2.1");
  vs.slow_start = 1s;
  vs.real_servers = {real("10.0.1.11", 11, tcp_check(port))};
  ASSERT_EQ(lvs_.start(with({vs})), "");
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), -1);  // down until its check passes

  port.up();  // comes up at clock_.now(), which stands still until the test moves it
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") != -1; }));
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 1);
  run_for(150ms);  // real time passes, the injected clock does not: no step
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 1);

  clock_.advance(500ms);  // 1 + floor(10 * 0.5) = 6, applied when the ramp timer fires
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") != 1; }));
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 6);

  clock_.advance(500ms);  // the full weight
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") != 6; }));
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 11);
}

// The kernel's connection counts for one destination of the fake table (what a dump reads).
void set_active(ipvs::FakeBackend& fake, const char* service, const char* real, uint32_t active) {
  for (auto& d : fake.table()[key(service)].destinations)
    if (d.key == dest(real)) {
      auto c = std::make_shared<ipvs::DestCounters>();
      c->active_conns = active;
      d.counters = c;
    }
}

RealOverride set_by_test(RealOverride::Mode m, std::optional<double> deadline = std::nullopt) {
  return RealOverride{m, deadline, std::nullopt, "uid 0", wall_seconds()};
}

TEST_F(LvsSubsystemTest, DrainKeepsTheServerAtWeightZeroUntilNoActiveConnectionIsLeft) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 5), real("10.0.1.12", 5)};
  Overrides o;  // in memory
  lvs_.set_overrides(o);
  ASSERT_EQ(lvs_.start(with({vs})), "");
  const std::string id = "tcp 192.0.2.1:80 -> 10.0.1.11:80";
  ASSERT_EQ(o.set(id, set_by_test(RealOverride::Mode::drain)), "");
  lvs_.set_overrides(o);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 0);  // at once: no new connections
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.12"), 5);
  set_active(fake_, "192.0.2.1", "10.0.1.11", 3);  // established connections go on
  run_for(2500ms);  // two polls of the kernel's table
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 0);
  EXPECT_EQ(o.find(id)->mode, RealOverride::Mode::drain);
  set_active(fake_, "192.0.2.1", "10.0.1.11", 0);  // the last one ended
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") == -1; }, 3s));
  EXPECT_EQ(o.find(id)->mode, RealOverride::Mode::drained);  // recorded: a restart keeps it out
  EXPECT_EQ(dests("192.0.2.1"), std::vector<std::string>{"10.0.1.12:80 nat w5"});
}

TEST_F(LvsSubsystemTest, DrainEndsAtItsTimeoutWithConnectionsLeft) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 5)};
  Overrides o;
  ASSERT_EQ(lvs_.start(with({vs})), "");
  const std::string id = "tcp 192.0.2.1:80 -> 10.0.1.11:80";
  ASSERT_EQ(o.set(id, set_by_test(RealOverride::Mode::drain, wall_seconds() + 30)), "");
  lvs_.set_overrides(o);
  set_active(fake_, "192.0.2.1", "10.0.1.11", 7);
  run_for(1200ms);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 0);
  clock_.advance(31s);  // the injected clock passes the deadline
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") == -1; }, 3s));
  EXPECT_EQ(o.find(id)->mode, RealOverride::Mode::drained);
}

TEST_F(LvsSubsystemTest, ARestartDuringADrainKeepsTheServerAtWeightZero) {
  // The kernel as a stopped daemon left it: .11 drained to weight 0, connections still on it.
  ipvs::Service svc;
  svc.key = key("192.0.2.1");
  ipvs::Destination a;
  a.key = dest("10.0.1.11");
  a.weight = 0;
  svc.destinations = {a};
  fake_.table()[svc.key] = svc;
  set_active(fake_, "192.0.2.1", "10.0.1.11", 2);
  CheckPort refusing;  // its check has not run yet: a plain weight-0 server would start down
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 5, tcp_check(refusing))};
  Overrides o;
  const std::string id = "tcp 192.0.2.1:80 -> 10.0.1.11:80";
  ASSERT_EQ(o.set(id, set_by_test(RealOverride::Mode::drain)), "");
  lvs_.set_overrides(o);  // restored from the state file before start, as the director does
  ASSERT_EQ(lvs_.start(with({vs})), "");
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 0);
  EXPECT_TRUE(fake_.applied().empty()) << ipvs::describe(fake_.applied()[0]);
  EXPECT_EQ(o.find(id)->mode, RealOverride::Mode::drain);
}

TEST_F(LvsSubsystemTest, MaintRemovesAtOnceAndReadyRampsBackWithSlowStart) {
  CheckPort port;
  port.up();
  auto vs = virtual_server("192.0.2.1");
  vs.slow_start = 1s;
  vs.real_servers = {real("10.0.1.11", 11, tcp_check(port)), real("10.0.1.12", 3)};
  Overrides o;
  ASSERT_EQ(lvs_.start(with({vs})), "");
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") != -1; }));
  clock_.advance(2s);  // past its ramp
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") == 11; }));
  const std::string id = "tcp 192.0.2.1:80 -> 10.0.1.11:80";
  ASSERT_EQ(o.set(id, set_by_test(RealOverride::Mode::maint)), "");
  lvs_.set_overrides(o);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), -1);
  run_for(100ms);  // its check keeps passing: it stays out
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), -1);
  ASSERT_EQ(o.set(id, RealOverride{}), "");  // ready
  lvs_.set_overrides(o);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 1);  // ramps from 1 again
  clock_.advance(500ms);
  ASSERT_TRUE(run_until([&] { return weight("192.0.2.1", "10.0.1.11") != 1; }));
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 6);
  // A server without a check ramps back too.
  const std::string id2 = "tcp 192.0.2.1:80 -> 10.0.1.12:80";
  ASSERT_EQ(o.set(id2, set_by_test(RealOverride::Mode::maint)), "");
  lvs_.set_overrides(o);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.12"), -1);
  ASSERT_EQ(o.set(id2, RealOverride{}), "");
  lvs_.set_overrides(o);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.12"), 1);
}

TEST_F(LvsSubsystemTest, RuntimeWeightAndDrainWithoutAKernelTable) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 5)};
  Overrides o;
  const std::string id = "tcp 192.0.2.1:80 -> 10.0.1.11:80";
  ASSERT_EQ(lvs_.start(with({vs})), "");
  ASSERT_EQ(o.set(id, RealOverride{RealOverride::Mode::none, std::nullopt, 9, "uid 0", 0}), "");
  lvs_.set_overrides(o);
  EXPECT_EQ(weight("192.0.2.1", "10.0.1.11"), 9);
  lvs_.stop();

  // dataplane none: no connection to wait for, the drain is done at once.
  auto cfg = with({vs});
  cfg.global.dataplane = config::Dataplane::none;
  ASSERT_EQ(lvs_.start(cfg), "");
  ASSERT_EQ(o.set(id, set_by_test(RealOverride::Mode::drain)), "");
  lvs_.set_overrides(o);
  EXPECT_EQ(o.find(id)->mode, RealOverride::Mode::drained);
}

// Directors that all forward (announce = "bgp" behind ECMP) follow no VRRP instance: each
// sends its connections and takes the others' from the start.
TEST_F(LvsSubsystemTest, SyncWithoutAnInstanceRunsBothRolesFromTheStart) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1)};
  auto cfg = with({vs});
  cfg.global.lvs_sync_daemon = config::SyncDaemon{"eth9", "", 7, 256};
  ASSERT_EQ(lvs_.start(cfg), "");
  ASSERT_TRUE(fake_.sync_backup());
  ASSERT_TRUE(fake_.sync_master());
  EXPECT_EQ(fake_.sync_master()->max_len, 256);
  lvs_.on_vrrp_state("VI_1", false);  // nothing to follow
  EXPECT_TRUE(fake_.sync_master());
  lvs_.stop();
  EXPECT_FALSE(fake_.sync_master());
  EXPECT_FALSE(fake_.sync_backup());
}

// [global] conntrackd follows its instance's transitions (master, backup, fault); a reload
// that changes it tells the new one the instance's state at once, not at the next transition.
// (The program is one that is not there: the role is recorded, no command runs.)
TEST_F(LvsSubsystemTest, ConntrackdFollowsItsInstanceAcrossAReload) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1)};
  auto cfg = with({vs});
  cfg.global.conntrackd = config::Conntrackd{"/etc/conntrackd/a.conf", "VI_1", "/nonexistent/conntrackd"};
  auto conntrackd = [&] {
    JsonWriter w;
    w.begin_object();
    lvs_.status(w);
    w.end_object();
    const std::string s = w.str();
    auto at = s.find("\"conntrackd\":");
    return at == std::string::npos ? std::string("(none)") : s.substr(at, s.find('}', at) - at + 1);
  };
  ASSERT_EQ(lvs_.start(cfg), "");
  EXPECT_NE(conntrackd().find("\"role\":null"), std::string::npos) << conntrackd();
  EXPECT_NE(conntrackd().find("\"error\":\"cannot find or run '/nonexistent/conntrackd'\""), std::string::npos)
      << conntrackd();
  lvs_.on_vrrp_state("VI_2", true);  // not its instance
  EXPECT_NE(conntrackd().find("\"role\":null"), std::string::npos) << conntrackd();
  lvs_.on_vrrp_state("VI_1", true);
  EXPECT_NE(conntrackd().find("\"role\":\"master\""), std::string::npos) << conntrackd();
  lvs_.on_vrrp_state("VI_1", false, true);
  EXPECT_NE(conntrackd().find("\"role\":\"fault\""), std::string::npos) << conntrackd();
  lvs_.on_vrrp_state("VI_1", true);
  auto next = cfg;
  next.global.conntrackd->config = "/etc/conntrackd/b.conf";
  ASSERT_EQ(lvs_.reload(cfg, next), "");
  EXPECT_NE(conntrackd().find("\"role\":\"master\""), std::string::npos) << "told at once: " << conntrackd();
  // Now following VI_2, last seen MASTER (above): told so at once.
  auto third = next;
  third.global.conntrackd->vrrp_instance = "VI_2";
  ASSERT_EQ(lvs_.reload(next, third), "");
  EXPECT_NE(conntrackd().find("\"vrrp_instance\":\"VI_2\",\"role\":\"master\""), std::string::npos)
      << "VI_2 was last seen MASTER: " << conntrackd();
  auto none = third;
  none.global.conntrackd.reset();
  ASSERT_EQ(lvs_.reload(third, none), "");
  EXPECT_NE(conntrackd().find("\"conntrackd\":null"), std::string::npos) << conntrackd();
}

TEST_F(LvsSubsystemTest, SyncBackupRoleAlwaysRunsAndTheMasterRoleFromTheFirstMaster) {
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1)};
  auto cfg = with({vs});
  cfg.global.lvs_sync_daemon = config::SyncDaemon{"eth9", "VI_1", 7, 256};
  ASSERT_EQ(lvs_.start(cfg), "");
  // Backup only, until the instance is Master.
  ASSERT_TRUE(fake_.sync_backup());
  EXPECT_EQ(fake_.sync_backup()->interface, "eth9");
  EXPECT_EQ(fake_.sync_backup()->sync_id, 7);
  EXPECT_FALSE(fake_.sync_master());

  lvs_.on_vrrp_state("VI_1", true);
  ASSERT_TRUE(fake_.sync_master());
  EXPECT_EQ(fake_.sync_master()->max_len, 256);
  EXPECT_TRUE(fake_.sync_backup());  // both: a handover syncs both ways

  lvs_.on_vrrp_state("VI_2", false);  // another instance: no change
  EXPECT_TRUE(fake_.sync_master());

  // Handing over: the old Master still forwards for its linger, and stopping the role would
  // discard the messages it holds. Both roles stay.
  lvs_.on_vrrp_state("VI_1", false);
  EXPECT_TRUE(fake_.sync_master());
  EXPECT_TRUE(fake_.sync_backup());

  // A changed sync config restarts the roles: backup at once, master again with the next
  // MASTER report.
  auto next = cfg;
  next.global.lvs_sync_daemon->sync_id = 8;
  ASSERT_EQ(lvs_.reload(cfg, next), "");
  ASSERT_TRUE(fake_.sync_backup());
  EXPECT_EQ(fake_.sync_backup()->sync_id, 8);
  EXPECT_FALSE(fake_.sync_master());

  lvs_.stop();
  EXPECT_FALSE(fake_.sync_master());
  EXPECT_FALSE(fake_.sync_backup());
}

TEST_F(LvsSubsystemTest, StopRemovesOurServicesOnlyWhenConfigured) {
  ipvs::Service foreign;
  foreign.key = key("198.51.100.1");
  fake_.table()[foreign.key] = foreign;
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1)};
  auto cfg = with({vs});

  ASSERT_EQ(lvs_.start(cfg), "");
  ASSERT_TRUE(fake_.table().count(key("192.0.2.1")));
  lvs_.stop();  // ipvs_on_stop = "keep": traffic keeps flowing
  EXPECT_TRUE(fake_.table().count(key("192.0.2.1")));

  cfg.global.ipvs_remove_on_stop = true;
  ASSERT_EQ(lvs_.start(cfg), "");
  lvs_.stop();
  EXPECT_FALSE(fake_.table().count(key("192.0.2.1")));
  EXPECT_TRUE(fake_.table().count(key("198.51.100.1")));  // not ours
}

TEST(LvsSubsystemBackend, StartReportsTheOpenersErrorAndNoneOpensNothing) {
  Loop loop;
  ManualClock clock;
  int opens = 0;
  LvsSubsystem lvs(
      loop,
      [&]() -> ipvs::Result<std::unique_ptr<ipvs::Backend>> {
        ++opens;
        return ipvs::Error{"IPVS is not available: modprobe ip_vs", 2};
      },
      clock);
  auto vs = virtual_server("192.0.2.1");
  vs.real_servers = {real("10.0.1.11", 1)};
  auto cfg = with({vs});
  EXPECT_EQ(lvs.start(cfg), "IPVS is not available: modprobe ip_vs");
  EXPECT_EQ(opens, 1);
  lvs.stop();

  cfg.global.dataplane = config::Dataplane::none;
  EXPECT_EQ(lvs.start(cfg), "");
  EXPECT_EQ(opens, 1);
  lvs.stop();
}

}  // namespace
}  // namespace hd

namespace hd {
namespace {

// Handover forwarding: each VRRP instance forwards the services on its sync group's VIPs
// and their NAT real servers, nothing else (active/active pairs do not send each other what
// the other does not own); a reload that removes an instance ends its forwarding.
TEST_F(LvsSubsystemTest, HandoverForwardingCoversEachInstancesOwnServices) {
  std::vector<std::string> scripts;
  lvs_.set_handover_apply([&](const std::string& s) {
    scripts.push_back(s);
    return std::string();
  });
  auto a = virtual_server("192.0.2.1");
  a.real_servers = {real("10.0.1.11", 1)};
  auto b = virtual_server("192.0.2.2");
  b.real_servers = {real("10.0.2.11", 1)};
  auto cfg = with({a, b});
  auto vi = [](const char* name, const char* ifname, const char* vip) {
    config::VrrpInstance v;
    v.name = name;
    v.interface = ifname;
    v.vips.push_back({*IpPrefix::parse(vip), ""});
    return v;
  };
  cfg.vrrp_instances = {vi("VI_1", "eth0", "192.0.2.1/24"), vi("VI_GW", "eth1", "10.0.1.1/24"),
                        vi("VI_2", "eth0", "192.0.2.2/24")};
  config::SyncGroup g;
  g.name = "director";
  g.instances = {"VI_1", "VI_GW"};
  cfg.sync_groups = {g};
  ASSERT_EQ(lvs_.start(cfg), "");
  ASSERT_NE(lvs_.handover(), nullptr);
  ASSERT_EQ(scripts.size(), 1u) << "leftovers removed at start";
  EXPECT_EQ(scripts[0].find("dup"), std::string::npos);
  auto follow = [](const char* instance, const char* ifname, const char* to) {
    return TakeoverNotice{TakeoverNotice::Phase::follow, instance, ifname, *IpAddress::parse(to),
                          true, {}};
  };
  lvs_.on_takeover(follow("VI_GW", "eth1", "10.0.1.3"));
  const std::string& gw = scripts.back();
  EXPECT_NE(gw.find("iifname \"eth1\" ip saddr . tcp sport { 10.0.1.11 . 80 } dup to 10.0.1.3"),
            std::string::npos)
      << gw;
  EXPECT_EQ(gw.find("10.0.2.11"), std::string::npos) << gw;
  lvs_.on_takeover(follow("VI_2", "eth0", "192.0.2.13"));
  const std::string& both = scripts.back();
  EXPECT_NE(both.find("iifname \"eth0\" ip daddr . tcp dport { 192.0.2.2 . 80 } tcp flags & "
                      "(syn | ack) != syn dup to 192.0.2.13"),
            std::string::npos)
      << both;
  EXPECT_EQ(both.find("192.0.2.1 . 80 } tcp flags & (syn | ack) != syn dup to 192.0.2.13"),
            std::string::npos)
      << both;
  // VI_2 leaves the config: its forwarding ends with the reload.
  auto next = cfg;
  next.vrrp_instances.pop_back();
  ASSERT_EQ(lvs_.reload(cfg, next), "");
  EXPECT_EQ(scripts.back().find("192.0.2.13"), std::string::npos) << scripts.back();
  EXPECT_NE(scripts.back().find("dup to 10.0.1.3"), std::string::npos) << scripts.back();
  lvs_.stop();
  EXPECT_EQ(scripts.back().find("dup"), std::string::npos) << "stop removes the rules";
}

}  // namespace
}  // namespace hd
