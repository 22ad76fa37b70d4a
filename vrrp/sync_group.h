// SPDX-License-Identifier: GPL-2.0-or-later
// Sync groups (keepalived's vrrp_sync_group): instances that fail over
// together. Both of their rules live here, as pure functions:
//  - members share FAULT: one member's own fault faults every other member;
//  - members share tracking: each member runs with its base priority plus the
//    sum of all members' tracking changes, so they keep their relative
//    standing and win or lose together (an address owner stays at 255).
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

}  // namespace hd::vrrp
