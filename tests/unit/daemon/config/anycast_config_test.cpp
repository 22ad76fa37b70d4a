// SPDX-License-Identifier: GPL-2.0-or-later
// announce = "bgp" and [anycast]: what the loader accepts, refuses and warns about, each at
// its place, and the writer's round trip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config/loader.h"
#include "daemon/config/writer.h"

namespace hd::config {
namespace {

using ::testing::HasSubstr;

const std::string kVs = R"([[virtual_server]]
address = "10.99.0.100"
port = 80
announce = "bgp"
)";

// The connection sync, without which check warns about every announce = "bgp" server.
const std::string kSync = "[global]\nlvs_sync_daemon = { interface = \"eth1\" }\n";

std::string all(const std::vector<Error>& errs) {
  std::string out;
  for (auto& e : errs) out += e.str() + "\n";
  return out;
}

LoadResult load(const std::string& text) { return load_string(text, "t.toml", SIZE_MAX); }

TEST(AnycastConfig, AnnounceBgpDefaultsToMaglevAndTheAnycastDefaults) {
  auto r = load(kSync + kVs);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << all(r.warnings);
  auto& vs = r.config->virtual_servers.at(0);
  EXPECT_EQ(vs.announce, Announce::bgp);
  EXPECT_EQ(vs.scheduler, ipvs::Scheduler::mh);
  EXPECT_EQ(r.config->anycast.interface, "hd-anycast");
  EXPECT_EQ(r.config->anycast.table, 200u);
  EXPECT_EQ(r.config->anycast.withdraw_linger, std::chrono::seconds(2));
  // Without announce, nothing changes: vrrp, wlc.
  auto plain = load("[[virtual_server]]\naddress = \"10.9.0.1\"\nport = 80\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.config->virtual_servers.at(0).announce, Announce::vrrp);
  EXPECT_EQ(plain.config->virtual_servers.at(0).scheduler, ipvs::Scheduler::wlc);
}

TEST(AnycastConfig, AnySchedulerButMhOrShIsAcceptedWithAWarningAtItsPlace) {
  auto text = kSync + "[[virtual_server]]\naddress = \"10.99.0.100\"\nport = 80\n"
                     "announce = \"bgp\"\nscheduler = \"wlc\"\n";
  auto r = load(text);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 7);
  EXPECT_EQ(r.warnings[0].column, 13);
  EXPECT_THAT(r.warnings[0].str(), HasSubstr("t.toml:7:13: warning: scheduler \"wlc\" picks"));
  EXPECT_EQ(r.config->virtual_servers.at(0).scheduler, ipvs::Scheduler::wlc);
  for (const char* s : {"mh", "sh"}) {
    auto ok = load(kSync + "[[virtual_server]]\naddress = \"10.99.0.100\"\nport = 80\n"
                           "announce = \"bgp\"\nscheduler = \"" + s + "\"\n");
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(ok.warnings.empty()) << s;
  }
}

TEST(AnycastConfig, RefusedAtTheirPlace) {
  struct Case {
    std::string text;
    int line, col;
    std::string what;
  } cases[] = {
      {"[[virtual_server]]\nfwmark = 7\nannounce = \"bgp\"\n", 3, 12, "needs the virtual server's 'address'"},
      {"[[virtual_server]]\naddress = \"10.9.0.1\"\nport = 80\nannounce = \"ospf\"\n", 4, 12, "announce"},
      {kVs + "[anycast]\ntable = 254\n", 6, 9, "the kernel's own"},
      {kVs + "[anycast]\ninterface = \"eth0:1\"\n", 6, 13, "Linux interface name"},
      {kVs + "[anycast]\ninterface = \"a-very-long-name-0\"\n", 6, 13, "1-15 characters"},
      {kVs + "[anycast]\nlinger = \"2s\"\n", 6, 1, "unknown key 'linger' in [anycast]"},
  };
  for (auto& c : cases) {
    auto r = load(c.text);
    ASSERT_EQ(r.errors.size(), 1u) << c.text << all(r.errors);
    EXPECT_EQ(r.errors[0].line, c.line) << r.errors[0].str();
    EXPECT_EQ(r.errors[0].column, c.col) << r.errors[0].str();
    EXPECT_THAT(r.errors[0].message, HasSubstr(c.what));
  }
}

TEST(AnycastConfig, AnAddressIsAnnouncedOneWayNotBoth) {
  auto r = load(R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 150
virtual_ipaddresses = [ "10.99.0.100/32" ]
)" + kVs);
  ASSERT_EQ(r.errors.size(), 1u) << all(r.errors);
  EXPECT_EQ(r.errors[0].line, 7);
  EXPECT_THAT(r.errors[0].message, HasSubstr("is a VIP of vrrp_instance 'VI_1'"));
}

TEST(AnycastConfig, TheConnectionSyncIsAskedForAndRunsBothWaysWithoutAnInstance) {
  const std::string kernel_vs = "[[virtual_server]]\naddress = \"10.99.0.100\"\nport = 80\nannounce = \"bgp\"\n";
  // dataplane kernel (the default), no sync: said at the virtual server.
  auto r = load(kernel_vs);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 1);
  EXPECT_THAT(r.warnings[0].message, HasSubstr("without [global.lvs_sync_daemon]"));
  // Sync without vrrp_instance: accepted, nothing said.
  r = load("[global]\nlvs_sync_daemon = { interface = \"eth1\", sync_id = 3 }\n" + kernel_vs);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << all(r.warnings);
  EXPECT_EQ(r.config->global.lvs_sync_daemon->vrrp_instance, "");
  auto back = load(to_toml(*r.config));
  ASSERT_TRUE(back.ok()) << all(back.errors);
  EXPECT_EQ(back.config->global.lvs_sync_daemon, r.config->global.lvs_sync_daemon);
  // Following an instance: its master role would wait for MASTER.
  r = load(R"([global]
lvs_sync_daemon = { interface = "eth1", vrrp_instance = "VI_1" }
[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 150
virtual_ipaddresses = [ "10.9.0.1/32" ]
)" + kernel_vs);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0].message, HasSubstr("leave vrrp_instance out"));
  // An empty name is refused at the key.
  r = load("[global]\nlvs_sync_daemon = { interface = \"eth1\", vrrp_instance = \"\" }\n");
  ASSERT_EQ(r.errors.size(), 1u) << all(r.errors);
  EXPECT_THAT(r.errors[0].message, HasSubstr("must name an instance"));
}

TEST(AnycastConfig, VirtualServersOnOneAddressAgreeAndNoneForwardsNothing) {
  auto r = load(kSync + kVs + "[[virtual_server]]\naddress = \"10.99.0.100\"\nport = 443\n");
  ASSERT_EQ(r.errors.size(), 1u) << all(r.errors);
  EXPECT_EQ(r.errors[0].line, 7);
  EXPECT_THAT(r.errors[0].message, HasSubstr("an address is announced one way"));
  r = load("[global]\ndataplane = \"none\"\n" + kVs);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  ASSERT_EQ(r.warnings.size(), 1u) << all(r.warnings);
  EXPECT_THAT(r.warnings[0].message, HasSubstr("nothing here forwards"));
}

TEST(AnycastConfig, TheWriterRoundTripsEveryField) {
  auto r = load(R"([anycast]
interface = "any0"
table = 4000
withdraw_linger = "30s"
)" + kVs + R"([[virtual_server]]
address = "10.99.0.101"
port = 80
announce = "bgp"
scheduler = "wlc"
)");
  ASSERT_TRUE(r.ok()) << all(r.errors);
  auto text = to_toml(*r.config);
  auto back = load(text);
  ASSERT_TRUE(back.ok()) << text << all(back.errors);
  EXPECT_EQ(back.config->anycast, r.config->anycast);
  EXPECT_EQ(back.config->anycast.interface, "any0");
  EXPECT_EQ(back.config->virtual_servers, r.config->virtual_servers);
  // The explicit wlc survives (announce = "bgp" would default it to mh).
  EXPECT_EQ(back.config->virtual_servers.at(1).scheduler, ipvs::Scheduler::wlc);
}

}  // namespace
}  // namespace hd::config
