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
    fwd.set_services({{"VI_1", s}, {"VI_2", {}}});
  }
  TakeoverNotice notice(Phase p, Duration window, const char* to = "10.9.0.2") {
    return TakeoverNotice{p, "VI_1", "eth0", ip(to), true, window};
  }
};

TEST(HandoverForwarding, InPlaceBeforeTheTakeoverAndGoneBeforeTheOldMasterLetsGo) {
  Fixture f;
  EXPECT_TRUE(f.scripts.empty()) << "services alone write nothing";
  // A Backup follows its Master: the rules are written then, long before any takeover.
  f.fwd.notice(f.notice(Phase::follow, Duration::zero()));
  ASSERT_EQ(f.scripts.size(), 1u);
  EXPECT_THAT(f.scripts[0], HasSubstr("ip daddr . tcp dport { 10.9.0.100 . 80 } tcp flags & "
                                      "(syn | ack) != syn dup to 10.9.0.2 device \"eth0\" drop"));
  EXPECT_THAT(f.scripts[0], HasSubstr("ip saddr . tcp sport { 10.10.0.11 . 80 } dup to 10.9.0.2"));
  f.timers.advance(seconds(3600));
  EXPECT_EQ(f.fwd.active(), 1u) << "following has no end";
  // The takeover from it (it lingers): the same rules, not rewritten, now with an end.
  f.fwd.notice(f.notice(Phase::master, milliseconds(2500)));
  EXPECT_EQ(f.scripts.size(), 1u);
  f.timers.advance(milliseconds(2499));
  EXPECT_EQ(f.fwd.active(), 1u);
  f.timers.advance(milliseconds(1));
  EXPECT_EQ(f.fwd.active(), 0u);
  ASSERT_EQ(f.scripts.size(), 2u);
  EXPECT_THAT(f.scripts[1], Not(HasSubstr("dup")));
  EXPECT_THAT(f.scripts[1], HasSubstr("delete table ip hadirector_handover"));
}

TEST(HandoverForwarding, ALingeringBackupForwardsOnlyWhatTheRealServersSend) {
  Fixture f;
  auto n = f.notice(Phase::follow, Duration::zero(), "10.9.0.3");
  n.input = false;
  f.fwd.notice(n);
  ASSERT_EQ(f.scripts.size(), 1u);
  EXPECT_THAT(f.scripts[0], Not(HasSubstr("ip daddr")));
  EXPECT_THAT(f.scripts[0], HasSubstr("ip saddr . tcp sport { 10.10.0.11 . 80 } dup to 10.9.0.3"));
  n.input = true;  // the linger is over: a plain Backup
  f.fwd.notice(n);
  ASSERT_EQ(f.scripts.size(), 2u);
  EXPECT_THAT(f.scripts[1], HasSubstr("ip daddr . tcp dport"));
}

TEST(HandoverForwarding, EndedOrAnotherMasterChangesItAtOnce) {
  Fixture f;
  f.fwd.notice(f.notice(Phase::follow, Duration::zero()));
  f.fwd.notice(f.notice(Phase::ended, Duration::zero()));
  EXPECT_EQ(f.fwd.active(), 0u);
  ASSERT_EQ(f.scripts.size(), 2u);
  f.fwd.notice(f.notice(Phase::ended, Duration::zero()));  // nothing left: nothing written
  EXPECT_EQ(f.scripts.size(), 2u);
  f.fwd.notice(f.notice(Phase::follow, Duration::zero(), "10.9.0.3"));
  f.fwd.notice(f.notice(Phase::follow, Duration::zero(), "10.9.0.4"));  // a new Master
  EXPECT_THAT(f.scripts.back(), HasSubstr("dup to 10.9.0.4"));
  EXPECT_THAT(f.scripts.back(), Not(HasSubstr("10.9.0.3")));
  EXPECT_EQ(f.timers.armed(), 0u);
  EXPECT_EQ(f.scripts.size(), 4u);
}

