// SPDX-License-Identifier: GPL-2.0-or-later
// Sync groups (keepalived's vrrp_sync_group): instances that fail over
// together. Both of their rules live here, as pure functions:
//  - members share FAULT: one member's own fault faults every other member;
//  - members share tracking: each member runs with its base priority plus the
//    sum of all members' tracking changes, so they keep their relative
//    standing and win or lose together (an address owner stays at 255);
//  - members announce together: a new Master's gratuitous ARP waits until every
//    member is MASTER with its VIPs in the kernel, and the members whose VIPs carry
//    no virtual service (a NAT gateway) go first.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace hd::vrrp {

struct GroupFaultMember {
  std::string name;
  std::string group;      // "" for none
  std::string own_fault;  // "" for none
};

// For every member of a group: the fault the group imposes on it ("" for none), naming
// the first member (in the given order) whose own fault it is. Instances in no group are
// not in the result.
std::map<std::string, std::string> group_faults(const std::vector<GroupFaultMember>& members);

struct TrackedMember {
  std::string name;
  std::string group;     // "" for none
  int base_priority = 100;
  int own_priority = 100;  // base plus its own tracking change, clamped (what it runs alone)
  int delta = 0;           // its own tracking change
  bool tracks = false;     // it has track scripts or tracked virtual servers
};

// The priority each instance runs with, for the instances tracking concerns: those that
// track, and every member of a group in which some member tracks.
std::map<std::string, int> tracked_priorities(const std::vector<TrackedMember>& members);

// Where a member stands in announcing its VIPs after becoming MASTER.
enum class AnnouncePhase {
  idle,      // not MASTER
  settling,  // MASTER, the kernel has not confirmed every VIP yet
  ready,     // MASTER, VIPs confirmed, its gratuitous ARP waits for the group
  done,      // MASTER, announced
};

struct AnnounceMember {
  std::string name;
  std::string group;  // "" for none
  AnnouncePhase phase = AnnouncePhase::idle;
  bool first = false;  // its VIPs carry no virtual service: announced before the others
};

// What a sync group does about its members' announcements:
//  - now: the ready members to announce, in order (`first` ones first), once no member is
//    idle or settling, or at once with `waited_out` (the group's wait is over);
//  - wait: some are ready and others still on their way: wait (no more than the group's
//    bound) for them;
//  - awaited: those others, as "NAME (not MASTER)" or "NAME (VIPs not confirmed)".
// Why: a NAT director's real servers must learn the new gateway before any client is sent to
// the new director; announced the other way round (one instance's ARP a few ms before the
// other's), the replies to the first new connections went to the old director (seen in the
// VM drill's planned switchover).
struct GroupAnnouncement {
  std::vector<std::string> now;
  bool wait = false;
  std::vector<std::string> awaited;
};
GroupAnnouncement group_announcements(const std::vector<AnnounceMember>& members,
                                      const std::string& group, bool waited_out);

}  // namespace hd::vrrp
