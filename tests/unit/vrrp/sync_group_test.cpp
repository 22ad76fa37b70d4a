// SPDX-License-Identifier: GPL-2.0-or-later
// Sync-group rules (vrrp/sync_group.h), as keepalived applies them.
#include "vrrp/sync_group.h"

#include <gtest/gtest.h>

namespace hd::vrrp {
namespace {

TEST(SyncGroup, OneMembersFaultFaultsEveryMemberNamingTheFirst) {
  auto f = group_faults({{"VI_1", "g", ""},
                         {"VI_2", "g", "interface eth1 down"},
                         {"VI_3", "g", "track script chk failed"},
                         {"VI_4", "h", ""},
                         {"VI_5", "", "interface eth9 down"}});
  EXPECT_EQ(f.at("VI_1"), "sync group g: VI_2: interface eth1 down");
  EXPECT_EQ(f.at("VI_2"), "sync group g: VI_2: interface eth1 down");
  EXPECT_EQ(f.at("VI_3"), "sync group g: VI_2: interface eth1 down");
  EXPECT_EQ(f.at("VI_4"), "") << "another group is unaffected";
  EXPECT_FALSE(f.count("VI_5")) << "an instance in no group gets no group fault";
}

TEST(SyncGroup, NoFaultNoGroupFault) {
  auto f = group_faults({{"VI_1", "g", ""}, {"VI_2", "g", ""}});
  EXPECT_EQ(f, (std::map<std::string, std::string>{{"VI_1", ""}, {"VI_2", ""}}));
}

TEST(SyncGroup, MembersShareTheSumOfTheirTrackingChanges) {
  // VI_1 tracks a script that took 30 off; VI_2 tracks nothing: both drop by 30.
  auto p = tracked_priorities({{"VI_1", "g", 150, 120, -30, true},
                               {"VI_2", "g", 140, 140, 0, false}});
  EXPECT_EQ(p, (std::map<std::string, int>{{"VI_1", 120}, {"VI_2", 110}}));
}

TEST(SyncGroup, GroupPrioritiesStayWithinOneTo254AndAnOwnerStays255) {
  auto p = tracked_priorities({{"VI_1", "g", 255, 255, -100, true},
                               {"VI_2", "g", 20, 1, -100, true},
                               {"VI_3", "g", 250, 250, 60, false}});
  EXPECT_EQ(p.at("VI_1"), 255);
  EXPECT_EQ(p.at("VI_2"), 1);
  EXPECT_EQ(p.at("VI_3"), 110);  // 250 - 100 - 100 + 60
}

TEST(SyncGroup, UntrackedInstancesOutsideTrackingGroupsAreLeftAlone) {
  auto p = tracked_priorities({{"VI_1", "", 100, 100, 0, false},
                               {"VI_2", "g", 100, 100, 0, false},
                               {"VI_3", "", 100, 80, -20, true}});
  EXPECT_EQ(p, (std::map<std::string, int>{{"VI_3", 80}}))
      << "only instances tracking something, or grouped with one that does, are set";
}

TEST(SyncGroup, MembersAnnounceOnceAllAreMasterWithTheGatewayFirst) {
  using P = AnnouncePhase;
  using Names = std::vector<std::string>;
  std::vector<AnnounceMember> m = {{"VI_1", "g", P::ready, false},
                                   {"VI_GW", "g", P::settling, true},
                                   {"OTHER", "", P::idle, false}};
  auto a = group_announcements(m, "g", false);
  EXPECT_TRUE(a.wait) << "the gateway's VIP is not in yet";
  EXPECT_TRUE(a.now.empty());
  EXPECT_EQ(a.awaited, Names{"VI_GW (VIPs not confirmed)"});
  m[1].phase = P::ready;
  a = group_announcements(m, "g", false);
  EXPECT_FALSE(a.wait);
  EXPECT_EQ(a.now, (Names{"VI_GW", "VI_1"}));
  m[1].phase = P::done;  // already announced: not again, and no reason to wait
  EXPECT_EQ(group_announcements(m, "g", false).now, Names{"VI_1"});
  m[1].phase = P::idle;  // still BACKUP: wait, unless the wait is over
  EXPECT_TRUE(group_announcements(m, "g", false).wait);
  a = group_announcements(m, "g", true);
  EXPECT_FALSE(a.wait);
  EXPECT_EQ(a.now, Names{"VI_1"});
  EXPECT_EQ(a.awaited, Names{"VI_GW (not MASTER)"}) << "named in the log line";
  m[0].phase = P::done;  // nobody ready: nothing to do, nothing to wait for
  a = group_announcements(m, "g", false);
  EXPECT_FALSE(a.wait);
  EXPECT_TRUE(a.now.empty());
  EXPECT_TRUE(group_announcements(m, "", true).now.empty()) << "no group, no gate";
}

}  // namespace
}  // namespace hd::vrrp
