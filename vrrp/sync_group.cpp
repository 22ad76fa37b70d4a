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

GroupAnnouncement group_announcements(const std::vector<AnnounceMember>& members,
                                      const std::string& group, bool waited_out) {
  GroupAnnouncement out;
  if (group.empty()) return out;
  std::vector<std::string> rest;
  for (auto& m : members) {
    if (m.group != group) continue;
    if (m.phase == AnnouncePhase::idle) out.awaited.push_back(m.name + " (not MASTER)");
    if (m.phase == AnnouncePhase::settling) out.awaited.push_back(m.name + " (VIPs not confirmed)");
    if (m.phase == AnnouncePhase::ready) (m.first ? out.now : rest).push_back(m.name);
  }
  out.now.insert(out.now.end(), rest.begin(), rest.end());
  if (!waited_out && !out.awaited.empty() && !out.now.empty()) {
    out.wait = true;
    out.now.clear();
  }
  return out;
}

}  // namespace hd::vrrp