TEST(HandoverForwarding, ARefusalIsCountedAndTriedAgainOnTheNextChange) {
  Fixture f;
  f.refuse = "Error: Could not process rule: No such file or directory";
  f.fwd.notice(f.notice(Phase::follow, Duration::zero()));
  JsonWriter w;
  f.fwd.status(w);
  EXPECT_THAT(w.str(), HasSubstr("\"applied\":0,\"failed\":1,\"last_error\":\"Error: Could not"));
  f.refuse.clear();
  f.fwd.notice(f.notice(Phase::master, seconds(2)));  // same rules, but never written: again
  EXPECT_EQ(f.scripts.size(), 2u);
  JsonWriter v;
  f.fwd.status(v);
  EXPECT_THAT(v.str(), HasSubstr("{\"active\":[{\"instance\":\"VI_1\",\"to\":\"10.9.0.2\","
                                 "\"interface\":\"eth0\",\"input\":true,\"seconds_left\":2}],"
                                 "\"applied\":1"));
  EXPECT_EQ(f.fwd.remove_leftovers(), "");
}

TEST(HandoverForwarding, AnInstanceAReloadRemovedStopsForwarding) {
  Fixture f;
  f.fwd.notice(f.notice(Phase::follow, Duration::zero()));
  EXPECT_EQ(f.fwd.active(), 1u);
  f.fwd.set_services({{"VI_2", {}}});  // VI_1 gone: its "ended" notice never comes
  EXPECT_EQ(f.fwd.active(), 0u);
  EXPECT_THAT(f.scripts.back(), Not(HasSubstr("dup")));
}

TEST(HandoverForwarding, DestroyedWithRulesInPlaceItRemovesThem) {
  std::vector<std::string> scripts;
  SimTimers timers;
  {
    HandoverForwarding fwd(timers, [&](const std::string& s) {
      scripts.push_back(s);
      return std::string();
    });
    nft::HandoverServices s;
    s.services = {{ip("10.9.0.100"), 80}};
    fwd.set_services({{"VI_1", s}});
    fwd.notice(TakeoverNotice{Phase::follow, "VI_1", "eth0", ip("10.9.0.2"), true, {}});
  }
  ASSERT_EQ(scripts.size(), 2u);
  EXPECT_THAT(scripts[1], Not(HasSubstr("dup")));
}

TEST(TakeoverNotice, WhatEachTransitionTells) {
  config::VrrpInstance vi;
  vi.name = "VI_1";
  vi.advert_interval = milliseconds(100);
  vi.handover_linger = seconds(3);
  using vrrp::State;
  auto t = [](State from, State to, std::optional<IpAddress> m, bool follow, bool lingering) {
    return vrrp::Transition{"VI_1", from, to, "x", false, false, m, follow, lingering, "eth0"};
  };
  auto n = VrrpSubsystem::takeover_notice(t(State::backup, State::backup, ip("10.9.0.2"), true, false), vi);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->phase, Phase::follow);
  EXPECT_TRUE(n->input);
  EXPECT_EQ((n->instance + " " + n->interface + " " + n->to.str()), "VI_1 eth0 10.9.0.2");
  n = VrrpSubsystem::takeover_notice(t(State::backup, State::backup, ip("10.9.0.3"), true, true), vi);
  EXPECT_FALSE(n->input) << "lingering: only what the real servers send";
  EXPECT_EQ(VrrpSubsystem::takeover_notice(t(State::backup, State::backup, {}, true, false), vi)->phase,
            Phase::ended);
  EXPECT_FALSE(VrrpSubsystem::takeover_notice(t(State::master, State::master, {}, true, false), vi))
      << "a Master's follow notice: its state change decides";
  EXPECT_FALSE(VrrpSubsystem::takeover_notice(t(State::master, State::backup, {}, false, true), vi))
      << "to BACKUP: its follow notice comes next";
  auto took = t(State::backup, State::master, ip("10.9.0.2"), false, false);
  n = VrrpSubsystem::takeover_notice(took, vi);
  EXPECT_EQ(n->phase, Phase::master);
  EXPECT_EQ(n->window, milliseconds(2500));  // half a second before the old Master lets go
  vi.handover_linger = milliseconds(600);
  EXPECT_EQ(VrrpSubsystem::takeover_notice(took, vi)->window, milliseconds(300));  // half of it
  vi.handover_linger = Duration::zero();  // the old Master does not linger: nothing to do
  EXPECT_EQ(VrrpSubsystem::takeover_notice(took, vi)->phase, Phase::ended);
  vi.handover_linger = seconds(3);
  took.live_master.reset();  // from a dead Master
  EXPECT_EQ(VrrpSubsystem::takeover_notice(took, vi)->phase, Phase::ended);
  EXPECT_EQ(VrrpSubsystem::takeover_notice(t(State::backup, State::fault, {}, false, false), vi)->phase,
            Phase::ended);
}

}  // namespace
}  // namespace hd
