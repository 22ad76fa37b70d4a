// SPDX-License-Identifier: GPL-2.0-or-later
// The handover forwarding's timing (on simulated time, the nft scripts captured), and the
// notices VRRP transitions make.
#include "daemon/handover_forwarding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/vrrp_subsystem.h"

namespace hd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Phase = TakeoverNotice::Phase;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

struct Fixture {
  SimTimers timers;
  std::vector<std::string> scripts;
  std::string refuse;  // what the fake nft answers
  HandoverForwarding fwd{timers, [this](const std::string& s) {
                           scripts.push_back(s);
                           return refuse;
                         }};
  Fixture() {
    nft::HandoverServices s;
    s.services = {{ip("10.9.0.100"), 80}};
    s.nat_reals = {{ip("10.10.0.11"), 80}};
    fwd.set_services(s);
  }
  TakeoverNotice notice(Phase p, Duration window, const char* from = "10.9.0.2") {
    return TakeoverNotice{p, "VI_1", "eth0", ip(from), window};
  }
};

TEST(HandoverForwarding, InPlaceBeforeTheTakeoverAndGoneBeforeTheOldMasterLetsGo) {
  Fixture f;
  EXPECT_TRUE(f.scripts.empty()) << "services alone write nothing";
  f.fwd.notice(f.notice(Phase::ahead, seconds(2)));
  ASSERT_EQ(f.scripts.size(), 1u);
  EXPECT_THAT(f.scripts[0], HasSubstr("dup to 10.9.0.2 device \"eth0\" drop"));
  EXPECT_EQ(f.fwd.active(), 1u);
  f.timers.advance(milliseconds(300));
  f.fwd.notice(f.notice(Phase::master, milliseconds(2500)));  // the same rules: not rewritten
  EXPECT_EQ(f.scripts.size(), 1u);
  f.timers.advance(milliseconds(2499));  // past the ahead window: the master one counts
  EXPECT_EQ(f.fwd.active(), 1u);
  f.timers.advance(milliseconds(1));
  EXPECT_EQ(f.fwd.active(), 0u);
  ASSERT_EQ(f.scripts.size(), 2u);
  EXPECT_THAT(f.scripts[1], Not(HasSubstr("dup")));
  EXPECT_THAT(f.scripts[1], HasSubstr("delete table ip hadirector_handover"));
}

TEST(HandoverForwarding, NoTakeoverOrAnotherStateEndsItAtOnce) {
  Fixture f;
  f.fwd.notice(f.notice(Phase::ahead, seconds(2)));
  f.fwd.notice(f.notice(Phase::ended, Duration::zero()));
  EXPECT_EQ(f.fwd.active(), 0u);
  ASSERT_EQ(f.scripts.size(), 2u);
  f.fwd.notice(f.notice(Phase::ended, Duration::zero()));  // nothing left: nothing written
  EXPECT_EQ(f.scripts.size(), 2u);
  // A takeover nobody announced (ahead never came) still forwards.
  f.fwd.notice(f.notice(Phase::master, seconds(1), "10.9.0.3"));
  EXPECT_THAT(f.scripts.back(), HasSubstr("dup to 10.9.0.3"));
  // Nothing left at the end, and the timer is not left armed.
  f.timers.advance(seconds(1));
  EXPECT_EQ(f.timers.armed(), 0u);
  f.fwd.clear();
  EXPECT_EQ(f.scripts.size(), 4u);
}

TEST(HandoverForwarding, ARefusalIsCountedAndTriedAgainOnTheNextChange) {
  Fixture f;
  f.refuse = "Error: Could not process rule: No such file or directory";
  f.fwd.notice(f.notice(Phase::ahead, seconds(2)));
  JsonWriter w;
  f.fwd.status(w);
  EXPECT_THAT(w.str(), HasSubstr("\"applied\":0,\"failed\":1,\"last_error\":\"Error: Could not"));
  f.refuse.clear();
  f.fwd.notice(f.notice(Phase::master, seconds(2)));  // same rules, but never written: again
  EXPECT_EQ(f.scripts.size(), 2u);
  JsonWriter v;
  f.fwd.status(v);
  EXPECT_THAT(v.str(), HasSubstr("{\"active\":[{\"instance\":\"VI_1\",\"to\":\"10.9.0.2\","
                                 "\"interface\":\"eth0\",\"seconds_left\":2}],\"applied\":1"));
}

TEST(HandoverForwarding, DestroyedWithRulesInPlaceItRemovesThem) {
  std::vector<std::string> scripts;
  SimTimers timers;
  {
    HandoverForwarding fwd(timers, [&](const std::string& s) {
      scripts.push_back(s);
      return std::string();
    });
    fwd.notice(TakeoverNotice{Phase::ahead, "VI_1", "eth0", ip("10.9.0.2"), seconds(5)});
  }
  ASSERT_EQ(scripts.size(), 2u);
  EXPECT_THAT(scripts[1], Not(HasSubstr("dup")));
}

TEST(TakeoverNotice, WhatEachTransitionTells) {
  config::VrrpInstance vi;
  vi.name = "VI_1";
  vi.advert_interval = milliseconds(100);
  vi.handover_linger = seconds(3);
  vrrp::Transition ahead{"VI_1", vrrp::State::backup, vrrp::State::backup, "takeover ahead",
                         false, false, ip("10.9.0.2"), true, "eth0"};
  auto n = VrrpSubsystem::takeover_notice(ahead, vi);
  EXPECT_EQ(n.phase, Phase::ahead);
  EXPECT_EQ(n.window, milliseconds(1400));  // 4 intervals and a second
  EXPECT_EQ((n.instance + " " + n.interface + " " + n.from.str()), "VI_1 eth0 10.9.0.2");
  vrrp::Transition took{"VI_1", vrrp::State::backup, vrrp::State::master, "x",
                        false, false, ip("10.9.0.2"), false, "eth0"};
  n = VrrpSubsystem::takeover_notice(took, vi);
  EXPECT_EQ(n.phase, Phase::master);
  EXPECT_EQ(n.window, milliseconds(2500));  // half a second before the old Master lets go
  vi.handover_linger = milliseconds(600);
  EXPECT_EQ(VrrpSubsystem::takeover_notice(took, vi).window, milliseconds(300));  // half of it
  vi.handover_linger = Duration::zero();  // the old Master does not linger: nothing to do
  EXPECT_EQ(VrrpSubsystem::takeover_notice(took, vi).phase, Phase::ended);
  vi.handover_linger = seconds(3);
  took.live_master.reset();  // from a dead Master
  EXPECT_EQ(VrrpSubsystem::takeover_notice(took, vi).phase, Phase::ended);
  vrrp::Transition down{"VI_1", vrrp::State::master, vrrp::State::backup, "x", false, false,
                        ip("10.9.0.2"), false, "eth0"};
  EXPECT_EQ(VrrpSubsystem::takeover_notice(down, vi).phase, Phase::ended);
}

}  // namespace
}  // namespace hd
