// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/sync_group.h"

#include <algorithm>
#include <set>

namespace hd::vrrp {

std::map<std::string, std::string> group_faults(const std::vector<GroupFaultMember>& members) {
  std::map<std::string, std::string> first_fault;  // group -> its first member's own fault
  for (auto& m : members) {
    if (m.group.empty() || m.own_fault.empty() || first_fault.count(m.group)) continue;
    first_fault[m.group] = "sync group " + m.group + ": " + m.name + ": " + m.own_fault;
  }
  std::map<std::string, std::string> out;
  for (auto& m : members) {
    if (m.group.empty()) continue;
    auto it = first_fault.find(m.group);
    out[m.name] = it == first_fault.end() ? "" : it->second;
  }
  return out;
}

std::map<std::string, int> tracked_priorities(const std::vector<TrackedMember>& members) {
  std::map<std::string, int> group_delta;
  std::set<std::string> tracking_groups;  // groups with at least one tracking member
  for (auto& m : members) {
    if (m.group.empty()) continue;
    group_delta[m.group] += m.delta;
    if (m.tracks) tracking_groups.insert(m.group);
  }
  std::map<std::string, int> out;
  for (auto& m : members) {
    bool grouped = !m.group.empty() && tracking_groups.count(m.group);
    if (!m.tracks && !grouped) continue;
    int p = m.own_priority;
    if (!m.group.empty() && m.base_priority != 255)
      p = std::clamp(m.base_priority + group_delta[m.group], 1, 254);
    out[m.name] = p;
  }
  return out;
}

std::vector<std::string> group_announcements(const std::vector<AnnounceMember>& members,
                                             const std::string& group, bool waited_out) {
  std::vector<std::string> first, rest;
  for (auto& m : members) {
    if (m.group != group || group.empty()) continue;
    if (!waited_out && (m.phase == AnnouncePhase::idle || m.phase == AnnouncePhase::settling))
      return {};
    if (m.phase == AnnouncePhase::ready) (m.first ? first : rest).push_back(m.name);
  }
  first.insert(first.end(), rest.begin(), rest.end());
  return first;
}

}  // namespace hd::vrrp
