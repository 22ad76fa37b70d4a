// SPDX-License-Identifier: GPL-2.0-or-later
// Track-script weights as keepalived applies them.
#include <gtest/gtest.h>

#include "daemon/config/loader.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {
namespace {

config::Config load(int prio, const std::string& refs) {
  std::string text = R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
priority = )" + std::to_string(prio) + R"(
virtual_ipaddresses = ["10.0.0.1/24"]
track_scripts = )" + refs + R"(
[[track_script]]
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
)";
  auto r = config::load_string(text, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  return *r.config;
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

}  // namespace
}  // namespace hd
