// SPDX-License-Identifier: GPL-2.0-or-later
// Track-script weights as keepalived applies them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config/loader.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {
namespace {

// One instance at `prio` whose `key` (track_scripts, track_files) is `refs`, then `tables`.
config::Config load_instance(int prio, const std::string& key, const std::string& refs,
                             const std::string& tables) {
  auto r = config::load_string(R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
priority = )" + std::to_string(prio) + R"(
virtual_ipaddresses = ["10.0.0.1/24"]
)" + key + " = " + refs + "\n" + tables, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  return *r.config;
}

config::Config load(int prio, const std::string& refs) {
  return load_instance(prio, "track_scripts", refs, R"([[track_script]]
name = "up_bonus"
command = "/bin/true"
weight = 20
[[track_script]]
name = "down_penalty"
command = "/bin/true"
weight = -30
[[track_script]]
name = "vital"
command = "/bin/true"
)");
}

TEST(Tracking, WeightsAddWhileUpOrSubtractWhileDown) {
  auto cfg = load(100, R"(["up_bonus", "down_penalty"])");
  auto& vi = cfg.vrrp_instances[0];
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {{"up_bonus", true}, {"down_penalty", true}}).priority, 120);
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {{"up_bonus", false}, {"down_penalty", true}}).priority, 100);
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {{"up_bonus", false}, {"down_penalty", false}}).priority, 70);
  // Unknown state counts as failing (scripts start failing until proven).
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}).priority, 70);
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}).fault, "");
}

TEST(Tracking, WeightZeroFailingIsAFault) {
  auto cfg = load(100, R"(["vital"])");
  auto& vi = cfg.vrrp_instances[0];
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {{"vital", true}}).fault, "");
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {{"vital", false}}).fault, "track script vital failing");
}

TEST(Tracking, ClampedAndOverriddenPerInstance) {
  auto cfg = load(250, R"([{ name = "up_bonus", weight = 50 }])");
  auto& vi = cfg.vrrp_instances[0];
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {{"up_bonus", true}}).priority, 254);
  auto low = load(10, R"([{ name = "down_penalty", weight = -50 }])");
  EXPECT_EQ(VrrpSubsystem::tracking(low.vrrp_instances[0], low, {{"down_penalty", false}}).priority, 1);
  auto owner = load(255, R"(["down_penalty"])");
  EXPECT_EQ(VrrpSubsystem::tracking(owner.vrrp_instances[0], owner, {}).priority, 255);
}

TEST(Tracking, VirtualServerQuorum) {
  auto r = config::load_string(R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
priority = 100
virtual_ipaddresses = ["10.0.0.1/24"]
track_virtual_servers = ["tcp 10.0.0.1:80", { service = "tcp 10.0.0.1:443", weight = -40 }]
[[virtual_server]]
address = "10.0.0.1"
port = 80
[[virtual_server]]
address = "10.0.0.1"
port = 443
)", "t.toml");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  auto& cfg = *r.config;
  auto& vi = cfg.vrrp_instances[0];
  auto t = VrrpSubsystem::tracking(vi, cfg, {}, {{"tcp 10.0.0.1:80", true}, {"tcp 10.0.0.1:443", true}});
  EXPECT_EQ(t.priority, 100);
  EXPECT_EQ(t.fault, "");
  t = VrrpSubsystem::tracking(vi, cfg, {}, {{"tcp 10.0.0.1:80", true}, {"tcp 10.0.0.1:443", false}});
  EXPECT_EQ(t.priority, 60);
  t = VrrpSubsystem::tracking(vi, cfg, {}, {{"tcp 10.0.0.1:80", false}, {"tcp 10.0.0.1:443", true}});
  EXPECT_EQ(t.fault, "virtual server tcp 10.0.0.1:80 lost quorum");
}

config::Config load_files(int prio, const std::string& refs) {
  return load_instance(prio, "track_files", refs, R"([[track_file]]
name = "maint"
path = "/run/hd/maint"
[[track_file]]
name = "offset"
path = "/run/hd/offset"
weight = 10
)");
}

TEST(Tracking, TrackFileWithWeightZeroFaultsOnAnyNonZeroValue) {
  auto cfg = load_files(100, R"(["maint"])");
  auto& vi = cfg.vrrp_instances[0];
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"maint", 0}}).fault, "");
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {}).fault, "");  // not read yet: 0
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"maint", 1}}).fault, "track file maint reads 1");
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"maint", -3}}).fault, "track file maint reads -3");
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"maint", 1}}).priority, 100);
}

TEST(Tracking, TrackFileValueTimesWeightIsAddedAndBelowMinus253Faults) {
  auto cfg = load_files(100, R"(["offset"])");
  auto& vi = cfg.vrrp_instances[0];
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"offset", 3}}).priority, 130);
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"offset", -5}}).priority, 50);
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"offset", 100}}).priority, 254);
  auto t = VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"offset", -25}});
  EXPECT_EQ(t.priority, 1);
  EXPECT_EQ(t.fault, "");
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"offset", -26}}).fault, "track file offset reads -26");
  EXPECT_EQ(VrrpSubsystem::tracking(vi, cfg, {}, {}, {{"offset", INT32_MIN}}).fault,
            "track file offset reads -2147483648");
  // The instance's weight overrides the file's; a negative one reverses the direction.
  auto rev = load_files(100, R"([{ name = "offset", weight = -2 }, { name = "maint", weight = 1 }])");
  EXPECT_EQ(VrrpSubsystem::tracking(rev.vrrp_instances[0], rev, {}, {}, {{"offset", 5}, {"maint", 7}}).priority,
            97);
}

TEST(Tracking, TrackFilesAreCheckedByTheLoader) {
  auto bad = [](const std::string& extra) {
    auto r = config::load_string(R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
priority = 255
virtual_ipaddresses = ["10.0.0.1/24"]
track_files = ["f"]
[[track_file]]
name = "f"
)" + extra, "t.toml");
    std::string all;
    for (auto& e : r.errors) all += e.str() + "\n";
    return r.errors.empty() ? std::string("no error") : all;
  };
  using ::testing::HasSubstr;
  EXPECT_EQ(bad("path = \"/run/f\"\nweight = 3\n"),
            "t.toml:1:1: error: instance 'VI_1' owns its addresses (priority 255): track_file 'f' must "
            "have weight 0 (a non-zero value faults it)\n");
  EXPECT_THAT(bad("path = \"run/f\"\n"),
              HasSubstr("t.toml:10:8: error: 'path' must be an absolute path to a file, not 'run/f'\n"));
  EXPECT_THAT(bad("path = \"/run/f\"\ninit_overwrite = true\n"),
              HasSubstr("t.toml:11:18: error: 'init_overwrite' needs 'init' (the value to write)\n"));
  EXPECT_EQ(bad("path = \"/run/f\"\n[[track_file]]\nname = \"g\"\npath = \"/run/f\"\n"),
            "t.toml:11:1: error: track_file 'g': another track_file watches /run/f\n");
  EXPECT_THAT(bad("path = \"/run/f\"\nweight = 300\n"),
              HasSubstr("t.toml:11:10: error: 'weight' must be between -254 and 254, not 300\n"));
  EXPECT_EQ(bad("path = \"/run/f\"\n"), "no error");
}

}  // namespace
}  // namespace hd
