// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/diff.h"

namespace hd::ipvs {
namespace {

Service settings_only(const Service& s) {
  Service out;
  out.key = s.key;
  out.scheduler = s.scheduler;
  out.flags = s.flags;
  out.timeout = s.timeout;
  out.netmask = s.netmask;
  out.pe_name = s.pe_name;
  return out;
}

}  // namespace

Plan plan(const Table& desired, const Table& actual, const std::set<ServiceKey>& owned) {
  Plan out;
  std::vector<Operation> dest_changes, dest_deletions, service_deletions;

  for (const auto& [key, want] : desired) {
    auto it = actual.find(key);
    const Service* have = it == actual.end() ? nullptr : &it->second;
    if (!have) {
      out.ops.push_back(AddService{settings_only(want)});
    } else if (!want.same_settings(*have)) {
      out.ops.push_back(EditService{settings_only(want)});
    }
    std::set<DestKey> seen;
    const DestIndex current = have ? index_destinations(*have) : DestIndex{};
    for (const auto& d : want.destinations) {
      if (!seen.insert(d.key).second) continue;  // a duplicate: the first one wins
      auto c = current.find(d.key);
      const Destination* cur = c == current.end() ? nullptr : c->second;
      if (!cur) {
        dest_changes.push_back(AddDest{key, d});
      } else if (!(*cur == d)) {
        dest_changes.push_back(EditDest{key, d});
      }
    }
    if (have) {
      std::set<DestKey> stale;
      for (const auto& d : have->destinations)
        if (!seen.count(d.key)) stale.insert(d.key);
      for (const auto& k : stale) dest_deletions.push_back(DelDest{key, k});
    }
  }

  for (const auto& [key, have] : actual) {
    if (desired.count(key)) continue;
    if (owned.count(key)) {
      service_deletions.push_back(DelService{key});
    } else {
      out.foreign.push_back(key);
    }
  }

  out.ops.reserve(out.ops.size() + dest_changes.size() + dest_deletions.size() +
                  service_deletions.size());
  for (auto* part : {&dest_changes, &dest_deletions, &service_deletions})
    for (auto& op : *part) out.ops.push_back(std::move(op));
  return out;
}

}  // namespace hd::ipvs
